import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { stage } from '../commons/handler.ts';

const Input = z.object({ workflow: z.string(), runId: z.string(), startedAt: z.string(), input: z.object({ requestedBy: z.string() }).passthrough() });

/** 2. Opens the run record (a retried open keeps the first). */
export const handler = stage(Input, async ({ workflow, runId, startedAt, input }) => {
  const run = await new RunRepository().open({ runId, workflow, startedAt, requestedBy: input.requestedBy, input });
  return { opened: run.status === 'running' };
});
