import * as z from 'zod';
import { bookOrder } from '../../lib/adapters/dynamodb/cancellations.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { planCancellation } from '../../lib/core/cancellation.ts';
import { ConflictError } from '../../lib/core/errors.ts';
import { succeededReport } from '../../lib/core/report.ts';
import { bookingLine, tallyBooking } from '../../lib/core/booking.ts';
import { bookingCrashPoints } from '../commons/bookings.ts';
import { crashPoint } from '../commons/chaos.ts';
import { stage } from '../commons/handler.ts';
import { CancelTicketsInput } from './validate.ts';

const Input = z.object({ runId: z.string(), startedAt: z.string(), input: CancelTicketsInput });
const WORKFLOW = 'CancelTickets';

/** 2. Books the cancellation (one transaction, or in parts for a group order) and records the run. A retry of the same execution reports what it booked. */
export const handler = stage(Input, async ({ runId, startedAt, input }) => {
  const runs = new RunRepository();
  await runs.open({ runId, workflow: WORKFLOW, startedAt, requestedBy: input.requestedBy, input });
  const booking = await bookOrder(
    input.orderId,
    ({ order }) => ({
      kind: 'cancellation',
      plan: planCancellation(order, {
        ticketIds: input.ticketIds,
        refundFees: input.refundFees ?? false,
        reason: 'cancellation',
        ...(input.allocationOrder ? { allocation: { order: input.allocationOrder } } : {}),
      }),
    }),
    { runId, at: new Date().toISOString(), requestedBy: input.requestedBy, note: input.reason, salesChannel: input.salesChannel, pointOfSale: input.pointOfSale },
    bookingCrashPoints(),
  );
  crashPoint('cancelTickets.afterBooking');
  await runs.log(runId, 'order', [bookingLine(booking)]);
  // Tickets cancelled by a booking another run left half-way and this run finished: the job is done.
  const finished = booking.finishedForOtherRuns?.at(-1);
  if (booking.outcome === 'nothing_to_do' && !finished) throw new ConflictError(`ticketIds: the tickets were cancelled meanwhile by another run; nothing was booked`);
  const report = succeededReport({ runId, workflow: WORKFLOW, startedAt, requestedBy: input.requestedBy, input }, tallyBooking({}, booking), {
    orderId: input.orderId,
    cancellationId: booking.cancellationId ?? finished?.cancellationId,
    ...(booking.finishedForOtherRuns ? { finishedForOtherRuns: booking.finishedForOtherRuns } : {}),
  });
  await runs.finish(runId, 'succeeded', report);
  return report;
});
