/**
 * A Step Functions-compatible endpoint for the local runtime. It speaks the service's own JSON
 * protocol (POST /, Content-Type application/x-amz-json-1.0, X-Amz-Target
 * AWSStepFunctions.<Action>) as @aws-sdk/client-sfn and the AWS CLI send it, and executes the
 * synthesized state machines through the LocalRunner. The same listener answers CloudFormation's
 * DescribeStacks (query protocol) with the stack's outputs, so the CLI's AWS code path finds the
 * local stack, its state machines and tables exactly as it finds a deployed one.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { continuedIn } from '../../core/continuation.ts';
import { HISTORY_EVENT_LIMIT } from '../execution-limits.ts';
import { StartExecutionError, VALID_NAME, type ExecutionStarter, type StartRequest, type StartedExecution } from '../nested-executions.ts';
import type { ExecutionResult, StartOptions } from '../runner.ts';
import { ExecutionHistory, taskResourceOf, type HistoryEvent, type TaskResource } from './history.ts';
import type { LocalMachine, LocalStack } from './stack.ts';
import { followedByEmails, followUpName, SENDER_WORKFLOW } from '../follow-ups.ts';

/** What the endpoint needs of the runner: its public API only. */
export interface WorkflowRunner {
  workflows(): string[];
  start(workflow: string, input: unknown, opts?: StartOptions): Promise<ExecutionResult>;
  /** Executions started by a `states:startExecution` Task go through the endpoint, so they are listed like any other. */
  setExecutionStarter?(starter: ExecutionStarter): void;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

interface LocalExecution {
  arn: string;
  name: string;
  machine: LocalMachine;
  input: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  history: ExecutionHistory;
  abort: AbortController;
  finished: Promise<void>;
  /** The execution that started the run this one continues (a `states:startExecution` Task of the run's chain). */
  root?: LocalExecution;
}

/** An error in the service's shape: `__type` names the exception the SDK raises. */
export class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** The largest execution input StartExecution takes (bytes, UTF-8). */
const MAX_EXECUTION_INPUT_BYTES = 262_144;
const MAX_BODY_BYTES = 2 * 1024 * 1024;
const seconds = (ms: number) => ms / 1000;
/** An execution as ListExecutions lists it (DescribeExecution adds its input, output and error). */
function executionListItem(e: LocalExecution) {
  return {
    executionArn: e.arn,
    stateMachineArn: e.machine.arn,
    name: e.name,
    status: e.status,
    startDate: seconds(e.startDate),
    ...(e.stopDate !== undefined ? { stopDate: seconds(e.stopDate) } : {}),
  };
}

function token(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64');
}

function offsetOf(nextToken: unknown): number {
  if (nextToken === undefined || nextToken === null) return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(String(nextToken), 'base64').toString('utf8')) as { offset?: unknown };
    if (Number.isSafeInteger(offset) && (offset as number) >= 0) return offset as number;
  } catch {
    /* falls through */
  }
  throw new ServiceError('InvalidToken', `Invalid Token: '${String(nextToken)}'`);
}

function limitOf(maxResults: unknown, fallback: number): number {
  if (maxResults === undefined || maxResults === null || maxResults === 0) return fallback;
  if (!Number.isSafeInteger(maxResults) || (maxResults as number) < 0 || (maxResults as number) > 1000) {
    throw new ServiceError('ValidationException', `1 validation error detected: Value '${String(maxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000`);
  }
  return maxResults as number;
}

function page<T>(items: readonly T[], body: Record<string, unknown>, fallback: number): { items: T[]; nextToken?: string } {
  const offset = offsetOf(body.nextToken);
  const limit = limitOf(body.maxResults, fallback);
  const slice = items.slice(offset, offset + limit);
  return offset + limit < items.length ? { items: slice, nextToken: token(offset + limit) } : { items: slice };
}

