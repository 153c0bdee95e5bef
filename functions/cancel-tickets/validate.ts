import * as z from 'zod';
import { OrderRepository } from '../../lib/adapters/dynamodb/orders.ts';
import { ticketsToCancelIssues } from '../../lib/core/cancellation.ts';
import { NotFoundError, ValidationError } from '../../lib/core/errors.ts';
import { AllocationOrder } from '../commons/bookings.ts';
import { parseInput, stage } from '../commons/handler.ts';
import { ExecutionFacts, LookupId, RequestedBy } from '../commons/run-input.ts';

export const CancelTicketsInput = z.strictObject({
  orderId: LookupId,
  ticketIds: z
    .array(z.string().trim().min(1))
    .min(1, 'must name at least one ticket')
    .refine((ids) => new Set(ids).size === ids.length, 'must not name a ticket twice'),
  reason: z.string().trim().min(1, 'must say why the tickets are cancelled').max(500),
  requestedBy: RequestedBy,
  salesChannel: z.string().trim().min(1),
  pointOfSale: z.string().trim().min(1),
  refundFees: z.boolean().optional(),
  allocationOrder: AllocationOrder,
});
export type CancelTicketsInput = z.infer<typeof CancelTicketsInput>;

/** 1. Validates the box-office cancellation against the order: every ticket in it and still valid or controlled. Writes nothing. */
export const handler = stage(z.object({ input: z.unknown(), execution: ExecutionFacts }), async ({ input, execution }) => {
  const parsed = parseInput(CancelTicketsInput, input);
  const stored = await new OrderRepository().get(parsed.orderId);
  if (!stored) throw new NotFoundError(`orderId: no order "${parsed.orderId}"`);
  // A booking in parts still holding the order (its run stopped half-way) is finished by apply first: its tickets are not refused here.
  const issues = ticketsToCancelIssues(stored.order, parsed.ticketIds, stored.header.booking?.runId);
  if (issues.length) throw new ValidationError(issues);
  return { runId: execution.executionName, startedAt: execution.startedAt, input: parsed };
});
