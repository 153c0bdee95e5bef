/**
 * Runs the synthesized state machines locally with aws-local-stepfunctions, invoking the real
 * Lambda handler modules in-process with the same payload shapes, errors and context as AWS.
 */
import { randomUUID, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { executionStatusChangeEvent, listEventRules, LocalEventBus, type EventDelivery } from './events.ts';
import { ExecutionLimits } from './execution-limits.ts';
import { START_EXECUTION, StartExecutionError, startExecutionTask, type ExecutionStarter, type StartedExecution, type StartRequest } from './nested-executions.ts';
import { preflight } from './preflight.ts';
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_PARTITION,
  LOCAL_REGION,
  listFunctions,
  listStateMachines,
  type CfnTemplate,
  type LocalFunction,
  type LocalStateMachine,
} from './template.ts';

export interface RunnerOptions {
  template: object;
  /** DynamoDB table logical id -> local physical name. */
  tableNames?: Record<string, string>;
  /** Extra environment for every handler (wins over the template's, e.g. DynamoDB Local endpoint). */
  env?: Record<string, string>;
  /** Root that handler `entry` paths are relative to. */
  projectRoot: string;
  /** Wait between Retry attempts, instead of IntervalSeconds/BackoffRate (default 10 ms). */
  retryIntervalMs?: number;
  /** Duration of every Wait state (default 0 ms). */
  waitOverrideMs?: number;
  /** Largest Lambda response, and state input or output, accepted: the Step Functions payload quota (default 256 KiB). */
  payloadLimitBytes?: number;
  /** Events an execution's history may hold before it fails as AWS fails it (default 25,000; see execution-limits.ts). */
  historyEventLimit?: number;
}

export interface ExecutionStats {
  /** States entered (nested Map/Parallel included) plus retries: what AWS bills. */
  stateTransitions: number;
  /** Handler calls, retries included. */
  lambdaInvocations: number;
  /** Retry attempts over all states. */
  retries: number;
  /** Length of the execution's history as AWS records it (see execution-limits.ts). */
  historyEvents: number;
  /** Largest JSON size of any execution/state input or output or Lambda payload. */
  largestPayloadBytes: number;
  durationMs: number;
}

export interface ExecutionResult {
  executionArn: string;
  name: string;
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  output?: unknown;
  error?: string;
  cause?: string;
  stats: ExecutionStats;
  /** The status change event delivered to the template's EventBridge rules, when one matched. */
  eventDeliveries?: EventDelivery[];
}

/** An event of the local execution, as emitted by aws-local-stepfunctions. */
export interface LocalExecutionEvent {
  type: string;
  timestamp: number;
  [field: string]: unknown;
}

export interface StartOptions {
  /** Execution name (default: a random UUID). Unique per workflow, as in AWS. */
  name?: string;
  onEvent?: (event: LocalExecutionEvent) => void;
  signal?: AbortSignal;
}

/** The runner was used wrongly (unknown workflow, unmapped handler, conflicting environment...). */
export class RunnerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunnerError';
  }
}

/** AWS StartExecution refuses a name already used for the same state machine. */
export class ExecutionAlreadyExistsError extends RunnerError {
  constructor(workflow: string, name: string) {
    super(`Execution ${name} already exists for workflow ${workflow}`);
    this.name = 'ExecutionAlreadyExists';
  }
}

/**
 * What a failed invocation looks like to Step Functions: `name` is Lambda's errorType (matched by
 * Retry/Catch ErrorEquals) and `message` is the Cause JSON. The library reports `cause` as the
 * Cause when present, so the handler's error is kept in `handlerError` instead.
 */
export class LambdaFunctionError extends Error {
  readonly handlerError: unknown;
  readonly #retryable: boolean;
  constructor(errorType: string, causeJson: string, handlerError: unknown, retryable = true) {
    super(causeJson);
    this.name = errorType;
    this.handlerError = handlerError;
    this.#retryable = retryable;
  }
  // Read by aws-local-stepfunctions to decide whether Retry/Catch may match.
  get isRetryable(): boolean {
    return this.#retryable;
  }
  get isCatchable(): boolean {
    return this.#retryable;
  }
}

