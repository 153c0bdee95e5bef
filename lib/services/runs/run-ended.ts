import type { RunRecord, RunRepository } from '../../adapters/dynamodb/runs.ts';
import { runIdOfExecution } from '../../core/continuation.ts';
import { candidateRunIds, endedRunReport, runsOfExecution, unopenedRunReport, type EndedExecution, type UnfinishedExecutionStatus } from '../../core/run-end.ts';

/** What ending a run uses of the runs table (lib/adapters/dynamodb/runs.ts). */
export type RunEndPorts = Pick<RunRepository, 'get' | 'recordEnded' | 'finishIfRunning' | 'log'>;

/** The execution that ended, as its status-change event tells it. */
export interface ExecutionEnd {
  name: string;
  status: UnfinishedExecutionStatus;
  startDate: number;
  input?: string | null | undefined;
  error?: string | null | undefined;
}

function parsedInput(text: string | null | undefined): unknown {
  try {
    return JSON.parse(text ?? 'null');
  } catch {
    return null;
  }
}

/**
 * An execution of `workflow` ended FAILED, TIMED_OUT or ABORTED: each run it opened that is still
 * running is marked failed (conditional write: a run that finished keeps its report), so a re-run
 * can take over. A timed-out or stopped execution that had not opened its run yet gets it recorded
 * failed, so an open still in flight finds it ended. Idempotent: a repeated event changes nothing.
 */
export async function endRunsOfExecution(runs: RunEndPorts, detail: ExecutionEnd, workflow: string): Promise<{ ended: string[]; untouched: string[] }> {
  // A run that continued in new executions (continuation.ts) is carried by its latest: that one's end is the run's.
  const runId = runIdOfExecution(detail.name, parsedInput(detail.input));
  const execution: EndedExecution = { name: detail.name, runId, workflow, status: detail.status, error: detail.error ?? null };
  const ended: string[] = [];
  const untouched: string[] = [];
  const found = async () => runsOfExecution(execution, (await Promise.all(candidateRunIds(runId).map((id) => runs.get(id)))).filter((r): r is RunRecord => r !== undefined));

  let mine = await found();
  if (detail.status !== 'FAILED' && !mine.some((r) => r.runId === runId)) {
    const report = unopenedRunReport(execution, { startedAt: new Date(detail.startDate).toISOString(), input: parsedInput(detail.input) }, new Date().toISOString());
    if (await runs.recordEnded(report)) ended.push(runId);
    else mine = await found(); // opened meanwhile: end it below like any other
  }
  for (const run of mine) {
    if (run.status !== 'running') {
      untouched.push(run.runId);
      continue;
    }
    const report = endedRunReport(run, execution, new Date().toISOString());
    if (await runs.finishIfRunning(run.runId, 'failed', report)) {
      ended.push(run.runId);
      await runs.log(run.runId, 'zz-execution-end', [`execution ${detail.name} ended ${detail.status}: ${report.errors.at(-1)?.message ?? ''}`]);
    } else {
      untouched.push(run.runId);
    }
  }
  return { ended, untouched };
}
