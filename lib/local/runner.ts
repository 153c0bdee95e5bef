/**
 * Runs the synthesized state machines locally with aws-local-stepfunctions. Task states invoke the
 * Lambda bundles of the cloud assembly, what `cdk deploy` uploads, in containers (worker threads,
 * one pool per function, see containers.ts) with each function's own environment from the
 * template, and the same payload shapes, errors and context as AWS. For inner-loop work
 * MASS_REFUND_LOCAL_HANDLERS=source calls the TypeScript handler modules in-process instead.
 */
import { randomUUID, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { AssemblyError, functionBundles, markAssemblyCommonJs, type FunctionBundle } from './assembly.ts';
import { executionStatusChangeEvent, listEventRules, LocalEventBus, type EventDelivery } from './events.ts';
import { FunctionPool, type InvocationContext, type LogSource } from './containers.ts';
import { handlerModeFromEnv, type HandlerMode } from './paths.ts';
import { ExecutionLimits } from './execution-limits.ts';
import { START_EXECUTION, StartExecutionError, startExecutionTask, type ExecutionStarter, type StartedExecution, type StartRequest } from './nested-executions.ts';
import { preflight } from './preflight.ts';
import { startLocalSecretsManager, type LocalSecretsManager } from './secrets-manager.ts';
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_PARTITION,
  LOCAL_REGION,
  listFunctions,
  listStateMachines,
  secretArn,
  type CfnTemplate,
  type LocalFunction,
  type LocalStateMachine,
} from './template.ts';


export { handlerModeFromEnv, type HandlerMode } from './paths.ts';

/** Resource metadata key naming a secret for the local runtime (e.g. `psp-credentials`). */
export const SECRET_METADATA_KEY = 'mass-refund:secret';

/** Default cap of containers per function: one per shard of the Maps (MaxConcurrency 16). */
export const DEFAULT_MAX_CONTAINERS = 16;

export interface PreloadHook {
  /** Absolute path of a CommonJS file. */
  module: string;
  data?: unknown;
}

/** What a test or the chaos suite changes on deployed functions (Lambda's UpdateFunctionConfiguration). */
export interface FunctionConfigurationUpdate {
  /** Variables to set (a string), or to return to what the stack deployed (undefined). */
  environment?: Record<string, string | undefined>;
  /** Most containers of the function at once (bundles only). */
  maxContainers?: number;
}

