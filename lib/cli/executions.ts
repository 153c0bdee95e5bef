/**
 * Runs as Step Functions executions, through @aws-sdk/client-sfn: start one, follow it with
 * back-off (reading only the new history events, printing only changes), find one by run id.
 * The run id is the execution name; a run that outgrows one execution goes on in new ones
 * (lib/core/continuation.ts), which the CLI follows to the last: its output is the run report.
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { randomBytes } from 'node:crypto';
import { RunRepository } from '../adapters/dynamodb/runs.ts';
import { continuedIn } from '../core/continuation.ts';
import { lambdaErrorMessage } from '../core/errors.ts';
import { scheduledDispatchInput, SCHEDULES, type ScheduleName } from '../core/dispatch.ts';
import { EXIT, UsageError } from './io.ts';
import { ProgressTracker, type ProgressPlan, type ProgressSnapshot } from './progress.ts';
import { stateMachineOf, workflowOfArn, type StackConnection } from './target.ts';

/** Errors raised before anything is written: the CLI answers them with exit code 2. */
export const BAD_INPUT_ERRORS = new Set(['ValidationError', 'NotFoundError', 'ConflictError', 'SimulationMismatchError']);

/** Readable, sortable run ids: `cancel-performance-20261125T203312-3f9a`. */
export function newExecutionName(workflow: string, now = new Date()): string {
  const kebab = workflow.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  return `${kebab}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/**
 * `--schedule nightly`: the input the CDK schedule sends (`{schedule, mode, requestedBy}`), with
 * `--input` adding or overriding fields such as `{"mode":"psp"}`.
 */
export function scheduleInput(workflow: string, schedule: string, input: unknown): Record<string, unknown> {
  if (workflow !== 'DispatchRefunds') throw new UsageError('--schedule applies to DispatchRefunds only');
  if (!(SCHEDULES as readonly string[]).includes(schedule)) throw new UsageError(`--schedule must be one of ${SCHEDULES.join(', ')}`);
  const extra = input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  return { ...scheduledDispatchInput(schedule as ScheduleName), ...extra };
}

export interface StartedRun {
  runId: string;
  workflow: string;
  executionArn: string;
  startedAt: string;
}

export async function startRun(stack: StackConnection, workflow: string, input: unknown, name?: string): Promise<StartedRun> {
  const stateMachineArn = stateMachineOf(stack, workflow);
  const runId = name ?? newExecutionName(workflow);
  try {
    const out = await stack.sfn.send(new StartExecutionCommand({ stateMachineArn, name: runId, input: JSON.stringify(input) }));
    return { runId, workflow, executionArn: out.executionArn as string, startedAt: (out.startDate ?? new Date()).toISOString() };
  } catch (error) {
    const e = error as Error;
    if (e.name === 'ExecutionAlreadyExists') throw new UsageError(`a run named "${runId}" already exists for ${workflow}: choose another --name`, { cause: error });
    if (e.name === 'InvalidName') throw new UsageError(`--name "${runId}" is not a valid execution name (1-80 characters, no spaces or special characters)`, { cause: error });
    if (e.name === 'InvalidExecutionInput') throw new UsageError(`the input is not valid JSON for Step Functions: ${e.message}`, { cause: error });
    throw error;
  }
}

/** Reads only the history events not seen yet (newest first, back to the last one seen). */
export class HistoryReader {
  #lastId = 0;
  #disabled = false;

  constructor(
    private readonly stack: StackConnection,
    private readonly executionArn: string,
  ) {}

  async next(): Promise<HistoryEvent[]> {
    if (this.#disabled) return [];
    const fresh: HistoryEvent[] = [];
    let nextToken: string | undefined;
    try {
      outer: do {
        const out = await this.stack.sfn.send(new GetExecutionHistoryCommand({ executionArn: this.executionArn, reverseOrder: true, maxResults: 1000, nextToken }));
        for (const e of out.events ?? []) {
          if ((e.id ?? 0) <= this.#lastId) break outer;
          fresh.push(e);
        }
        nextToken = out.nextToken;
      } while (nextToken);
    } catch (error) {
      // Without states:GetExecutionHistory the run is still followed, without counts.
      if (['AccessDeniedException', 'AccessDenied'].includes((error as Error).name)) this.#disabled = true;
      else throw error;
    }
    fresh.reverse();
    if (fresh.length) this.#lastId = fresh.at(-1)?.id ?? this.#lastId;
    return fresh;
  }
}

export interface FollowOptions {
  plan?: ProgressPlan;
  onProgress?: (snapshot: ProgressSnapshot, status: string) => void;
  /** First wait between polls; it grows by half each poll up to the connection's maximum. */
  initialPollMs?: number;
  maxPollMs?: number;
  signal?: AbortSignal;
}

/** The execution a run went on in, when this one ended by continuing the run there. */
export function nextPart(d: DescribeExecutionCommandOutput): string | undefined {
  if (d.status !== 'SUCCEEDED' || !d.output) return undefined;
  try {
    return continuedIn(JSON.parse(d.output))?.executionArn;
  } catch {
    return undefined;
  }
}

/**
 * Polls a run's execution until the run ends, with back-off; progress from the history. A run
 * that continues in a new execution is followed there (the progress goes on from where it was).
 */
export async function follow(stack: StackConnection, executionArn: string, opts: FollowOptions = {}): Promise<DescribeExecutionCommandOutput> {
  let history = new HistoryReader(stack, executionArn);
  const tracker = new ProgressTracker(opts.plan);
  let delay = opts.initialPollMs ?? 200;
  const max = opts.maxPollMs ?? stack.pollMaxMs;
  let current = executionArn;
  for (;;) {
    const d = await stack.sfn.send(new DescribeExecutionCommand({ executionArn: current }));
    tracker.apply(await history.next());
    const next = nextPart(d);
    opts.onProgress?.(tracker.snapshot(), next ? 'RUNNING' : (d.status ?? 'UNKNOWN'));
    if (next) {
      current = next;
      history = new HistoryReader(stack, current);
      continue;
    }
    if (d.status !== 'RUNNING' && d.status !== 'PENDING_REDRIVE') return d;
    if (opts.signal?.aborted) return d;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(max, Math.round(delay * 1.5));
  }
}

/** Every execution of a run so far, from the one given (its first) to the one that carries it now. */
export async function partsOf(stack: StackConnection, first: DescribeExecutionCommandOutput): Promise<DescribeExecutionCommandOutput[]> {
  const parts = [first];
  for (let next = nextPart(first); next; ) {
    const d = await stack.sfn.send(new DescribeExecutionCommand({ executionArn: next }));
    parts.push(d);
    next = nextPart(d);
  }
  return parts;
}

/** Reads whole histories once (status of a running run: every part's, in order). */
export async function snapshotOf(stack: StackConnection, executionArns: string | readonly string[], plan: ProgressPlan | undefined): Promise<ProgressSnapshot> {
  const tracker = new ProgressTracker(plan);
  for (const arn of [executionArns].flat()) tracker.apply(await new HistoryReader(stack, arn).next());
  return tracker.snapshot();
}

export interface RunOutcome {
  exitCode: number;
  /** What stdout shows when piped: the run report, or the failure. */
  printed: Record<string, unknown>;
  /** The run report when the execution succeeded. */
  report?: Record<string, unknown>;
}

/** The contract's result of a finished execution: the report (exit 0, or 1 when completed with errors), else the failure. */
export function outcomeOf(workflow: string, runId: string, d: DescribeExecutionCommandOutput): RunOutcome {
  if (d.status === 'SUCCEEDED') {
    const report = (d.output ? JSON.parse(d.output) : {}) as Record<string, unknown>;
    const failed = report.status === 'failed' || report.status === 'completed_with_errors';
    return { exitCode: failed ? EXIT.workflowFailed : EXIT.ok, printed: report, report };
  }
  const printed = {
    status: d.status,
    workflow,
    runId,
    executionArn: d.executionArn,
    error: d.error,
    message: lambdaErrorMessage(d.cause),
  };
  const badInput = d.status === 'FAILED' && d.error !== undefined && BAD_INPUT_ERRORS.has(d.error);
  return { exitCode: badInput ? EXIT.badInput : EXIT.workflowFailed, printed };
}

export interface FoundRun {
  runId: string;
  workflow: string;
  executionArn: string;
  execution: DescribeExecutionCommandOutput;
}

/**
 * A run by its id (the execution name) or its execution ARN: the run record names its workflow;
 * a run whose first state refused the input has no record, so every state machine is asked.
 */
export async function findRun(stack: StackConnection, idOrArn: string): Promise<FoundRun | undefined> {
  const describe = async (executionArn: string) => {
    try {
      return await stack.sfn.send(new DescribeExecutionCommand({ executionArn }));
    } catch (error) {
      if (['ExecutionDoesNotExist', 'InvalidArn'].includes((error as Error).name)) return undefined;
      throw error;
    }
  };
  const found = (execution: DescribeExecutionCommandOutput | undefined): FoundRun | undefined => {
    if (!execution?.executionArn || !execution.stateMachineArn) return undefined;
    const workflow = workflowOfArn(stack, execution.stateMachineArn) ?? execution.stateMachineArn.split(':').at(-1) ?? '';
    return { runId: execution.name ?? idOrArn, workflow: workflow.replace(/^MassRefund-/, ''), executionArn: execution.executionArn, execution };
  };
  if (idOrArn.startsWith('arn:')) return found(await describe(idOrArn));
  const executionArnOf = (workflow: string) => {
    const sm = stack.stateMachines[workflow];
    return sm ? `${sm.replace(':stateMachine:', ':execution:')}:${idOrArn}` : undefined;
  };
  const record = await new RunRepository().get(idOrArn).catch(() => undefined);
  const candidates = record?.workflow ? [record.workflow, ...Object.keys(stack.stateMachines).filter((w) => w !== record.workflow)] : Object.keys(stack.stateMachines);
  for (const workflow of candidates) {
    const arn = executionArnOf(workflow);
    const hit = arn ? found(await describe(arn)) : undefined;
    if (hit) return hit;
  }
  return undefined;
}
