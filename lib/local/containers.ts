/**
 * Lambda's execution model for the local runtime: per function a pool of containers (worker
 * threads, see container.cjs), each with its own module instances and its own environment,
 * one invocation at a time. A busy pool starts another container (a cold start) up to a cap;
 * beyond it invocations wait for a free one. A configuration change retires the containers
 * (as Lambda does after UpdateFunctionConfiguration): invocations in flight finish where they
 * run, the next ones start in new containers with the new environment.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FunctionBundle } from './assembly.ts';
import type { LocalFunction } from './template.ts';

const BOOTSTRAP = fileURLToPath(new URL('./container.cjs', import.meta.url));

export interface ContainerConfig {
  environment: Record<string, string>;
  /** Most containers at once; further invocations wait for a free one. */
  maxContainers: number;
}

export interface LogSource {
  logicalId: string;
  functionName: string;
  stream: 'stdout' | 'stderr';
}

export interface PoolOptions {
  projectRoot: string;
  /** Modules each container requires before the bundle (see RunnerOptions.preload). */
  preload: { module: string; data?: unknown }[];
  onLog: (text: string, source: LogSource) => void;
}

/** What the Lambda service answers for one invocation. */
export type InvocationOutcome =
  | { ok: true; payload: string; coldStart: boolean; initMs?: number }
  | { ok: false; errorType: string; errorMessage: string; trace: string[]; coldStart: boolean; initMs?: number };

export interface InvocationContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
}

type Message =
  | { type: 'log'; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'ready'; initMs: number }
  | { type: 'initError' | 'crash'; initMs?: number; errorType: string; errorMessage: string; trace: string[] }
  | { type: 'result'; id: string; payload: string }
  | { type: 'error'; id: string; errorType: string; errorMessage: string; trace: string[] };

type Failure = { errorType: string; errorMessage: string; trace: string[] };

class Container {
  readonly worker: Worker;
  readonly generation: number;
  readonly logStreamName: string;
  readonly ready: Promise<Failure | undefined>;
  initMs: number | undefined;
  invocations = 0;
  dead = false;
  #pending: { id: string; settle: (outcome: { payload: string } | Failure) => void } | undefined;
  /** Settles `ready`: the bundle loaded, failed to, or the runtime died first (then `ready` is its failure). */
  #initialized: (failure: Failure | undefined) => void = () => {};

  constructor(fn: LocalFunction, bundle: FunctionBundle, environment: Record<string, string>, generation: number, options: PoolOptions) {
    this.generation = generation;
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    this.logStreamName = `${day}/[$LATEST]${randomUUID().replaceAll('-', '')}`;
    const env: Record<string, string> = { ...environment, AWS_LAMBDA_LOG_STREAM_NAME: this.logStreamName };
    this.worker = new Worker(BOOTSTRAP, {
      workerData: {
        file: bundle.file,
        dir: bundle.dir,
        exportName: bundle.exportName,
        projectRoot: options.projectRoot,
        sourceMaps: /--enable-source-maps/.test(env['NODE_OPTIONS'] ?? ''),
        preload: options.preload,
      },
      env,
      stdout: true,
      stderr: true,
      // The function's memory as the JavaScript heap's ceiling: an out-of-memory ends the container.
      resourceLimits: { maxOldGenerationSizeMb: fn.memorySizeMb },
    });
    const source = { logicalId: fn.logicalId, functionName: fn.functionName };
    this.ready = new Promise((resolve) => {
      this.#initialized = resolve;
    });
    this.worker.on('message', (message: Message) => {
      switch (message.type) {
        case 'log':
          options.onLog(message.text, { ...source, stream: message.stream });
          break;
        case 'ready':
          this.initMs = message.initMs;
          this.#initialized(undefined);
          break;
        case 'initError':
          this.initMs = message.initMs;
          this.#initialized(message);
          break;
        case 'crash':
          this.#fail(message);
          break;
        case 'result':
        case 'error': {
          const pending = this.#pending;
          if (pending?.id !== message.id) break;
          this.#pending = undefined;
          pending.settle(message.type === 'result' ? { payload: message.payload } : message);
          break;
        }
      }
    });
    this.worker.on('error', (error: Error & { code?: string }) => {
      const errorType = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'Runtime.OutOfMemory' : error.name;
      this.#fail({ errorType, errorMessage: error.message, trace: String(error.stack ?? '').split('\n') });
    });
    this.worker.on('exit', (code) => {
      this.#fail({ errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${this.#pending?.id ?? '-'} Error: Runtime exited with error: exit status ${code}`, trace: [] });
    });
  }

