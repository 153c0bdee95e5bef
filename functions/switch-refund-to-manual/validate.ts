import * as z from 'zod';
import { RefundRepository } from '../../lib/adapters/dynamodb/refunds.ts';
import { ConflictError, NotFoundError } from '../../lib/core/errors.ts';
import { parseInput, stage } from '../commons/handler.ts';
import { ExecutionFacts, LookupId, RequestedBy } from '../commons/run-input.ts';

export const SwitchToManualInput = z.strictObject({
  refundId: LookupId,
  method: z.enum(['cash', 'bank_transfer', 'other']),
  note: z.string().trim().min(1, 'must say why the refund leaves the automated process').max(2000),
  requestedBy: RequestedBy,
});

/** Validates the console input and that the refund can still be switched. Writes nothing. */
export const handler = stage(z.object({ input: z.unknown(), execution: ExecutionFacts }), async ({ input, execution }) => {
  const parsed = parseInput(SwitchToManualInput, input);
  const refund = await new RefundRepository().get(parsed.refundId);
  if (!refund) throw new NotFoundError(`refundId: no refund "${parsed.refundId}"`);
  if (refund.status !== 'pending' && refund.status !== 'failed') {
    throw new ConflictError(`refundId: refund "${parsed.refundId}" is ${refund.status}; only a pending or failed refund can be switched to manual`);
  }
  return { runId: execution.executionName, startedAt: execution.startedAt, input: parsed, expectedVersion: refund.version };
});
