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

/** 2. Claims the performance for this partial refund (conditional), then opens the run record. */
export const handler = stage(Input, async ({ workflow, runId, startedAt, percentHundredths, input }) => {
  await claimPartialRefund(input.performanceId, runId, percentHundredths, startedAt);
  const run = await new RunRepository().open({ runId, workflow, startedAt, requestedBy: input.requestedBy, input });
  return { opened: run.status === 'running' };
});