function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') {
    throw new ServiceError('ValidationException', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

function xmlEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export class StepFunctionsEndpoint {
  readonly #executions = new Map<string, LocalExecution>();
  /** Newest first per state machine, as ListExecutions returns them. */
  readonly #byMachine = new Map<string, LocalExecution[]>();

  constructor(
    readonly stack: LocalStack,
    private readonly runner: WorkflowRunner,
  ) {
    const known = new Set(runner.workflows());
    for (const m of stack.machines) {
      if (!known.has(m.workflow)) throw new Error(`the runner does not know workflow ${m.workflow} of the template`);
    }
    runner.setExecutionStarter?.((request) => this.#startNested(request));
  }

  /** One action of the Step Functions API. */
  async call(action: string, body: Record<string, unknown>): Promise<unknown> {
    switch (action) {
      case 'ListStateMachines': {
        const { items, nextToken } = page(this.stack.machines, body, 100);
        return {
          stateMachines: items.map((m) => ({ stateMachineArn: m.arn, name: m.name, type: 'STANDARD', creationDate: seconds(this.stack.createdAt.getTime()) })),
          ...(nextToken ? { nextToken } : {}),
        };
      }
      case 'DescribeStateMachine': {
        const machine = this.#machine(requireString(body, 'stateMachineArn'));
        return {
          stateMachineArn: machine.arn,
          name: machine.name,
          status: 'ACTIVE',
          definition: JSON.stringify(machine.definition),
          roleArn: this.stack.roleArn,
          type: 'STANDARD',
          creationDate: seconds(this.stack.createdAt.getTime()),
          loggingConfiguration: { level: 'OFF', includeExecutionData: false },
          ...(typeof machine.definition['Comment'] === 'string' ? { description: machine.definition['Comment'] } : {}),
        };
      }
      case 'StartExecution':
        return this.#start(body);
      case 'DescribeExecution': {
        const e = this.#execution(requireString(body, 'executionArn'));
        return {
          ...executionListItem(e),
          input: e.input,
          inputDetails: { included: true },
          ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } } : {}),
          ...(e.error !== undefined ? { error: e.error } : {}),
          ...(e.cause !== undefined ? { cause: e.cause } : {}),
        };
      }
      case 'DescribeStateMachineForExecution': {
        const e = this.#execution(requireString(body, 'executionArn'));
        return this.call('DescribeStateMachine', { stateMachineArn: e.machine.arn });
      }
      case 'ListExecutions': {
        const machine = this.#machine(requireString(body, 'stateMachineArn'));
        const filter = body.statusFilter;
        const all = (this.#byMachine.get(machine.arn) ?? []).filter((e) => filter === undefined || filter === null || e.status === filter);
        const { items, nextToken } = page(all, body, 100);
        return {
          executions: items.map(executionListItem),
          ...(nextToken ? { nextToken } : {}),
        };
      }
      case 'GetExecutionHistory': {
        const e = this.#execution(requireString(body, 'executionArn'));
        const events = [...e.history.events()];
        if (body.reverseOrder === true) events.reverse();
        const { items, nextToken } = page(events, body, 100);
        const withData = body.includeExecutionData !== false;
        return { events: items.map((ev) => (withData ? ev : withoutData(ev))), ...(nextToken ? { nextToken } : {}) };
      }
      case 'StopExecution': {
        const e = this.#execution(requireString(body, 'executionArn'));
        if (e.status === 'RUNNING') {
          e.status = 'ABORTED';
          e.stopDate = Date.now();
          if (typeof body.error === 'string') e.error = body.error;
          if (typeof body.cause === 'string') e.cause = body.cause;
          e.abort.abort();
        }
        return { stopDate: seconds(e.stopDate ?? Date.now()) };
      }
      default:
        throw new ServiceError('UnknownOperationException', `the local Step Functions endpoint does not implement ${action}`);
    }
  }

  #machine(arn: string): LocalMachine {
    if (!arn.startsWith('arn:')) throw new ServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    const machine = this.stack.machineByArn(arn);
    if (!machine) throw new ServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  #execution(arn: string): LocalExecution {
    if (!arn.startsWith('arn:')) throw new ServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    const e = this.#executions.get(arn);
    if (!e) throw new ServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return e;
  }

  /** A `states:startExecution` Task of an execution: the new execution is this endpoint's, linked to the run it continues. */
  async #startNested(request: StartRequest): Promise<StartedExecution> {
    const machine = this.stack.machines.find((m) => m.workflow === request.workflow);
    if (!machine) throw new StartExecutionError('StateMachineDoesNotExist', `State Machine Does Not Exist: workflow ${request.workflow}`);
    const parentMachine = this.stack.machines.find((m) => m.workflow === request.parent.workflow);
    const parent = parentMachine ? this.#executions.get(this.stack.executionArn(parentMachine, request.parent.name)) : undefined;
    try {
      const started = this.#start({ stateMachineArn: machine.arn, name: request.name, input: JSON.stringify(request.input ?? {}) }, parent?.root ?? parent);
      return { executionArn: started.executionArn, startDate: started.startDate * 1000 };
    } catch (error) {
      if (error instanceof ServiceError && error.type === 'ExecutionAlreadyExists') throw new StartExecutionError('ExecutionAlreadyExists', error.message);
      if (error instanceof ServiceError && error.type === 'InvalidName') throw new StartExecutionError('InvalidName', error.message);
      throw error;
    }
  }

  #start(body: Record<string, unknown>, root?: LocalExecution): { executionArn: string; startDate: number } {
    const machine = this.#machine(requireString(body, 'stateMachineArn'));
    const name = body.name === undefined || body.name === null ? randomUUID() : String(body.name);
    if (!VALID_NAME.test(name)) throw new ServiceError('InvalidName', `Invalid Name: '${name}'`);
    const inputText = body.input === undefined || body.input === null ? '{}' : String(body.input);
    // As AWS: an execution's input is at most 256 KiB (UTF-8), refused at the API, nothing started.
    if (Buffer.byteLength(inputText, 'utf8') > MAX_EXECUTION_INPUT_BYTES) {
      throw new ServiceError('ValidationException', `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${MAX_EXECUTION_INPUT_BYTES}`);
    }
    let input: unknown;
    try {
      input = JSON.parse(inputText);
    } catch (error) {
      throw new ServiceError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(error as Error).message}'`);
    }
    const arn = this.stack.executionArn(machine, name);
    const existing = this.#executions.get(arn);
    if (existing) {
      // As AWS: the same name and input while running answers the running execution; anything else is refused.
      if (existing.status === 'RUNNING' && existing.input === inputText) return { executionArn: arn, startDate: seconds(existing.startDate) };
      throw new ServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    const abort = new AbortController();
    // As AWS records it: at most 24,999 events, then the one that ends the execution (execution-limits.ts).
    const history = new ExecutionHistory(this.stack.roleArn, taskResources(machine.definition), HISTORY_EVENT_LIMIT - 1);
    const execution: LocalExecution = { arn, name, machine, input: inputText, status: 'RUNNING', startDate: Date.now(), history, abort, finished: Promise.resolve(), ...(root ? { root } : {}) };
    this.#executions.set(arn, execution);
    this.#byMachine.set(machine.arn, [execution, ...(this.#byMachine.get(machine.arn) ?? [])]);
    execution.finished = this.#run(execution, input);
    return { executionArn: arn, startDate: seconds(execution.startDate) };
  }

  async #run(e: LocalExecution, input: unknown): Promise<void> {
    let result: Pick<ExecutionResult, 'status' | 'output' | 'error' | 'cause'>;
    try {
      result = await this.runner.start(e.machine.workflow, input, { name: e.name, signal: e.abort.signal, onEvent: (event) => e.history.record(event) });
    } catch (error) {
      result = { status: 'FAILED', error: 'States.Runtime', cause: (error as Error).message };
    }
    // On AWS a schedule starts SendEmails every few minutes; here it follows each run that owes
    // emails at once, as its own execution, registered before this one is seen ended (the CLI waits for it).
    // A run continued in a new execution is followed when its last execution ends.
    if (!(result.status === 'SUCCEEDED' && continuedIn(result.output))) this.#followWithEmails(e.root ?? e, e.root ? JSON.parse(e.root.input) : input);
    if (e.status === 'ABORTED') {
      if (e.history.last()?.type !== 'ExecutionAborted') e.history.append({ timestamp: seconds(e.stopDate ?? Date.now()), type: 'ExecutionAborted', executionAbortedEventDetails: { error: e.error, cause: e.cause } });
      return;
    }
    e.status = result.status;
    e.stopDate = Date.now();
    if (result.status === 'SUCCEEDED') e.output = JSON.stringify(result.output ?? null);
    if (result.error !== undefined) e.error = result.error;
    if (result.cause !== undefined) e.cause = result.cause;
    const terminal = { SUCCEEDED: 'ExecutionSucceeded', FAILED: 'ExecutionFailed', TIMED_OUT: 'ExecutionTimedOut', ABORTED: 'ExecutionAborted' }[result.status];
    if (e.history.last()?.type !== terminal) {
      const details =
        result.status === 'SUCCEEDED'
          ? { executionSucceededEventDetails: { output: e.output, outputDetails: { truncated: false } } }
          : { [`${terminal[0]!.toLowerCase()}${terminal.slice(1)}EventDetails`]: { error: e.error, cause: e.cause } };
      e.history.append({ timestamp: seconds(e.stopDate), type: terminal, ...details });
    }
  }

  #followWithEmails(e: LocalExecution, input: unknown): void {
    const sender = this.stack.machines.find((m) => m.workflow === SENDER_WORKFLOW);
    if (!sender || !followedByEmails(e.machine.workflow, input)) return;
    try {
      this.#start({ stateMachineArn: sender.arn, name: followUpName(e.name), input: JSON.stringify({ requestedBy: `local:after ${e.name}` }) });
    } catch (error) {
      // A follow-up of that name exists already (a name reused after a restart): the next one sends what is owed.
      if (!(error instanceof ServiceError)) throw error;
    }
  }

  /** Waits for every execution still running, and those they start (tests, shutdown). */
  async idle(): Promise<void> {
    for (let seen = -1; seen !== this.#executions.size; ) {
      seen = this.#executions.size;
      await Promise.all([...this.#executions.values()].map((e) => e.finished));
    }
  }

  /** CloudFormation DescribeStacks, answered from the synthesized template. */
  describeStacks(params: URLSearchParams): string {
    const wanted = params.get('StackName');
    if (wanted && wanted !== this.stack.name && wanted !== this.stack.stackId) {
      throw new ServiceError('ValidationError', `Stack with id ${wanted} does not exist`);
    }
    const outputs = this.stack
      .outputs()
      .map(
        (o) =>
          `<member><OutputKey>${xmlEscape(o.OutputKey)}</OutputKey><OutputValue>${xmlEscape(o.OutputValue)}</OutputValue>${o.Description ? `<Description>${xmlEscape(o.Description)}</Description>` : ''}</member>`,
      )
      .join('');
    return (
      '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>' +
      `<StackName>${xmlEscape(this.stack.name)}</StackName><StackId>${xmlEscape(this.stack.stackId)}</StackId>` +
      `<CreationTime>${this.stack.createdAt.toISOString()}</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus>` +
      `<Description>mass-refund, served by the local runtime from the synthesized template</Description><Outputs>${outputs}</Outputs>` +
      `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>`
    );
  }
}

/** What each Task state of a definition calls (its Task* events name it), Map item processors included. */
function taskResources(definition: Record<string, unknown>): (state: string) => TaskResource {
  const resources = new Map<string, TaskResource>();
  const walk = (machine: Record<string, unknown>) => {
    for (const [name, state] of Object.entries((machine['States'] ?? {}) as Record<string, Record<string, unknown>>)) {
      if (state['Type'] === 'Task') resources.set(name, taskResourceOf(state['Resource']));
      const inner = (state['ItemProcessor'] ?? state['Iterator']) as Record<string, unknown> | undefined;
      if (inner) walk(inner);
      for (const branch of (state['Branches'] as Record<string, unknown>[] | undefined) ?? []) walk(branch);
    }
  };
  walk(definition);
  return (state) => resources.get(state) ?? taskResourceOf(undefined);
}

function withoutData(event: HistoryEvent): HistoryEvent {
  const out: HistoryEvent = { ...event };
  for (const [key, value] of Object.entries(event)) {
    if (!key.endsWith('EventDetails') || typeof value !== 'object' || value === null) continue;
    const { input: _i, output: _o, ...rest } = value as Record<string, unknown>;
    out[key] = rest;
  }
  return out;
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ServiceError('ValidationException', 'request body too large', 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const SFN_TARGET_PREFIX = 'AWSStepFunctions.';

/** Serves the endpoint over HTTP. */
export function createHandler(endpoint: StepFunctionsEndpoint): http.RequestListener {
  return (req, res) => {
    void (async () => {
      const target = req.headers['x-amz-target'];
      const isSfn = typeof target === 'string';
      const requestId = randomUUID();
      try {
        if (req.method === 'GET' && req.url === '/_local/health') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, stack: endpoint.stack.name, stateMachines: endpoint.stack.machines.length }));
          return;
        }
        if (req.method !== 'POST') throw new ServiceError('UnknownOperationException', `${req.method} is not supported; POST / with X-Amz-Target`);
        const raw = await readBody(req);
        if (isSfn) {
          if (!target.startsWith(SFN_TARGET_PREFIX)) throw new ServiceError('UnknownOperationException', `unknown target ${target}`);
          let body: Record<string, unknown> = {};
          if (raw.trim() !== '') {
            try {
              const parsed: unknown = JSON.parse(raw);
              if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
              else throw new Error('not an object');
            } catch {
              throw new ServiceError('SerializationException', 'the request body is not a JSON object');
            }
          }
          const out = JSON.stringify(await endpoint.call(target.slice(SFN_TARGET_PREFIX.length), body));
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId }).end(out);
          return;
        }
        const params = new URLSearchParams(raw);
        const action = params.get('Action');
        if (action === 'DescribeStacks') {
          const xml = endpoint.describeStacks(params);
          res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }).end(xml);
          return;
        }
        throw new ServiceError(action ? 'InvalidAction' : 'MissingAction', action ? `the local endpoint does not implement ${action}` : 'no Action and no X-Amz-Target');
      } catch (error) {
        const e = error instanceof ServiceError ? error : new ServiceError(isSfn ? 'InternalFailure' : 'InternalFailure', (error as Error).message, 500);
        if (isSfn) {
          res.writeHead(e.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId, 'x-amzn-errortype': e.type }).end(JSON.stringify({ __type: e.type, message: e.message }));
        } else {
          const type = e.status >= 500 ? 'Receiver' : 'Sender';
          res
            .writeHead(e.status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId })
            .end(`<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>${type}</Type><Code>${xmlEscape(e.type)}</Code><Message>${xmlEscape(e.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);
        }
      }
    })();
  };
}

export interface RunningEndpoint {
  url: string;
  endpoint: StepFunctionsEndpoint;
  stop(): Promise<void>;
}

/** Listens on a loopback port (0: any free one). */
export async function startStepFunctionsEndpoint(endpoint: StepFunctionsEndpoint, opts: { port?: number; host?: string } = {}): Promise<RunningEndpoint> {
  const server = http.createServer(createHandler(endpoint));
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    endpoint,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
