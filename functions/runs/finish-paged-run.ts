import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { finishPagedRun } from '../../lib/services/bookings/finish.ts';
import { ShardResult } from '../commons/bookings.ts';
import { stage } from '../commons/handler.ts';

const Input = z.object({
  workflow: z.string(),
  runId: z.string(),
  startedAt: z.string(),
  input: z.object({ requestedBy: z.string(), performanceId: z.string().optional() }).passthrough(),
  shardResults: z.array(ShardResult),
});

/** Last state of a paged workflow: sums the shards' tallies into the run report and finishes the run. */
export const handler = stage(Input, async ({ workflow, runId, startedAt, input, shardResults }) =>
  finishPagedRun(new RunRepository(), { workflow, runId, startedAt, requestedBy: input.requestedBy, input, shardResults, ...(input.performanceId ? { extra: { performanceId: input.performanceId } } : {}) }),
);
