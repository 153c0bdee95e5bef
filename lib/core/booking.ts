/**
 * One order's booking as a run reports it: what was booked (tickets, refunds, amounts) or why not,
 * the run's tallies in the report's words and the run-log line (ids and amounts only).
 */
import type { BookingPlan } from './booking-parts.ts';
import type { TicketSkip } from './cancellation.ts';
import type { Money } from './money.ts';
import type { PaymentMethod } from './model.ts';
import { tally, type Tallies } from './report.ts';

export interface BookedTicket {
  id: string;
  price: Money;
  replacementId?: string;
  newPrice?: Money;
}

export interface BookedRefund {
  id: string;
  paymentId: string;
  method: PaymentMethod;
  amount: Money;
  status: 'pending' | 'returned_to_account';
}

/** A booking in parts another run had started and this run finished before planning its own. */
export interface FinishedForOtherRun {
  cancellationId: string;
  runId: string;
}

export interface OrderBooking {
  orderId: string;
  /**
   * booked: written now; replayed: this run had already booked it (a retried page), reported again;
   * nothing_to_do: nothing left to cancel; refused: not booked, for the reason in `error` (bad
   * data, a booking in parts that cannot go on); the run lists it under its errors.
   */
  outcome: 'booked' | 'replayed' | 'nothing_to_do' | 'refused';
  kind?: BookingPlan['kind'];
  cancellationId?: string;
  tickets: BookedTicket[];
  skipped: TicketSkip[];
  refunds: BookedRefund[];
  refundTotal?: Money;
  feeValue?: Money;
  error?: string;
  /** Transactions of a booking in parts (claim and parts); absent for a one-transaction booking. */
  transactions?: number;
  finishedForOtherRuns?: FinishedForOtherRun[];
  attempts: number;
}

/** Outcomes of one order's booking, in the report's words. */
export function tallyBooking(t: Tallies, b: OrderBooking): Tallies {
  let out = t;
  if (b.outcome === 'booked' || b.outcome === 'replayed') {
    const exchange = b.kind === 'exchange';
    for (const ticket of b.tickets) {
      out = tally(out, exchange ? 'tickets_exchanged' : 'tickets_cancelled', ticket.price);
      if (exchange && ticket.newPrice) out = tally(out, 'replacement_tickets', ticket.newPrice);
    }
    if (b.refundTotal) out = tally(out, exchange ? 'orders_exchanged' : 'orders_cancelled', b.refundTotal);
    if (b.feeValue && b.feeValue.amount > 0) out = tally(out, 'fees_refunded', b.feeValue);
    for (const r of b.refunds) out = tally(out, r.status === 'pending' ? 'pending_refunds' : 'returned_to_account', r.amount);
    if (b.transactions) out = tally(out, 'orders_booked_in_parts', undefined);
  }
  for (const s of b.skipped) {
    if (s.reason === 'already_cancelled') out = tally(out, 'tickets_skipped_already_cancelled');
  }
  if (b.outcome === 'nothing_to_do' && b.skipped.length > 0) out = tally(out, 'orders_skipped_already_cancelled');
  if (b.outcome === 'refused') out = tally(out, 'orders_refused');
  if (b.finishedForOtherRuns) out = tally(out, 'bookings_finished_for_other_runs', undefined, b.finishedForOtherRuns.length);
  return out;
}

/** One run-log line per order: ids and amounts only. */
export function bookingLine(b: OrderBooking): string {
  const m = (x: { amount: number; currency: string }) => `${x.amount} ${x.currency}`;
  const finished = b.finishedForOtherRuns?.length ? ` (first finished ${b.finishedForOtherRuns.map((f) => `booking ${f.cancellationId} of run ${f.runId}`).join(', ')})` : '';
  if (b.outcome === 'refused') return `${b.orderId} NOT BOOKED: ${b.error}`;
  if (b.outcome === 'nothing_to_do') return `${b.orderId} skipped: nothing to cancel${finished}${b.skipped.length ? ` (${b.skipped.map((s) => `${s.ticketId} ${s.reason}`).join(', ')})` : ''}`;
  const tickets = b.tickets.map((t) => (t.replacementId ? `${t.id} ${m(t.price)} -> ${t.replacementId} ${m(t.newPrice!)}` : `${t.id} ${m(t.price)}`)).join(', ');
  const refunds = b.refunds.map((r) => `${r.id} ${r.method} ${m(r.amount)} ${r.status}`).join(', ');
  const inParts = b.transactions ? ` (in ${b.transactions} transactions)` : '';
  return `${b.orderId} ${b.cancellationId}${b.outcome === 'replayed' ? ' (already booked by this run)' : ''}${inParts}${finished}: ${b.kind === 'exchange' ? 'exchanged' : 'cancelled'} ${tickets}; refund ${b.refundTotal ? m(b.refundTotal) : '0'}${refunds ? `: ${refunds}` : ''}`;
}
