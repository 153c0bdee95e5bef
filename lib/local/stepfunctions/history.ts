/**
 * The execution history of a local execution in the shape of Step Functions' GetExecutionHistory:
 * the runner's events (aws-local-stepfunctions) mapped to the events AWS records for them. The
 * same mapping counts the history the local runtime holds to AWS's 25,000-event limit
 * (execution-limits.ts), so what GetExecutionHistory shows is what is counted.
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

export type UnnumberedEvent = Omit<HistoryEvent, 'id' | 'previousEventId'>;

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

/** What a Task state calls, as its Task* events name it (`lambda`/`invoke`, `states`/`startExecution`). */
export interface TaskResource {
  resourceType: string;
  resource: string;
}

const LAMBDA_TASK: TaskResource = { resourceType: 'lambda', resource: 'invoke' };

const json = (value: unknown): string => JSON.stringify(value ?? null);
const text = (value: unknown): string | undefined => (value === undefined || value === null ? undefined : typeof value === 'string' ? value : JSON.stringify(value));

interface StateData {
  name?: string;
  type?: string;
  input?: unknown;
  output?: unknown;
}

/** The resource of a Task state from its definition's `Resource` (optimized integrations: arn:aws:states:::service:action). */
export function taskResourceOf(resource: unknown): TaskResource {
  const match = typeof resource === 'string' ? /^arn:[^:]+:states:::([^:]+):([^.]+)/.exec(resource) : null;
  return match ? { resourceType: match[1] as string, resource: match[2] as string } : LAMBDA_TASK;
}

/**
 * The AWS history events one runner event stands for, in order: a Task entered is also its first
 * TaskScheduled and TaskStarted, a retry the next attempt's, its exit TaskSucceeded then
 * TaskStateExited; a Map or Parallel entered is also Started, its exit Succeeded then Exited.
 * Events with no AWS counterpart (a Catch, a Parallel branch) stand for none.
 */
export function historyEventsOf(event: LocalExecutionEvent, roleArn: string, resourceOf: (state: string) => TaskResource = () => LAMBDA_TASK): UnnumberedEvent[] {
  const timestamp = event.timestamp / 1000;
  const state = event['state'] as StateData | undefined;
  const parent = event['parentState'] as StateData | undefined;
  const error = { error: text(event['Error']), cause: text(event['Cause']) };
  const name = state?.name ?? '';
  const prefix = STATE_EVENT_PREFIX[state?.type ?? ''] ?? 'TaskState';
  const attempt = (): UnnumberedEvent[] => {
    const task = resourceOf(name);
    return [
      { timestamp, type: 'TaskScheduled', taskScheduledEventDetails: { ...task, region: '', parameters: json(state?.input) } },
      { timestamp, type: 'TaskStarted', taskStartedEventDetails: task },
    ];
  };
  switch (event.type) {
    case 'ExecutionStarted':
      return [{ timestamp, type: 'ExecutionStarted', executionStartedEventDetails: { input: json(event['input']), inputDetails: { truncated: false }, roleArn } }];
    case 'ExecutionSucceeded':
      return [{ timestamp, type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: json(event['output']), outputDetails: { truncated: false } } }];
    case 'ExecutionFailed':
      return [{ timestamp, type: 'ExecutionFailed', executionFailedEventDetails: error }];
    case 'ExecutionAborted':
    case 'ExecutionTerminated':
      return [{ timestamp, type: 'ExecutionAborted', executionAbortedEventDetails: {} }];
    case 'ExecutionTimeout':
      return [{ timestamp, type: 'ExecutionTimedOut', executionTimedOutEventDetails: { error: 'States.Timeout' } }];
    case 'StateEntered': {
      const entered: UnnumberedEvent = { timestamp, type: `${prefix}Entered`, stateEnteredEventDetails: { name, input: json(state?.input), inputDetails: { truncated: false } } };
      if (state?.type === 'Task') return [entered, ...attempt()];
      if (state?.type === 'Map' || state?.type === 'Parallel') return [entered, { timestamp, type: `${state.type}StateStarted` }];
      return [entered];
    }
    case 'StateExited': {
      const exited: UnnumberedEvent = { timestamp, type: `${prefix}Exited`, stateExitedEventDetails: { name, output: json(state?.output), outputDetails: { truncated: false } } };
      if (state?.type === 'Task') return [{ timestamp, type: 'TaskSucceeded', taskSucceededEventDetails: { ...resourceOf(name), output: json(state.output) } }, exited];
      if (state?.type === 'Map' || state?.type === 'Parallel') return [{ timestamp, type: `${state.type}StateSucceeded` }, exited];
      return [exited];
    }
    case 'StateFailed':
      if (state?.type === 'Task') {
        if (error.error === 'States.Timeout') return [{ timestamp, type: 'TaskTimedOut', taskTimedOutEventDetails: { ...resourceOf(name), ...error } }];
        return [{ timestamp, type: 'TaskFailed', taskFailedEventDetails: { ...resourceOf(name), ...error } }];
      }
      if (state?.type === 'Map' || state?.type === 'Parallel') return [{ timestamp, type: `${state.type}StateFailed` }];
      return []; // a Fail state ends in ExecutionFailed; a Pass or Choice that fails fails the execution
    case 'StateRetried':
      return state?.type === 'Task' ? attempt() : [];
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed': {
      const key = `${event.type[0]!.toLowerCase()}${event.type.slice(1)}EventDetails`;
      return [{ timestamp, type: event.type, [key]: { name: parent?.name ?? '', index: event['index'] } }];
    }
    default:
      // StateCaught, Parallel branch events: AWS has no event of their own.
      return [];
  }
}

/** How many AWS history events a runner event stands for: historyEventsOf(...).length, without building them. */
export function historyEventCount(event: LocalExecutionEvent): number {
  const type = (event['state'] as StateData | undefined)?.type;
  switch (event.type) {
    case 'StateEntered':
      return type === 'Task' ? 3 : type === 'Map' || type === 'Parallel' ? 2 : 1;
    case 'StateExited':
      return type === 'Task' || type === 'Map' || type === 'Parallel' ? 2 : 1;
    case 'StateFailed':
      return type === 'Task' || type === 'Map' || type === 'Parallel' ? 1 : 0;
    case 'StateRetried':
      return type === 'Task' ? 2 : 0;
    case 'ExecutionStarted':
    case 'ExecutionSucceeded':
    case 'ExecutionFailed':
    case 'ExecutionAborted':
    case 'ExecutionTerminated':
    case 'ExecutionTimeout':
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed':
      return 1;
    default:
      return 0;
  }
}

/** The events of one execution, numbered as AWS numbers them (ids from 1, each pointing at the one before). */
export class ExecutionHistory {
  readonly #events: HistoryEvent[] = [];
  constructor(
    private readonly roleArn: string,
    private readonly resourceOf?: (state: string) => TaskResource,
    /** Events recorded at most before the one that ends the execution (AWS: 24,999, then ExecutionFailed). */
    private readonly maxEvents = Number.POSITIVE_INFINITY,
  ) {}

  record(event: LocalExecutionEvent): void {
    for (const mapped of historyEventsOf(event, this.roleArn, this.resourceOf)) {
      if (this.#events.length >= this.maxEvents) return;
      this.append(mapped);
    }
  }

  append(event: UnnumberedEvent): void {
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