  #fail(failure: Failure): void {
    const wasDead = this.dead;
    this.dead = true;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.settle(failure);
    // A runtime that dies before it reports on the bundle would leave its first invocation waiting forever.
    this.#initialized(failure);
    if (!wasDead) void this.worker.terminate();
  }

  invoke(event: string, context: InvocationContext, timeoutMs: number): Promise<{ payload: string } | Failure> {
    this.invocations++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // Lambda stops the container at the function's timeout.
        this.#fail({ errorType: 'Sandbox.Timedout', errorMessage: `RequestId: ${context.awsRequestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`, trace: [] });
      }, timeoutMs);
      this.#pending = {
        id: context.awsRequestId,
        settle: (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
      };
      this.worker.postMessage({ type: 'invoke', id: context.awsRequestId, event, context, deadline: Date.now() + timeoutMs });
    });
  }

  /** An idle container must not keep the process alive; a busy one must. */
  hold(busy: boolean): void {
    if (busy) this.worker.ref();
    else this.worker.unref();
  }

  async stop(): Promise<void> {
    this.dead = true;
    await this.worker.terminate();
  }
}

/** The containers of one function. */
export class FunctionPool {
  readonly fn: LocalFunction;
  readonly #bundle: FunctionBundle;
  readonly #options: PoolOptions;
  #config: ContainerConfig;
  #generation = 0;
  readonly #all = new Set<Container>();
  #idle: Container[] = [];
  readonly #waiting: (() => void)[] = [];
  /** Cold starts and their init durations, for the bench and tests. */
  readonly coldStarts: number[] = [];

  constructor(fn: LocalFunction, bundle: FunctionBundle, config: ContainerConfig, options: PoolOptions) {
    this.fn = fn;
    this.#bundle = bundle;
    this.#config = config;
    this.#options = options;
  }

  get config(): ContainerConfig {
    return this.#config;
  }

  get containers(): number {
    return this.#all.size;
  }

  /**
   * One invocation. `signal`: the execution that invoked it ended; an invocation still waiting for
   * a container is then dropped (Step Functions starts nothing more for a finished execution),
   * one already running in a container finishes, as on AWS.
   */
  async invoke(event: string, context: Omit<InvocationContext, 'logStreamName'>, signal?: AbortSignal): Promise<InvocationOutcome> {
    const container = await this.#acquire(signal);
    container.hold(true);
    try {
      const coldStart = container.invocations === 0;
      const initFailure = await container.ready;
      const init = coldStart && container.initMs !== undefined ? { initMs: container.initMs } : {};
      if (initFailure) {
        // Lambda retries a failed init on the next invocation, in a fresh container.
        void container.stop();
        return { ok: false, ...initFailure, coldStart, ...init };
      }
      const outcome = await container.invoke(event, { ...context, logStreamName: container.logStreamName }, this.fn.timeoutSeconds * 1000);
      return 'payload' in outcome ? { ok: true, payload: outcome.payload, coldStart, ...init } : { ok: false, ...outcome, coldStart, ...init };
    } finally {
      container.hold(false);
      this.#release(container);
    }
  }

  /** New configuration: idle containers go now, busy ones when their invocation ends. */
  reconfigure(config: ContainerConfig): void {
    this.#config = config;
    this.#generation++;
    for (const container of this.#idle) this.#retire(container);
    this.#idle = [];
    while (this.#waiting.length > 0 && this.#all.size < this.#config.maxContainers) this.#waiting.shift()?.();
  }

  async close(): Promise<void> {
    this.#idle = [];
    const all = [...this.#all];
    this.#all.clear();
    await Promise.all(all.map((c) => c.stop()));
  }

  #retire(container: Container): void {
    this.#all.delete(container);
    void container.stop();
  }

  async #acquire(signal?: AbortSignal): Promise<Container> {
    for (;;) {
      if (signal?.aborted) throw new Error('the execution ended before a container was free');
      const idle = this.#idle.pop();
      if (idle) return idle;
      if (this.#all.size < this.#config.maxContainers) {
        const container = new Container(this.fn, this.#bundle, this.#config.environment, this.#generation, this.#options);
        this.#all.add(container);
        container.hold(false);
        void container.ready.then(() => {
          if (container.initMs !== undefined) this.coldStarts.push(container.initMs);
        });
        return container;
      }
      await new Promise<void>((resolve) => {
        this.#waiting.push(resolve);
        signal?.addEventListener('abort', () => {
          const i = this.#waiting.indexOf(resolve);
          if (i >= 0) this.#waiting.splice(i, 1);
          resolve();
        }, { once: true });
      });
    }
  }

  #release(container: Container): void {
    if (container.dead || container.generation !== this.#generation || !this.#all.has(container)) {
      if (this.#all.has(container)) this.#retire(container);
    } else {
      this.#idle.push(container);
    }
    this.#waiting.shift()?.();
  }
}
