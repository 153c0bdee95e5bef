/**
 * The execution history of a local execution in the shape of Step Functions' GetExecutionHistory:
 * the runner's events (aws-local-stepfunctions) mapped to AWS history event types and details.
 */
import type { LocalExecutionEvent } from '../runner.ts';

/** One history event as the service returns it (timestamps in epoch seconds on the wire). */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

/** The prefix of a state's Entered/Exited event types, by ASL state type. */
const STATE_EVENT_PREFIX: Record<string, string> = {
  Task: 'TaskState',
  Pass: 'PassState',
  Choice: 'ChoiceState',
  Map: 'MapState',
  Parallel: 'ParallelState',
  Wait: 'WaitState',
  Succeed: 'SucceedState',
  Fail: 'FailState',
};

const json = (value: unknown): string => JSON.stringify(value ?? null);
const text = (value: unknown): string | undefined => (value === undefined || value === null ? undefined : typeof value === 'string' ? value : JSON.stringify(value));

interface StateData {
  name?: string;
  type?: string;
  input?: unknown;
  output?: unknown;
}

/** Maps one runner event to zero or one AWS history event (without id/previousEventId). */
export function historyEventOf(event: LocalExecutionEvent, roleArn: string): Omit<HistoryEvent, 'id' | 'previousEventId'> | undefined {
  const timestamp = event.timestamp / 1000;
  const state = event['state'] as StateData | undefined;
  const parent = event['parentState'] as StateData | undefined;
  const error = { error: text(event['Error']), cause: text(event['Cause']) };
  switch (event.type) {
    case 'ExecutionStarted':
      return { timestamp, type: 'ExecutionStarted', executionStartedEventDetails: { input: json(event['input']), inputDetails: { truncated: false }, roleArn } };
    case 'ExecutionSucceeded':
      return { timestamp, type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: json(event['output']), outputDetails: { truncated: false } } };
    case 'ExecutionFailed':
      return { timestamp, type: 'ExecutionFailed', executionFailedEventDetails: error };
    case 'ExecutionAborted':
    case 'ExecutionTerminated':
      return { timestamp, type: 'ExecutionAborted', executionAbortedEventDetails: {} };
    case 'ExecutionTimeout':
      return { timestamp, type: 'ExecutionTimedOut', executionTimedOutEventDetails: { error: 'States.Timeout' } };
    case 'StateEntered': {
      const prefix = STATE_EVENT_PREFIX[state?.type ?? ''] ?? 'TaskState';
      return { timestamp, type: `${prefix}Entered`, stateEnteredEventDetails: { name: state?.name ?? '', input: json(state?.input), inputDetails: { truncated: false } } };
    }
    case 'StateExited': {
      const prefix = STATE_EVENT_PREFIX[state?.type ?? ''] ?? 'TaskState';
      return { timestamp, type: `${prefix}Exited`, stateExitedEventDetails: { name: state?.name ?? '', output: json(state?.output), outputDetails: { truncated: false } } };
    }
    case 'StateFailed':
      // AWS records a failed Lambda task as TaskFailed (the Fail state itself ends in ExecutionFailed).
      if (state?.type !== 'Task') return undefined;
      return { timestamp, type: 'TaskFailed', taskFailedEventDetails: { resourceType: 'lambda', resource: 'invoke', ...error } };
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed': {
      const key = `${event.type[0]!.toLowerCase()}${event.type.slice(1)}EventDetails`;
      return { timestamp, type: event.type, [key]: { name: parent?.name ?? '', index: event['index'] } };
    }
    default:
      // StateRetried, StateCaught, Parallel branch events: AWS has no event of their own.
      return undefined;
  }
}

/** The events of one execution, numbered as AWS numbers them (ids from 1, each pointing at the one before). */
export class ExecutionHistory {
  readonly #events: HistoryEvent[] = [];
  constructor(private readonly roleArn: string) {}

  record(event: LocalExecutionEvent): void {
    const mapped = historyEventOf(event, this.roleArn);
    if (mapped) this.append(mapped);
  }

  append(event: Omit<HistoryEvent, 'id' | 'previousEventId'>): void {
    const id = this.#events.length + 1;
    this.#events.push({ ...event, id, previousEventId: id - 1 } as HistoryEvent);
  }

  get length(): number {
    return this.#events.length;
  }

  last(): HistoryEvent | undefined {
    return this.#events.at(-1);
  }

  events(): readonly HistoryEvent[] {
    return this.#events;
  }
}
