/**
 * AWS's limits on one Standard execution, enforced on a local execution as AWS enforces them, so a
 * design that would fail on AWS fails here first:
 *
 * - History: 25,000 events per execution (Step Functions quotas, "Maximum execution history size").
 *   AWS then fails the execution with error `States.Runtime` and cause "The execution reached the
 *   maximum number of history events (25000)."; that ExecutionFailed is event 25,000, the last
 *   event the machine produced is 24,999, and nothing catches it. Events are counted with AWS's
 *   event model (stepfunctions/history.ts: TaskStateEntered, TaskScheduled, TaskStarted,
 *   TaskSucceeded, TaskStateExited, Map/Parallel Started and Succeeded, MapIteration*, ...).
 * - Payload: 256 KiB as UTF-8 for a state's input (after Parameters) or output, a task's result or
 *   an execution's input or output; past it the execution fails with `States.DataLimitExceeded`,
 *   a terminal error that States.ALL does not catch.
 *
 * The runner hooks this in with `observe` (every event of the execution, in order), `task` (around
 * every Task invocation: nothing is invoked once the execution is over a limit, or with an input
 * over the quota) and `settle` (the execution's outcome).
 */
import type { LocalExecutionEvent } from './runner.ts';
import { historyEventCount } from './stepfunctions/history.ts';

export const HISTORY_EVENT_LIMIT = 25_000;
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;

export type LimitErrorCode = 'States.Runtime' | 'States.DataLimitExceeded';

/** The execution is over one of AWS's limits: not retried, not caught, it fails the execution. */
export class ExecutionLimitError extends Error {
  readonly code: LimitErrorCode;
  constructor(code: LimitErrorCode, cause: string) {
    super(cause);
    // The name is the Step Functions error the execution fails with.
    this.name = code === 'States.Runtime' ? 'States.Runtime' : 'States.DataLimitExceeded';
    this.code = code;
  }
  // Read by aws-local-stepfunctions: no Retry or Catch may match.
  get isRetryable(): boolean {
    return false;
  }
  get isCatchable(): boolean {
    return false;
  }
}

export interface LimitOptions {
  /** Events an execution's history may hold (default 25,000), the failure event included. */
  historyEvents?: number;
  /** Bytes a state's input or output may have (default 256 KiB). */
  payloadBytes?: number;
}

export function historyLimitCause(limit: number): string {
  return `The execution reached the maximum number of history events (${limit}).`;
}

export function resultTooLargeCause(state: string): string {
  return `The state/task '${state}' returned a result with a size exceeding the maximum number of bytes service limit.`;
}

export function inputTooLargeCause(state: string): string {
  return `The state/task '${state}' has an input with a size exceeding the maximum number of bytes service limit.`;
}

function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : Buffer.byteLength(text);
}

const TERMINAL = new Set(['ExecutionSucceeded', 'ExecutionFailed', 'ExecutionAborted', 'ExecutionTerminated', 'ExecutionTimeout']);

/** The limits of one execution. */
export class ExecutionLimits {
  readonly historyLimit: number;
  readonly payloadLimit: number;
  #events = 0;
  #largest = 0;
  #over: ExecutionLimitError | undefined;
  readonly #abort: () => void;

  constructor(opts: LimitOptions & { abort: () => void }) {
    this.historyLimit = opts.historyEvents ?? HISTORY_EVENT_LIMIT;
    this.payloadLimit = opts.payloadBytes ?? PAYLOAD_LIMIT_BYTES;
    this.#abort = opts.abort;
  }

  /**
   * Counts one event of the execution (they come in order). Returns how many of the AWS events it
   * stands for were recorded before the execution went over a limit (0 once over).
   */
  observe(event: LocalExecutionEvent): number {
    if (this.#over) return 0;
    const state = event['state'] as { name?: string; input?: unknown; output?: unknown } | undefined;
    if (event.type === 'StateEntered' || event.type === 'StateExited') {
      const bytes = jsonBytes(event.type === 'StateEntered' ? state?.input : state?.output);
      this.#largest = Math.max(this.#largest, bytes);
      if (bytes > this.payloadLimit) {
        const name = state?.name ?? '';
        this.#fail(new ExecutionLimitError('States.DataLimitExceeded', event.type === 'StateEntered' ? inputTooLargeCause(name) : resultTooLargeCause(name)));
        return 0;
      }
    }
    const events = historyEventCount(event);
    if (TERMINAL.has(event.type)) {
      this.#events += events;
      return events;
    }
    for (let i = 0; i < events; i++) {
      // The event that would be number `limit` is the execution's failure instead.
      if (this.#events + 1 >= this.historyLimit) {
        this.#fail(new ExecutionLimitError('States.Runtime', historyLimitCause(this.historyLimit)));
        return i;
      }
      this.#events++;
    }
    return events;
  }

  /**
   * Around one Task invocation: once every event so far is counted (they reach `observe` a few
   * microtasks late), nothing is invoked for an execution over its limits or with an input over
   * the quota (after Parameters, what the task is called with).
   */
  async task<T>(state: string, taskInput: unknown, invoke: () => Promise<T>): Promise<T> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.#over) throw this.#over;
    const bytes = jsonBytes(taskInput);
    this.#largest = Math.max(this.#largest, bytes);
    if (bytes > this.payloadLimit) throw this.#fail(new ExecutionLimitError('States.DataLimitExceeded', inputTooLargeCause(state)));
    return invoke();
  }

  /** The execution's outcome: an execution over a limit failed with AWS's error, whatever the library saw. */
  settle<O extends { status: string; error?: string; cause?: string }>(outcome: O): O | (Omit<O, 'status' | 'error' | 'cause'> & { status: 'FAILED'; error: string; cause: string }) {
    if (!this.#over) return outcome;
    const { status: _s, error: _e, cause: _c, ...rest } = outcome;
    return { ...rest, status: 'FAILED', error: this.#over.code, cause: this.#over.message };
  }

  /** The execution's history length as AWS counts it (the failure event included). */
  get historyEvents(): number {
    return this.#over ? this.#events + 1 : this.#events;
  }

  /** Largest state input or output seen, in bytes. */
  get largestPayloadBytes(): number {
    return this.#largest;
  }

  get exceeded(): ExecutionLimitError | undefined {
    return this.#over;
  }

  #fail(error: ExecutionLimitError): ExecutionLimitError {
    if (!this.#over) {
      this.#over = error;
      this.#abort();
    }
    return this.#over;
  }
}
