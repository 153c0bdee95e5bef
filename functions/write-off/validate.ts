import * as z from 'zod';
import { VoucherRepository } from '../../lib/adapters/dynamodb/vouchers.ts';
import { ValidationError } from '../../lib/core/errors.ts';
import { VOUCHER_KINDS, type VoucherKind } from '../../lib/core/model.ts';
import { unknownCodeIssues, writeOffRequestIssues } from '../../lib/core/write-off.ts';
import { parseInput, stage } from '../commons/handler.ts';
import { ExecutionFacts, LookupId, RequestedBy } from '../commons/run-input.ts';

/** Parallel scan segments of the vouchers table: one inline Map iteration each (MaxConcurrency ≤ 16). */
export const WRITE_OFF_SEGMENTS = 16;

/** The console input of WriteOff (CONTRACT.md). Kinds are checked by the core rule, which names gift cards. */
export const WriteOffInput = z.strictObject({
  issuedUpTo: z.string().optional(),
  expiredBefore: z.string().optional(),
  kinds: z.array(z.string()).min(1, 'give at least one kind, or leave kinds out for all but gift_card').optional(),
  /** Extension: only these codes; a code whose write-off was reversed is written off again only when named here. */
  codes: z.array(LookupId).optional(),
  simulate: z.boolean().default(true),
  comment: z.string().trim().max(2000).optional(),
  requestedBy: RequestedBy,
});
/** The input as later stages receive it: already validated, kinds typed. */
export const ValidatedWriteOffInput = WriteOffInput.extend({ kinds: z.array(z.enum(VOUCHER_KINDS)).optional() });
export type WriteOffInput = z.output<typeof ValidatedWriteOffInput>;

/** Whole-input validation: shape, dates (valid calendar dates, not after today), kinds, comment. */
export function parseWriteOffInput(raw: unknown, today = new Date().toISOString().slice(0, 10)): WriteOffInput {
  const input = parseInput(WriteOffInput, raw);
  const issues = writeOffRequestIssues({ ...input, kinds: input.kinds as VoucherKind[] | undefined }, today);
  if (issues.length) throw new ValidationError(issues);
  return input as WriteOffInput;
}

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
