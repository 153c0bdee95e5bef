import { bookingLine, tallyBooking } from '../../core/booking.ts';
import { operatorCancellation, planCancellation } from '../../core/cancellation.ts';
import { ConflictError } from '../../core/errors.ts';
import type { PaymentMethod } from '../../core/model.ts';
import { succeededReport, type RunReport } from '../../core/report.ts';
import type { OrderPorts } from './ports.ts';

export const CANCEL_TICKETS_WORKFLOW = 'CancelTickets';

/** CancelTickets' input (functions/cancel-tickets/validate.ts parses it). */
export interface CancelTicketsRequest {
  orderId: string;
  ticketIds: string[];
  reason: string;
  requestedBy: string;
  salesChannel: string;
  pointOfSale: string;
  refundFees?: boolean | undefined;
  allocationOrder?: readonly PaymentMethod[] | undefined;
}

/**
 * Books the box office's cancellation (one transaction, or in parts for a group order) and
 * records the run. A retry of the same execution reports what it booked.
 */
export async function cancelTickets(ports: OrderPorts, run: { runId: string; startedAt: string; input: CancelTicketsRequest }): Promise<RunReport> {
  const { runId, startedAt, input } = run;
  await ports.runs.open({ runId, workflow: CANCEL_TICKETS_WORKFLOW, startedAt, requestedBy: input.requestedBy, input });
  const booking = await ports.bookOrder(
    input.orderId,
    ({ order }) => ({ kind: 'cancellation', plan: planCancellation(order, operatorCancellation(input.ticketIds, input)) }),
    { runId, at: new Date().toISOString(), requestedBy: input.requestedBy, note: input.reason, salesChannel: input.salesChannel, pointOfSale: input.pointOfSale },
    ports.bookingOptions,
  );
  ports.crash('cancelTickets.afterBooking');
  await ports.runs.log(runId, 'order', [bookingLine(booking)]);
  // Tickets cancelled by a booking another run left half-way and this run finished: the job is done.
  const finished = booking.finishedForOtherRuns?.at(-1);
  if (booking.outcome === 'nothing_to_do' && !finished) throw new ConflictError(`ticketIds: the tickets were cancelled meanwhile by another run; nothing was booked`);
  const report = succeededReport({ runId, workflow: CANCEL_TICKETS_WORKFLOW, startedAt, requestedBy: input.requestedBy, input }, tallyBooking({}, booking), {
    orderId: input.orderId,
    cancellationId: booking.cancellationId ?? finished?.cancellationId,
    ...(booking.finishedForOtherRuns ? { finishedForOtherRuns: booking.finishedForOtherRuns } : {}),
  });
  await ports.runs.finish(runId, 'succeeded', report);
  return report;
}
