import * as z from 'zod';
import { VoucherRepository } from '../../lib/adapters/dynamodb/vouchers.ts';
import { ValidationError } from '../../lib/core/errors.ts';
import { unknownCodeIssues } from '../../lib/core/write-off.ts';
import { stage } from '../commons/handler.ts';
import { ExecutionFacts } from '../commons/run-input.ts';
import { parseWriteOffInput } from './input.ts';

/** Parallel scan segments of the vouchers table: one inline Map iteration each (MaxConcurrency ≤ 16). */
export const WRITE_OFF_SEGMENTS = 16;

/** 1. Validates the console input (named codes must exist). Writes nothing. */
export const handler = stage(z.object({ input: z.unknown(), execution: ExecutionFacts }), async ({ input, execution }) => {
  const parsed = parseWriteOffInput(input);
  if (parsed.codes) {
    const unknown = unknownCodeIssues(parsed.codes, await new VoucherRepository().existingCodes(parsed.codes));
    if (unknown.length) throw new ValidationError(unknown);
  }
  return {
    runId: execution.executionName,
    startedAt: execution.startedAt,
    input: parsed,
    totalSegments: WRITE_OFF_SEGMENTS,
    segments: Array.from({ length: WRITE_OFF_SEGMENTS }, (_, i) => i),
  };
});
