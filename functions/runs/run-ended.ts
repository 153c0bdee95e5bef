import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { UNFINISHED_EXECUTION_STATUSES, WORKFLOWS_BY_STATE_MACHINE_ENV } from '../../lib/core/run-end.ts';
import { endRunsOfExecution } from '../../lib/services/runs/run-ended.ts';
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

/** An execution ended FAILED, TIMED_OUT or ABORTED: the runs it left running are marked failed (lib/services/runs/run-ended.ts). */
export const handler = stage(ExecutionEnded, async ({ detail }) => {
  const list = WorkflowsByStateMachine.parse(JSON.parse(process.env[WORKFLOWS_BY_STATE_MACHINE_ENV] ?? '[]'));
  const workflow = list.find((m) => m.stateMachineArn === detail.stateMachineArn)?.workflow;
  if (!workflow) {
    logger.warn('execution of a state machine that runs no workflow; nothing to end', { stateMachineArn: detail.stateMachineArn });
    return { ended: [], untouched: [] };
  }
  const result = await endRunsOfExecution(new RunRepository(), detail, workflow);
  if (result.ended.length > 0) logger.warn('runs marked failed: their execution ended before them', { runIds: result.ended, workflow, status: detail.status });
  return result;
});
