import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { stage } from '../commons/handler.ts';
import { WORKFLOW } from './shared.ts';

const Input = z.object({ runId: z.string().min(1), startedAt: z.string(), requestedBy: z.string(), input: z.record(z.string(), z.unknown()) });

/** Opens the run record (the simulation's or the real run's); a retried start keeps the first. */
export const handler = stage(Input, async ({ runId, startedAt, requestedBy, input }) => {
  await new RunRepository().open({ runId, workflow: WORKFLOW, startedAt, requestedBy, input });
  return { opened: runId };
});
