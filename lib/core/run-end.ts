import { ConflictError } from './errors.ts';
import type { RunReport, ReportError } from './report.ts';

/**
 * Every run ends. A run is opened by the execution whose name is its run id; it normally ends in
 * its workflow's last state (FinishRun) or its failure path (RecordFailure). An execution that
 * times out, is stopped, or whose failure path itself failed never gets there: Step Functions
 * then reports the execution's end, and the run, if still running, is marked failed, so that a
 * re-run can finish the job (a failed run is what PartialRefund and the operator take over).
 */

/** The environment variable (set by the stack) that says which workflow each state machine runs: JSON [{stateMachineArn, workflow}]. */
export const WORKFLOWS_BY_STATE_MACHINE_ENV = 'WORKFLOWS_BY_STATE_MACHINE';

/** The execution statuses after which a run still `running` can never finish by itself. */
export const UNFINISHED_EXECUTION_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type UnfinishedExecutionStatus = (typeof UNFINISHED_EXECUTION_STATUSES)[number];

/** The simulation run a scheduled psp or credit dispatch opens for itself before its pass. */
export function scheduledSimulationRunId(runId: string): string {
  return `${runId}-simulation`;
}

/** The reconciliation run a scheduled dispatch makes first. */
export function scheduledReconcileRunId(runId: string): string {
  return `${runId}-reconcile`;
}

export interface EndedExecution {
  /** The execution name: the run id of the run it opened. */
  name: string;
  /** The run the execution carries: its name, or for a continued run's later part, the run it continues (continuation.ts). */
  runId?: string;
  /** The workflow of its state machine. */
  workflow: string;
  status: UnfinishedExecutionStatus;
  error?: string | null;
  cause?: string | null;
}

/** What the runs table holds of a run, as far as ending it goes. */
export interface OpenedRun {
  runId: string;
  workflow: string;
  status: string;
  startedAt: string;
  requestedBy: string;
  input: unknown;
  report?: Partial<RunReport>;
}

/**
 * The runs the execution opened: its own, and a scheduled dispatch's own simulation. Another run
 * is never touched: the id must match, the workflow too, and a simulation must name this
 * execution as the run it was made for (`input.forRun`).
 */
export function runsOfExecution(execution: Pick<EndedExecution, 'name' | 'runId' | 'workflow'>, candidates: readonly OpenedRun[]): OpenedRun[] {
  const runId = execution.runId ?? execution.name;
  return candidates.filter((run) => {
    const forRun = (run.input as { forRun?: unknown } | null | undefined)?.forRun;
    // A scheduled dispatch's own reconciliation is a ReconcileRefunds run made inside its execution.
    if (run.runId === scheduledReconcileRunId(runId)) return execution.workflow === 'DispatchRefunds' && run.workflow === 'ReconcileRefunds' && forRun === runId;
    if (run.workflow !== execution.workflow) return false;
    if (run.runId === runId) return true;
    return run.runId === scheduledSimulationRunId(runId) && forRun === runId;
  });
}

/** The run ids to look up for an execution, by the run it carries (then filtered by `runsOfExecution`). */
export function candidateRunIds(runId: string): string[] {
  return [runId, scheduledSimulationRunId(runId), scheduledReconcileRunId(runId)];
}

/** The error a run's report lists when its execution ended before the run did. */
export function executionEndError(execution: Pick<EndedExecution, 'status' | 'error'>): ReportError {
  const again = 'run it again with the same input to finish the job';
  switch (execution.status) {
    case 'TIMED_OUT':
      return { code: 'ExecutionTimedOut', message: `the execution reached its time limit before the run finished; ${again}` };
    case 'ABORTED':
      return { code: 'ExecutionAborted', message: `the execution was stopped before the run finished; ${again}` };
    case 'FAILED':
      return {
        code: 'ExecutionFailed',
        message: `the execution failed (${execution.error ?? 'no error given'}) and could not record the run's end itself; ${again}`,
      };
  }
}

/**
 * The report of a run whose execution ended without finishing it: what the run had recorded so
 * far, status failed, and the reason at the end of its errors. Only for a run still `running`.
 */
export function endedRunReport(run: OpenedRun, execution: Pick<EndedExecution, 'status' | 'error'>, finishedAt: string): RunReport {
  if (run.status !== 'running') throw new ConflictError(`run ${run.runId} is ${run.status}, not running: its end is already recorded`);
  return failedRunReport(run, executionEndError(execution), finishedAt);
}

/** The report of a run that failed: what the run had recorded so far, status failed, and `error` at the end of its errors. */
export function failedRunReport(run: OpenedRun, error: ReportError, finishedAt: string): RunReport {
  return {
    ...(run.report ?? {}),
    runId: run.runId,
    workflow: run.workflow,
    status: 'failed',
    startedAt: run.startedAt,
    finishedAt,
    requestedBy: run.requestedBy,
    input: run.input,
    outcomes: run.report?.outcomes ?? {},
    errors: [...(run.report?.errors ?? []), error],
  };
}

/**
 * An execution that timed out or was stopped before its run was opened: its OpenRun may still be
 * running (AWS does not stop a Lambda call in flight) and would open the run afterwards, `running`
 * for good. So the run is recorded failed first; a late open then finds it ended and keeps it.
 */
export function unopenedRunReport(
  execution: Pick<EndedExecution, 'name' | 'runId' | 'workflow' | 'status' | 'error'>,
  started: { startedAt: string; input: unknown },
  finishedAt: string,
): RunReport {
  const requestedBy = (started.input as { requestedBy?: unknown } | null | undefined)?.requestedBy;
  const { code, message } = executionEndError(execution);
  return {
    runId: execution.runId ?? execution.name,
    workflow: execution.workflow,
    status: 'failed',
    startedAt: started.startedAt,
    finishedAt,
    requestedBy: typeof requestedBy === 'string' && requestedBy.trim() !== '' ? requestedBy : 'unknown',
    input: started.input,
    outcomes: {},
    errors: [{ code, message: message.replace('before the run finished', 'before it opened its run') }],
  };
}
