import * as z from 'zod';
import { CheckpointRepository } from '../../lib/adapters/dynamodb/checkpoints.ts';
import { passGate } from '../../lib/services/runs/checkpoint.ts';
import { stage } from '../commons/handler.ts';
import { logger } from '../commons/powertools.ts';
import { Continuation } from '../commons/paging.ts';

const Input = z.object({
  workflow: z.string().min(1),
  execution: z.object({ name: z.string().min(1) }),
  /** Where the next execution starts (a state name), and, after a Map, which fields hold its shards. */
  gate: z.object({
    resumeAt: z.string().min(1),
    shards: z.object({ items: z.string().min(1), results: z.string().min(1), key: z.enum(['shard', 'segment']) }).optional(),
  }),
  state: z.looseObject({ runId: z.string().min(1), continuation: Continuation.optional() }),
});

/** After a Map over shards (or a SendEmails batch that paused): the run goes on here or, checkpointed, in the next execution (lib/services/runs/checkpoint.ts). */
export const handler = stage(Input, async ({ workflow, execution, gate, state }) =>
  passGate(
    { checkpoints: new CheckpointRepository(), continuing: (facts) => logger.info('run continues in a new execution', facts) },
    { workflow, executionName: execution.name, gate, state },
  ),
);
