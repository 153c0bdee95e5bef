import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { stage } from '../commons/handler.ts';

const Input = z.object({ runId: z.string().min(1), startedAt: z.string(), requestedBy: z.string(), input: z.record(z.string(), z.unknown()) });

export const handler = stage(Input, async ({ runId, startedAt, requestedBy, input }) => {
  await new RunRepository().open({ runId, workflow: 'ReconcileRefunds', startedAt, requestedBy, input });
  return { opened: runId };
});
