import * as z from 'zod';
import { ValidationError } from '../../lib/core/errors.ts';
import { VOUCHER_KINDS, type VoucherKind } from '../../lib/core/model.ts';
import { writeOffRequestIssues } from '../../lib/core/write-off.ts';
import { parseInput } from '../commons/handler.ts';
import { LookupId, RequestedBy } from '../commons/run-input.ts';

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
