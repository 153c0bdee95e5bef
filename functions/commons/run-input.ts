import * as z from 'zod';
import { ID_MAX_LENGTH } from '../../lib/core/import-schema.ts';

/** Execution facts the first state passes along with the console input. */
export const ExecutionFacts = z.object({
  executionName: z.string().min(1),
  startedAt: z.string().min(1),
});

/**
 * The first state of every workflow: `{input: <console input>, execution: {...}}`. The run id is
 * the execution name, so a run and its execution are found by the same id.
 */
export function firstStateInput<S extends z.ZodType>(schema: S) {
  return z.object({ input: schema, execution: ExecutionFacts });
}

export const RequestedBy = z.string().trim().min(1, 'must name who asked for the run').max(200);

/**
 * An id the first state looks up (refund, order, performance, code, run): as long as an imported
 * id at most, so an absurd one is a ValidationError naming the field, not DynamoDB's key-size
 * ValidationException, and no error message echoes a huge value.
 */
export const LookupId = z.string().trim().min(1).max(ID_MAX_LENGTH);
