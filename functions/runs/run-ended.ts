import * as z from 'zod';
import { RunRepository, type RunRecord } from '../../lib/adapters/dynamodb/runs.ts';
import {
  candidateRunIds,
  endedRunReport,
  runsOfExecution,
  UNFINISHED_EXECUTION_STATUSES,
  unopenedRunReport,
  WORKFLOWS_BY_STATE_MACHINE_ENV,
  type EndedExecution,
} from '../../lib/core/run-end.ts';
import { runIdOfExecution } from '../../lib/core/continuation.ts';
import { stage } from '../commons/handler.ts';
import { logger } from '../commons/powertools.ts';

const WorkflowsByStateMachine = z.array(z.object({ stateMachineArn: z.string(), workflow: z.string() }));

/** The "Step Functions Execution Status Change" event, as the EventBridge rule delivers it. */
const ExecutionEnded = z.object({
  'detail-type': z.literal('Step Functions Execution Status Change'),
  source: z.literal('aws.states'),
  detail: z.object({
    executionArn: z.string(),
    stateMachineArn: z.string(),
    name: z.string().min(1),
    status: z.enum(UNFINISHED_EXECUTION_STATUSES),
    startDate: z.number(),
    input: z.string().nullish(),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});

function workflowOf(stateMachineArn: string): string | undefined {
  const list = WorkflowsByStateMachine.parse(JSON.parse(process.env[WORKFLOWS_BY_STATE_MACHINE_ENV] ?? '[]'));
  return list.find((m) => m.stateMachineArn === stateMachineArn)?.workflow;
}

function parsedInput(text: string | null | undefined): unknown {
  try {
    return JSON.parse(text ?? 'null');
  } catch {
    return null;
  }
}

/**
 * An execution ended FAILED, TIMED_OUT or ABORTED: each run it opened that is still running is
 * marked failed (conditional write: a run that finished keeps its report), so a re-run can take
 * over. A timed-out or stopped execution that had not opened its run yet gets it recorded failed,
 * so an open still in flight finds it ended. Idempotent: a repeated event changes nothing.
 */
export const handler = stage(ExecutionEnded, async ({ detail }) => {
  const workflow = workflowOf(detail.stateMachineArn);
  if (!workflow) {
    logger.warn('execution of a state machine that runs no workflow; nothing to end', { stateMachineArn: detail.stateMachineArn });
    return { ended: [], untouched: [] };
  }
  const runs = new RunRepository();
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
  if (ended.length > 0) logger.warn('runs marked failed: their execution ended before them', { runIds: ended, workflow, status: detail.status });
  return { ended, untouched };
});
