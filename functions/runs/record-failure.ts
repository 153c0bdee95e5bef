import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { lambdaErrorMessage } from '../../lib/core/errors.ts';
import { failedRunReport } from '../../lib/core/run-end.ts';
import { crashPoint } from '../commons/chaos.ts';
import { stage } from '../commons/handler.ts';
import { logger } from '../commons/powertools.ts';

const Input = z.object({
  workflow: z.string(),
  runId: z.string().nullish(),
  error: z.object({ Error: z.string(), Cause: z.string().nullish() }),
});

/** Marks a run failed with the error that stopped it; the execution then fails with the same error. */
export const handler = stage(Input, async (input) => {
  const message = lambdaErrorMessage(input.error.Cause);
  logger.error('run failed', { workflow: input.workflow, errorName: input.error.Error });
  if (!input.runId) return { recorded: false };
  // Recording can fail too (store unreachable): the run's end then comes from the execution's status change (run-ended.ts).
  crashPoint('recordFailure.beforeWrite');
  const runs = new RunRepository();
  const run = await runs.get(input.runId);
  if (!run) return { recorded: false };
  await runs.finish(run.runId, 'failed', failedRunReport(run, { code: input.error.Error, message }, new Date().toISOString()));
  return { recorded: true };
});