/** Minimal Lambda context object handed to handlers (shape of aws-lambda's Context). */
export interface LocalLambdaContext {
  callbackWaitsForEmptyEventLoop: boolean;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  getRemainingTimeInMillis(): number;
  done(): never;
  fail(): never;
  succeed(): never;
}

type Handler = (event: unknown, context: LocalLambdaContext) => unknown;

interface TaskBinding {
  state: string;
  /** lambda:invoke wraps the response in {Payload, StatusCode...}; a bare function ARN does not. */
  wrapped: boolean;
  fn: LocalFunction;
}

interface PreparedWorkflow {
  machine: LocalStateMachine;
  stateMachine: StateMachine;
  tasks: TaskBinding[];
  /** Task states of the `states:startExecution` integration. */
  starts: string[];
  retryIntervalOverrides: Record<string, number>;
  waitTimeOverrides: Record<string, number>;
  usedNames: Set<string>;
}

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
/** In AWS a lambda:invoke Task has no default timeout (the function's own applies); the library defaults to 60 s. */
const DEFAULT_TASK_TIMEOUT_SECONDS = 900;
const DEFAULT_PAYLOAD_LIMIT_BYTES = 256 * 1024;

/** Node 20 lacks Promise.withResolvers; without it the library's Task states fail into their Catch. */
export function installPromiseWithResolvers(): void {
  const P = Promise as unknown as { withResolvers?: unknown };
  if (typeof P.withResolvers === 'function') return;
  P.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export class LocalRunner {
  readonly #opts: RunnerOptions;
  readonly #workflows = new Map<string, PreparedWorkflow>();
  readonly #env: Record<string, string>;
  readonly #modules = new Map<string, Promise<Record<string, unknown>>>();
  readonly #untagged: string[];
  readonly #logStreams = new Map<string, string>();
  readonly #bus: LocalEventBus;
  /** Handler invocations still running (an aborted or timed-out execution leaves them running, as on AWS). */
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Executions started by `states:startExecution` Tasks with the default starter, by ARN. */
  readonly #nested = new Map<string, { result: Promise<ExecutionResult>; input: string; startDate: number; running: boolean }>();
  /** Event listener and signal of each running execution: the executions it starts inherit them. */
  readonly #running = new Map<string, Pick<StartOptions, 'onEvent' | 'signal'>>();
  #starter: ExecutionStarter = (request) => this.#startNested(request);

  constructor(opts: RunnerOptions) {
    installPromiseWithResolvers();
    this.#opts = opts;
    const template = opts.template as CfnTemplate;
    if (typeof template !== 'object' || template === null || typeof template.Resources !== 'object') {
      throw new RunnerError('RunnerOptions.template is not a CloudFormation template (no Resources)');
    }
    const ctx = opts.tableNames === undefined ? {} : { tableNames: opts.tableNames };
    const machines = listStateMachines(template, ctx);
    const functions = listFunctions(template, ctx);
    this.#untagged = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine' && r.Metadata?.['mass-refund:workflow'] === undefined)
      .map(([id]) => id);

    for (const machine of machines) preflight(machine.definition, { workflow: machine.workflow });

    const used = new Map<string, LocalFunction>();
    for (const machine of machines) {
      const prepared = this.#prepare(machine, functions);
      for (const task of prepared.tasks) used.set(task.fn.logicalId, task.fn);
      this.#workflows.set(machine.workflow, prepared);
    }
    this.#bus = new LocalEventBus(listEventRules(template, functions, ctx), (fn, event) => this.#invokeAsync(fn, event));
    for (const fn of this.#bus.targetFunctions()) used.set(fn.logicalId, fn);
    this.#env = { ...mergeEnvironments([...used.values()]), ...opts.env };
    for (const fn of used.values()) {
      const file = path.join(opts.projectRoot, fn.entry);
      if (!existsSync(file)) throw new RunnerError(`Handler module of ${fn.logicalId} not found: ${file}`);
    }
  }

  workflows(): string[] {
    return [...this.#workflows.keys()];
  }

  /** Who starts the executions a `states:startExecution` Task asks for (the local endpoint registers itself). */
  setExecutionStarter(starter: ExecutionStarter): void {
    this.#starter = starter;
  }

  /** The result of an execution a `states:startExecution` Task started with the default starter. */
  nestedResult(executionArn: string): Promise<ExecutionResult> | undefined {
    return this.#nested.get(executionArn)?.result;
  }

  /** Resolves when no handler invocation of any execution is running any more. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async start(workflow: string, input: unknown, opts: StartOptions = {}): Promise<ExecutionResult> {
    const prepared = this.#workflows.get(workflow);
    if (prepared === undefined) {
      const hint = this.#untagged.length > 0 ? `; untagged state machines: ${this.#untagged.join(', ')}` : '';
      throw new RunnerError(`Unknown workflow ${workflow}; known: ${this.workflows().join(', ') || 'none'}${hint}`);
    }
    const name = opts.name ?? randomUUID();
    if (prepared.usedNames.has(name)) throw new ExecutionAlreadyExistsError(workflow, name);
    prepared.usedNames.add(name);

    const { machine } = prepared;
    const executionArn = `arn:${LOCAL_PARTITION}:states:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:execution:${machine.name}:${name}`;
    const jsonInput = jsonRoundTrip(input) ?? {};
    const counters = { lambdaInvocations: 0, largestPayloadBytes: jsonBytes(jsonInput) };
    const startedAt = performance.now();
    const startDate = Date.now();

    // AWS's history and payload limits (execution-limits.ts): every Task goes through them.
    const limits = new ExecutionLimits({ historyEvents: this.#opts.historyEventLimit, payloadBytes: this.#opts.payloadLimitBytes, abort: () => execution.abort() });
    const parent = { workflow, name, executionArn };
    const taskResourceLocalHandlers = Object.fromEntries([
      ...prepared.tasks.map((task) => [task.state, (taskInput: unknown) => limits.task(task.state, taskInput, () => this.#invoke(task, taskInput, counters))]),
      ...prepared.starts.map((state) => [state, (taskInput: unknown) => limits.task(state, taskInput, () => startExecutionTask(taskInput, parent, (arn) => this.#workflowOfArn(arn), this.#starter))]),
    ]);
    // One process.env for all handlers (mergeEnvironments guarantees they agree); set per start, not per call (setenv is slow).
    Object.assign(process.env, this.#env);
    const execution = prepared.stateMachine.run(jsonInput as never, {
      overrides: {
        taskResourceLocalHandlers: taskResourceLocalHandlers as never,
        retryIntervalOverrides: prepared.retryIntervalOverrides,
        waitTimeOverrides: prepared.waitTimeOverrides,
      },
      context: {
        Execution: { Id: executionArn, Name: name, StartTime: new Date().toISOString(), Input: jsonInput as never },
        StateMachine: { Id: machine.arn, Name: machine.name },
      },
    });
    const onAbort = () => execution.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.#running.set(executionArn, { ...(opts.onEvent ? { onEvent: opts.onEvent } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
    const history = consumeEvents(execution.eventLogs, limits, opts.onEvent);
    history.catch(() => undefined); // a throwing onEvent surfaces below, not as an unhandled rejection

    let outcome: Pick<ExecutionResult, 'status' | 'output' | 'error' | 'cause'>;
    try {
      const output = await execution.result;
      counters.largestPayloadBytes = Math.max(counters.largestPayloadBytes, jsonBytes(output));
      outcome = { status: 'SUCCEEDED', output };
    } catch (error) {
      outcome = failureOutcome(error);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    const tally = await history;
    this.#running.delete(executionArn);
    outcome = limits.settle(outcome);
    // As Step Functions does on AWS: the status change goes to EventBridge, whose rules come from the template.
    const change = { executionArn, stateMachineArn: machine.arn, name, startDate, stopDate: Date.now(), input: jsonInput, ...outcome };
    const eventDeliveries = await this.#bus.put(executionStatusChangeEvent(change));
    return {
      executionArn,
      name,
      ...outcome,
      ...(eventDeliveries.length > 0 ? { eventDeliveries } : {}),
      stats: {
        stateTransitions: tally.statesEntered + tally.retries,
        lambdaInvocations: counters.lambdaInvocations,
        retries: tally.retries,
        historyEvents: limits.historyEvents,
        largestPayloadBytes: Math.max(counters.largestPayloadBytes, limits.largestPayloadBytes),
        durationMs: Math.round((performance.now() - startedAt) * 100) / 100,
      },
    };
  }

  #prepare(machine: LocalStateMachine, functions: LocalFunction[]): PreparedWorkflow {
    const byArn = new Map<string, LocalFunction>();
    for (const fn of functions) {
      byArn.set(fn.arn, fn);
      byArn.set(fn.functionName, fn);
      byArn.set(fn.logicalId, fn);
    }
    // The executed copy differs from the synthesized one only by explicit Task timeouts (see DEFAULT_TASK_TIMEOUT_SECONDS).
    const definition = structuredClone(machine.definition);
    const tasks: TaskBinding[] = [];
    const starts: string[] = [];
    const retryIntervalOverrides: Record<string, number> = {};
    const waitTimeOverrides: Record<string, number> = {};
    const seen = new Set<string>();
    forEachState(definition, (stateName, state) => {
      if (seen.has(stateName)) {
        throw new RunnerError(`Workflow ${machine.workflow}: state name "${stateName}" is used twice (overrides are keyed by state name)`);
      }
      seen.add(stateName);
      if (Array.isArray(state['Retry'])) retryIntervalOverrides[stateName] = this.#opts.retryIntervalMs ?? 10;
      if (state['Type'] === 'Wait') waitTimeOverrides[stateName] = this.#opts.waitOverrideMs ?? 0;
      if (state['Type'] !== 'Task') return;
      if (state['TimeoutSeconds'] === undefined && state['TimeoutSecondsPath'] === undefined) {
        state['TimeoutSeconds'] = DEFAULT_TASK_TIMEOUT_SECONDS;
      }
      const resource = String(state['Resource']);
      if (resource === START_EXECUTION) {
        starts.push(stateName);
        return;
      }
      const wrapped = resource === LAMBDA_INVOKE;
      const target = wrapped ? String((state['Parameters'] as Record<string, unknown>)['FunctionName']) : resource;
      const fn = byArn.get(unqualified(target));
      if (fn === undefined) {
        throw new RunnerError(
          `Workflow ${machine.workflow}: Task "${stateName}" calls ${target}, which is not a function with mass-refund:handler metadata`,
        );
      }
      tasks.push({ state: stateName, wrapped, fn });
    });
    // preflight() already ran asl-validator on this definition; validating again costs ~100 ms per machine.
    const stateMachine = new StateMachine(definition as unknown as StateMachineDefinition, {
      validationOptions: { noValidate: true },
    });
    return { machine, stateMachine, tasks, starts, retryIntervalOverrides, waitTimeOverrides, usedNames: new Set() };
  }

  #workflowOfArn(stateMachineArn: string): string | undefined {
    for (const [workflow, prepared] of this.#workflows) if (prepared.machine.arn === stateMachineArn) return workflow;
    return undefined;
  }

  /** The default starter: this runner runs the execution; the same name and input while it runs answer it again, as AWS does. */
  async #startNested(request: StartRequest): Promise<StartedExecution> {
    const prepared = this.#workflows.get(request.workflow);
    if (prepared === undefined) throw new StartExecutionError('StateMachineDoesNotExist', `State Machine Does Not Exist: workflow ${request.workflow}`);
    const executionArn = `arn:${LOCAL_PARTITION}:states:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:execution:${prepared.machine.name}:${request.name}`;
    const input = JSON.stringify(request.input ?? {});
    const existing = this.#nested.get(executionArn);
    if (existing?.running && existing.input === input) return { executionArn, startDate: existing.startDate };
    if (existing || prepared.usedNames.has(request.name)) throw new StartExecutionError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    const inherited = this.#running.get(request.parent.executionArn) ?? {};
    const entry = { result: this.start(request.workflow, request.input, { ...inherited, name: request.name }), input, startDate: Date.now(), running: true };
    void entry.result.then(() => (entry.running = false), () => (entry.running = false));
    this.#nested.set(executionArn, entry);
    return { executionArn, startDate: entry.startDate };
  }

  async #invoke(task: TaskBinding, taskInput: unknown, counters: { lambdaInvocations: number; largestPayloadBytes: number }): Promise<unknown> {
    const { fn } = task;
    // Like the Lambda service: the handler sees a fresh JSON copy, and only the Payload for lambda:invoke.
    const requestJson = JSON.stringify(task.wrapped ? ((taskInput as Record<string, unknown>)['Payload'] ?? {}) : taskInput);
    const event: unknown = JSON.parse(requestJson);
    counters.lambdaInvocations++;
    counters.largestPayloadBytes = Math.max(counters.largestPayloadBytes, Buffer.byteLength(requestJson));
    const requestId = randomUUID();
    const context = lambdaContext(fn, requestId, this.#logStream(fn));

    let result: unknown;
    try {
      const handler = await this.#loadHandler(fn);
      result = await this.#track(handler(event, context));
    } catch (error) {
      throw toLambdaError(error);
    }
    const responseJson = JSON.stringify(result) ?? 'null';
    const responseBytes = Buffer.byteLength(responseJson);
    counters.largestPayloadBytes = Math.max(counters.largestPayloadBytes, responseBytes);
    const limit = this.#opts.payloadLimitBytes ?? DEFAULT_PAYLOAD_LIMIT_BYTES;
    if (responseBytes > limit) {
      const message = `The state/task '${task.state}' returned a result with a size exceeding the maximum number of bytes service limit (${responseBytes} > ${limit}).`;
      throw new LambdaFunctionError('States.DataLimitExceeded', message, undefined, false);
    }
    const payload: unknown = JSON.parse(responseJson);
    if (!task.wrapped) return payload;
    const date = new Date().toUTCString();
    return {
      ExecutedVersion: '$LATEST',
      Payload: payload,
      SdkHttpMetadata: {
        AllHttpHeaders: {
          'X-Amz-Executed-Version': ['$LATEST'],
          'x-amzn-Remapped-Content-Length': ['0'],
          Connection: ['keep-alive'],
          'x-amzn-RequestId': [requestId],
          'Content-Length': [String(responseBytes)],
          Date: [date],
          'Content-Type': ['application/json'],
        },
        HttpHeaders: {
          Connection: 'keep-alive',
          'Content-Length': String(responseBytes),
          'Content-Type': 'application/json',
          Date: date,
          'X-Amz-Executed-Version': '$LATEST',
          'x-amzn-Remapped-Content-Length': '0',
          'x-amzn-RequestId': requestId,
        },
        HttpStatusCode: 200,
      },
      SdkResponseMetadata: { RequestId: requestId },
      StatusCode: 200,
    };
  }

  /** An asynchronous invocation (an EventBridge target): the handler gets a JSON copy of the event, and the function's timeout. */
  async #invokeAsync(fn: LocalFunction, event: unknown): Promise<unknown> {
    const handler = await this.#loadHandler(fn);
    const running = this.#track(handler(JSON.parse(JSON.stringify(event)), lambdaContext(fn, randomUUID(), this.#logStream(fn))));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(namedError('Sandbox.Timedout', `Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`)), fn.timeoutSeconds * 1000);
    });
    try {
      return await Promise.race([running, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  #track<T>(running: T): Promise<Awaited<T>> {
    const promise = Promise.resolve(running);
    this.#inFlight.add(promise);
    void promise.finally(() => this.#inFlight.delete(promise)).catch(() => undefined);
    return promise;
  }

  /** Like one warm container per function: a stable log stream name. */
  #logStream(fn: LocalFunction): string {
    let stream = this.#logStreams.get(fn.logicalId);
    if (stream === undefined) {
      const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
      stream = `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
      this.#logStreams.set(fn.logicalId, stream);
    }
    return stream;
  }

  #loadHandler(fn: LocalFunction): Promise<Handler> {
    const file = path.join(this.#opts.projectRoot, fn.entry);
    let loading = this.#modules.get(file);
    if (loading === undefined) {
      loading = import(pathToFileURL(file).href) as Promise<Record<string, unknown>>;
      this.#modules.set(file, loading);
    }
    return loading.then(
      (module) => {
        const handler = module[fn.handler];
        if (typeof handler !== 'function') {
          throw namedError('Runtime.HandlerNotFound', `${fn.entry}.${fn.handler} is undefined or not exported`);
        }
        return handler as Handler;
      },
      (error: unknown) => {
        throw namedError('Runtime.ImportModuleError', `Error: Cannot load ${fn.entry}: ${String(error)}`, error);
      },
    );
  }
}

function namedError(name: string, message: string, cause?: unknown): Error {
  const error = new Error(message, { cause });
  error.name = name;
  return error;
}

/** Lambda's Node runtime reports errorType = error.name, errorMessage, and the stack as trace. */
function toLambdaError(error: unknown): LambdaFunctionError {
  if (error instanceof LambdaFunctionError) return error;
  if (error instanceof Error) {
    const body = { errorType: error.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
    return new LambdaFunctionError(error.name, JSON.stringify(body), error);
  }
  const body = { errorType: typeof error, errorMessage: String(error), trace: [] };
  return new LambdaFunctionError(typeof error, JSON.stringify(body), error);
}

function lambdaContext(fn: LocalFunction, requestId: string, logStreamName: string): LocalLambdaContext {
  const deadline = Date.now() + fn.timeoutSeconds * 1000;
  const notSupported = (): never => {
    throw new RunnerError('Callback-style context.done/fail/succeed is not supported: return or throw from an async handler');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: String(fn.memorySizeMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.functionName}`,
    logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: notSupported,
    fail: notSupported,
    succeed: notSupported,
  };
}

/** All handlers share one process.env, so a variable must mean the same thing for every function. */
function mergeEnvironments(functions: LocalFunction[]): Record<string, string> {
  const merged: Record<string, string> = {};
  const owner: Record<string, string> = {};
  for (const fn of functions) {
    for (const [key, value] of Object.entries(fn.environment)) {
      const previous = merged[key];
      if (previous !== undefined && previous !== value) {
        throw new RunnerError(
          `Environment variable ${key} differs between ${owner[key]} (${previous}) and ${fn.logicalId} (${value}); handlers share one process locally`,
        );
      }
      merged[key] = value;
      owner[key] = fn.logicalId;
    }
  }
  return merged;
}

function failureOutcome(error: unknown): Pick<ExecutionResult, 'status' | 'error' | 'cause'> {
  if (error instanceof ExecutionError) {
    const failure = error.cause as { name?: string; message?: string } | undefined;
    return { status: 'FAILED', error: failure?.name ?? 'States.Runtime', cause: failure?.message ?? error.message };
  }
  if (error instanceof ExecutionTimeoutError) {
    return { status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution exceeded its TimeoutSeconds' };
  }
  if (error instanceof ExecutionAbortedError) return { status: 'ABORTED' };
  throw error;
}

interface EventTally {
  statesEntered: number;
  retries: number;
}

async function consumeEvents(
  events: AsyncGenerator<unknown>,
  limits: ExecutionLimits,
  onEvent: ((e: LocalExecutionEvent) => void) | undefined,
): Promise<EventTally> {
  const tally: EventTally = { statesEntered: 0, retries: 0 };
  for await (const raw of events) {
    const event = raw as LocalExecutionEvent;
    // Past a limit the execution has ended on AWS: what the library still reports is not part of it.
    if (limits.observe(event) === 0 && limits.exceeded) continue;
    if (event.type === 'StateEntered') tally.statesEntered++;
    if (event.type === 'StateRetried') tally.retries++;
    onEvent?.(event);
  }
  return tally;
}

function forEachState(machine: Record<string, unknown>, visit: (name: string, state: Record<string, unknown>) => void): void {
  const states = machine['States'] as Record<string, Record<string, unknown>> | undefined;
  for (const [name, state] of Object.entries(states ?? {})) {
    visit(name, state);
    const processor = (state['ItemProcessor'] ?? state['Iterator']) as Record<string, unknown> | undefined;
    if (processor !== undefined) forEachState(processor, visit);
    for (const branch of (state['Branches'] as Record<string, unknown>[] | undefined) ?? []) forEachState(branch, visit);
  }
}

/** Step Functions accepts qualified ARNs (function:Name:alias); the local map is by unqualified ARN. */
function unqualified(target: string): string {
  const match = /^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+)(:[^:]+)?$/.exec(target);
  return match?.[1] ?? target;
}

function jsonRoundTrip(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : JSON.parse(text);
}

function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : Buffer.byteLength(text);
}
