import * as z from 'zod';
import { claimPartialRefund } from '../../lib/adapters/dynamodb/partial-refunds.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { stage } from '../commons/handler.ts';

const Input = z.object({
  workflow: z.string(),
  runId: z.string(),
  startedAt: z.string(),
  percentHundredths: z.number().int(),
  input: z.object({ requestedBy: z.string(), performanceId: z.string() }).passthrough(),
});

/**
 * 2. Opens the run record, then claims the performance for it (conditional). In this order the
 * claim always names a run that exists, so when this execution ends without finishing, its run is
 * marked failed and a re-run can take the claim over; a refused claim fails this run, not another.
 */
export const handler = stage(Input, async ({ workflow, runId, startedAt, percentHundredths, input }) => {
  const run = await new RunRepository().open({ runId, workflow, startedAt, requestedBy: input.requestedBy, input });
  await claimPartialRefund(input.performanceId, runId, percentHundredths, startedAt);
  return { opened: run.status === 'running' };
});
