import * as z from 'zod';
import { VoucherRepository } from '../../lib/adapters/dynamodb/vouchers.ts';
import { ConflictError, NotFoundError } from '../../lib/core/errors.ts';
import { parseInput, stage } from '../commons/handler.ts';
import { ExecutionFacts, LookupId, RequestedBy } from '../commons/run-input.ts';

export const ReverseWriteOffInput = z.strictObject({
  code: LookupId,
  reason: z.string().trim().min(1, 'must say why the write-off is undone').max(2000),
  requestedBy: RequestedBy,
});

/** 1. Validates the console input and that the code is written off. Writes nothing. */
export const handler = stage(z.object({ input: z.unknown(), execution: ExecutionFacts }), async ({ input, execution }) => {
  const parsed = parseInput(ReverseWriteOffInput, input);
  const voucher = await new VoucherRepository().get(parsed.code);
  if (!voucher) throw new NotFoundError(`code: no voucher or ticket "${parsed.code}"`);
  if (!voucher.writtenOff) throw new ConflictError(`code: "${parsed.code}" is not written off; nothing to reverse`);
  return { runId: execution.executionName, startedAt: execution.startedAt, input: parsed, writeOffRunId: voucher.writtenOff.runId };
});