export interface RunnerOptions {
  /** The synthesized template (or give templatePath). */
  template?: object;
  /** The template's file in its cloud assembly: where the bundles are found (required for bundles). */
  templatePath?: string;
  /** DynamoDB table logical id -> local physical name. */
  tableNames?: Record<string, string>;
  /**
   * The local platform's environment. With bundles a container gets a variable from here if its
   * function has it in the template (the local value wins, e.g. a table name or the PSP URL) or
   * if it is the platform's (AWS_*: region, credentials, endpoints; POWERTOOLS_*), nothing else.
   * With source modules every handler shares process.env, so all of it applies.
   */
  env?: Record<string, string>;
  /** Variables added to every function's own environment, as if the stack had set them (e.g. tuning knobs). */
  functionEnv?: Record<string, string>;
  /** Root of the project: handler `entry` paths (source) and the runtime's AWS SDK (bundles). */
  projectRoot: string;
  /** Default: handlerModeFromEnv(). */
  handlers?: HandlerMode;
  /** Containers per function at most (default 16); invocations beyond wait for a free one. */
  maxContainers?: number;
  /**
   * Test instrumentation every container loads before its bundle, as a Lambda layer's wrapper
   * would (the chaos suite's DynamoDB faults, the bench's DynamoDB meter): a CommonJS module
   * `module.exports = ({ require, data }) => …`, `require` resolving as the bundle does, `data`
   * given to every container (a SharedArrayBuffer is shared, e.g. counters). With source modules
   * each runs once in this process.
   */
  preload?: PreloadHook[];
  /** What a container writes to stdout/stderr (default: the host's console.log/console.error). */
  onLog?: (text: string, source: LogSource) => void;
  /** Values of the template's secrets by their `mass-refund:secret` metadata, served by a local Secrets Manager. */
  secrets?: Record<string, string>;
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
  /** Containers started for this execution's invocations (bundles only) and their init durations. */
  coldStarts: number;
  initMs: number;
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
  override readonly name: string = 'RunnerError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** AWS StartExecution refuses a name already used for the same state machine. */
export class ExecutionAlreadyExistsError extends RunnerError {
  override readonly name: string = 'ExecutionAlreadyExists';
  constructor(workflow: string, name: string) {
    super(`Execution ${name} already exists for workflow ${workflow}`);
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
/** The Lambda context a source-mode handler gets (a container's is built from the same fields). */
export interface LocalLambdaContext extends InvocationContext {
  callbackWaitsForEmptyEventLoop: boolean;
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
  readonly #mode: HandlerMode;
  readonly #workflows = new Map<string, PreparedWorkflow>();
  #env: Record<string, string>;
  readonly #modules = new Map<string, Promise<Record<string, unknown>>>();
  readonly #untagged: string[];
  readonly #logStreams = new Map<string, string>();
  readonly #used = new Map<string, LocalFunction>();
  readonly #bundles = new Map<string, FunctionBundle>();
  readonly #pools = new Map<string, FunctionPool>();
  /** Per function: what configure() changed (environment, container cap). */
  readonly #configured = new Map<string, { environment: Record<string, string>; maxContainers?: number }>();
  readonly #secretValues: { ids: string[]; key: string }[] = [];
  #secrets: Promise<LocalSecretsManager> | undefined;
  #preloaded: Promise<void> | undefined;
  #closed = false;
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
    this.#mode = opts.handlers ?? handlerModeFromEnv();
    const template = (opts.template ?? loadTemplateFile(opts.templatePath)) as CfnTemplate;
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

    const used = this.#used;
    for (const machine of machines) {
      const prepared = this.#prepare(machine, functions);
      for (const task of prepared.tasks) used.set(task.fn.logicalId, task.fn);
      this.#workflows.set(machine.workflow, prepared);
    }
    // The template's EventBridge rules on execution status changes, and the functions they target.
    this.#bus = new LocalEventBus(listEventRules(template, functions, ctx), (fn, event) => this.#invokeAsync(fn, event));
    for (const fn of this.#bus.targetFunctions()) used.set(fn.logicalId, fn);
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      const key = resource.Metadata?.[SECRET_METADATA_KEY];
      if (resource.Type === 'AWS::SecretsManager::Secret' && typeof key === 'string') {
        const name = resource.Properties?.['Name'];
        this.#secretValues.push({ ids: [logicalId, secretArn(logicalId), ...(typeof name === 'string' ? [name] : [])], key });
      }
    }
    for (const fn of used.values()) this.#configured.set(fn.logicalId, { environment: { ...opts.functionEnv } });
    if (this.#mode === 'source') {
      this.#env = { ...mergeEnvironments([...used.values()]), ...opts.env, ...opts.functionEnv };
      for (const fn of used.values()) {
        const file = path.join(opts.projectRoot, fn.entry);
        if (!existsSync(file)) throw new RunnerError(`Handler module of ${fn.logicalId} not found: ${file}`);
      }
    } else {
      this.#env = { ...opts.env };
      if (opts.templatePath === undefined) throw new RunnerError('the bundles are found through the template\'s cloud assembly: give RunnerOptions.templatePath (or handlers: "source")');
      try {
        for (const [id, bundle] of functionBundles(opts.templatePath, [...used.values()])) this.#bundles.set(id, bundle);
      } catch (error) {
        if (error instanceof AssemblyError) throw new RunnerError(error.message, { cause: error });
        throw error;
      }
      markAssemblyCommonJs(path.dirname(opts.templatePath));
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

  get handlerMode(): HandlerMode {
    return this.#mode;
  }

  /** The functions the workflows call. */
  functions(): LocalFunction[] {
    return [...this.#used.values()];
  }

  /**
   * Changes the configuration of the selected functions (default: all), as Lambda's
   * UpdateFunctionConfiguration does: their containers are replaced, so the next invocation
   * starts fresh (module state included) with the new environment.
   */
  async configure(update: FunctionConfigurationUpdate, select: (fn: LocalFunction) => boolean = () => true): Promise<void> {
    for (const fn of this.#used.values()) {
      if (!select(fn)) continue;
      const current = this.#configured.get(fn.logicalId) ?? { environment: {} };
      const environment = { ...current.environment };
      for (const [key, value] of Object.entries(update.environment ?? {})) {
        if (value === undefined) delete environment[key];
        else environment[key] = value;
      }
      const next = {
        environment,
        ...((update.maxContainers ?? current.maxContainers) !== undefined ? { maxContainers: update.maxContainers ?? current.maxContainers } : {}),
      };
      this.#configured.set(fn.logicalId, next);
      const pool = this.#pools.get(fn.logicalId);
      if (pool) pool.reconfigure({ environment: await this.#containerEnvironment(fn), maxContainers: this.#maxContainers(fn) });
    }
    if (this.#mode === 'source' && update.environment) {
      // One process for every "container": its environment is process.env, and fresh containers
      // would start the crash points' pass counters at zero.
      for (const [key, value] of Object.entries(update.environment)) {
        if (value === undefined) {
          delete this.#env[key];
          delete process.env[key];
        } else {
          this.#env[key] = value;
          process.env[key] = value;
        }
      }
      if ('MASS_REFUND_CHAOS' in update.environment) {
        const chaos = (await import(pathToFileURL(path.join(this.#opts.projectRoot, 'functions/commons/chaos.ts')).href)) as { resetCrashPoints?: () => void };
        chaos.resetCrashPoints?.();
      }
    }
  }

  /** Sets a secret's value in the local Secrets Manager (as `aws secretsmanager put-secret-value`). */
  async putSecret(key: string, value: string): Promise<void> {
    const secret = this.#secretValues.find((s) => s.key === key);
    if (!secret) throw new RunnerError(`the template has no secret with ${SECRET_METADATA_KEY} ${key}`);
    (await this.#secretsManager())?.put(secret.ids[0] as string, value);
  }

  /** Cold-start init durations so far, per function logical id (bundles only). */
  coldStarts(): Record<string, number[]> {
    return Object.fromEntries([...this.#pools].map(([id, pool]) => [id, [...pool.coldStarts]]));
  }

  /** Stops every container and the local Secrets Manager. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
    const secrets = this.#secrets;
    this.#secrets = undefined;
    await (await secrets)?.stop();
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
    const ended = new AbortController();
    const counters: Counters = { ended: ended.signal, lambdaInvocations: 0, largestPayloadBytes: jsonBytes(jsonInput), coldStarts: 0, initMs: 0 };
    const startedAt = performance.now();
    const startDate = Date.now();
    if (this.#closed) throw new RunnerError('the runner was closed');
    await this.#secretsManager();
    await this.#preload();

    // AWS's history and payload limits (execution-limits.ts): every Task goes through them.
    const limits = new ExecutionLimits({ historyEvents: this.#opts.historyEventLimit, payloadBytes: this.#opts.payloadLimitBytes, abort: () => execution.abort() });
    const parent = { workflow, name, executionArn };
    const taskResourceLocalHandlers = Object.fromEntries([
      ...prepared.tasks.map((task) => [task.state, (taskInput: unknown) => limits.task(task.state, taskInput, () => this.#invoke(task, taskInput, counters))]),
      ...prepared.starts.map((state) => [state, (taskInput: unknown) => limits.task(state, taskInput, () => startExecutionTask(taskInput, parent, (arn) => this.#workflowOfArn(arn), this.#starter))]),
    ]);
    // Source modules: one process.env for all handlers (mergeEnvironments guarantees they agree); set per start, not per call (setenv is slow).
    if (this.#mode === 'source') Object.assign(process.env, this.#env);
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
      ended.abort();
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
        coldStarts: counters.coldStarts,
        initMs: Math.round(counters.initMs * 10) / 10,
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

  async #invoke(task: TaskBinding, taskInput: unknown, counters: Counters): Promise<unknown> {
    const { fn } = task;
    // Like the Lambda service: the handler sees a fresh JSON copy, and only the Payload for lambda:invoke.
    const requestJson = JSON.stringify(task.wrapped ? ((taskInput as Record<string, unknown>)['Payload'] ?? {}) : taskInput);
    counters.lambdaInvocations++;
    counters.largestPayloadBytes = Math.max(counters.largestPayloadBytes, Buffer.byteLength(requestJson));
    const requestId = randomUUID();

    let responseJson: string;
    if (this.#mode === 'bundles') {
      const outcome = await this.#track((await this.#pool(fn)).invoke(requestJson, invocationFields(fn, requestId), counters.ended));
      if (outcome.coldStart) {
        counters.coldStarts++;
        counters.initMs += outcome.initMs ?? 0;
      }
      if (!outcome.ok) {
        const body = { errorType: outcome.errorType, errorMessage: outcome.errorMessage, trace: outcome.trace };
        throw new LambdaFunctionError(outcome.errorType, JSON.stringify(body), { name: outcome.errorType, message: outcome.errorMessage });
      }
      responseJson = outcome.payload;
    } else {
      const event: unknown = JSON.parse(requestJson);
      const context = lambdaContext(fn, requestId, this.#logStream(fn));
      let result: unknown;
      try {
        const handler = await this.#loadHandler(fn);
        result = await this.#track(handler(event, context));
      } catch (error) {
        throw toLambdaError(error);
      }
      responseJson = JSON.stringify(result) ?? 'null';
    }
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

  /**
   * An asynchronous invocation (an EventBridge target): the function gets a JSON copy of the event,
   * in its own containers (bundles) or in-process (source modules), within its timeout.
   */
  async #invokeAsync(fn: LocalFunction, event: unknown): Promise<unknown> {
    const requestJson = JSON.stringify(event);
    if (this.#mode === 'bundles') {
      const outcome = await this.#track(
        (await this.#pool(fn)).invoke(requestJson, {
          functionName: fn.functionName,
          functionVersion: '$LATEST',
          invokedFunctionArn: fn.arn,
          memoryLimitInMB: String(fn.memorySizeMb),
          awsRequestId: randomUUID(),
          logGroupName: `/aws/lambda/${fn.functionName}`,
        }),
      );
      if (!outcome.ok) throw namedError(outcome.errorType, outcome.errorMessage);
      return JSON.parse(outcome.payload) as unknown;
    }
    const handler = await this.#loadHandler(fn);
    const running = this.#track(handler(JSON.parse(requestJson), lambdaContext(fn, randomUUID(), this.#logStream(fn))));
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

  #maxContainers(fn: LocalFunction): number {
    return this.#configured.get(fn.logicalId)?.maxContainers ?? this.#opts.maxContainers ?? DEFAULT_MAX_CONTAINERS;
  }

  /**
   * A container's environment: what the Lambda service sets, the function's own variables from
   * the template, the local platform's (see RunnerOptions.env), then what configure() changed.
   */
  async #containerEnvironment(fn: LocalFunction): Promise<Record<string, string>> {
    const bundle = this.#bundles.get(fn.logicalId);
    const region = this.#env['AWS_REGION'] ?? LOCAL_REGION;
    const env: Record<string, string | undefined> = {
      AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySizeMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.functionName}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime ?? 'nodejs22.x'}`,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      LAMBDA_TASK_ROOT: bundle?.dir,
      _HANDLER: fn.handlerProperty,
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      // This machine's Node is older than the function's runtime: the SDK's warning is about the host.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED,
      ...fn.environment,
    };
    for (const [key, value] of Object.entries(this.#env)) {
      if (key in fn.environment || /^(AWS_|POWERTOOLS_)/.test(key)) env[key] = value;
    }
    const secrets = await this.#secretsManager();
    if (secrets) env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = secrets.url;
    Object.assign(env, this.#configured.get(fn.logicalId)?.environment);
    return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  }

  async #pool(fn: LocalFunction): Promise<FunctionPool> {
    let pool = this.#pools.get(fn.logicalId);
    if (pool === undefined) {
      const bundle = this.#bundles.get(fn.logicalId);
      if (bundle === undefined) throw new RunnerError(`no bundle for ${fn.logicalId}`);
      const environment = await this.#containerEnvironment(fn);
      pool = this.#pools.get(fn.logicalId);
      if (pool !== undefined) return pool;
      const onLog = this.#opts.onLog ?? defaultLog;
      pool = new FunctionPool(fn, bundle, { environment, maxContainers: this.#maxContainers(fn) }, {
        projectRoot: this.#opts.projectRoot,
        preload: this.#opts.preload ?? [],
        onLog,
      });
      this.#pools.set(fn.logicalId, pool);
    }
    return pool;
  }

  /** The local Secrets Manager, started once when the runner has secret values to serve. */
  #secretsManager(): Promise<LocalSecretsManager | undefined> {
    const values = this.#opts.secrets ?? {};
    const served = this.#secretValues.filter((s) => values[s.key] !== undefined);
    if (served.length === 0) return Promise.resolve(undefined);
    if (this.#secrets === undefined) {
      this.#secrets = startLocalSecretsManager(served.map((s) => ({ ids: s.ids, value: values[s.key] as string })));
      if (this.#mode === 'source') {
        void this.#secrets.then((sm) => {
          this.#env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = sm.url;
          process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = sm.url;
        });
      }
    }
    return this.#secrets;
  }

  /** Source modules: the preload hooks run once in this process, before the first handler. */
  #preload(): Promise<void> {
    if (this.#mode === 'bundles' || (this.#opts.preload ?? []).length === 0) return Promise.resolve();
    this.#preloaded ??= (async () => {
      const { createRequire } = await import('node:module');
      const require = createRequire(path.join(this.#opts.projectRoot, 'package.json'));
      for (const hook of this.#opts.preload ?? []) {
        const install = require(hook.module) as (ctx: unknown) => void;
        install({ require, data: hook.data });
      }
    })();
    return this.#preloaded;
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

interface Counters {
  /** Aborted when the execution has ended: invocations still waiting for a container are dropped. */
  ended: AbortSignal;
  lambdaInvocations: number;
  largestPayloadBytes: number;
  coldStarts: number;
  initMs: number;
}

/** Lambda sends what a function writes to its log group; locally it goes to this process's console. */
function defaultLog(text: string, source: LogSource): void {
  const line = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (source.stream === 'stderr') console.error(line);
  else console.log(line);
}

function loadTemplateFile(templatePath: string | undefined): object {
  if (templatePath === undefined) throw new RunnerError('RunnerOptions needs template or templatePath');
  return JSON.parse(readFileSync(templatePath, 'utf8')) as object;
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

/** The context fields Lambda gives an invocation of `fn` (the log stream is the container's). */
function invocationFields(fn: LocalFunction, requestId: string): Omit<InvocationContext, 'logStreamName'> {
  return {
    functionName: fn.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: String(fn.memorySizeMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.functionName}`,
  };
}

function lambdaContext(fn: LocalFunction, requestId: string, logStreamName: string): LocalLambdaContext {
  const deadline = Date.now() + fn.timeoutSeconds * 1000;
  const notSupported = (): never => {
    throw new RunnerError('Callback-style context.done/fail/succeed is not supported: return or throw from an async handler');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    ...invocationFields(fn, requestId),
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
