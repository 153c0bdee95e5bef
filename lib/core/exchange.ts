import { allocateRefund, type Allocation, type AllocationOptions } from './allocation.ts';
import { drawOnPayments, isCancellable, orderCurrency, refundableOnOrder } from './cancellation.ts';
import { ConflictError, MoneyRuleError } from './errors.ts';
import { money, percentOf, type Money } from './money.ts';
import type { Order, Ticket } from './model.ts';
import { tally, type Tallies } from './report.ts';

/**
 * Partial refund of an interrupted performance (seed 003, DOMAIN.md workflow 3):
 * every valid or controlled ticket of the performance is exchanged for a cheaper one.
 * - refund = price x percent / 100, rounded half up to the minor unit (CONTRACT.md);
 * - the replacement costs old price - refund (so refund + new price = old price exactly),
 *   keeps the old ticket's state (a scanned ticket stays scanned), seat, quota and category;
 * - a ticket issued by an exchange is never exchanged again, so a re-run does nothing twice;
 * - the refund total is capped by what the order paid minus what was refunded, and drawn
 *   on the payments like a cancellation's.
 */
export interface TicketExchange {
  old: Ticket;
  replacement: Ticket;
  refund: Money;
}

export interface ExchangePlan {
  orderId: string;
  performanceId: string;
  percentHundredths: number;
  /** Where the exchange is booked (seed 003: sales channel and point of sale of the run). */
  booking: { salesChannel: string; pointOfSale: string };
  exchanges: TicketExchange[];
  refundTotal: Money;
  allocations: Allocation[];
}

/** Deterministic: the same old ticket always yields the same replacement id. */
export function replacementTicketId(oldTicketId: string): string {
  return `${oldTicketId}-X`;
}

export function isExchangeable(t: Ticket, performanceId: string, order: Order): boolean {
  return exchangeableIn(new Set(order.tickets.map((x) => x.id)), performanceId)(t);
}

/** The test over a set of the order's ticket ids, built once: a group order has thousands of tickets. */
function exchangeableIn(ticketIds: ReadonlySet<string>, performanceId: string): (t: Ticket) => boolean {
  return (t) =>
    t.performanceId === performanceId &&
    isCancellable(t) &&
    !t.replacesTicketId &&
    !t.replacedByTicketId &&
    !ticketIds.has(replacementTicketId(t.id)); // a replacement already issued
}

export function planExchange(
  order: Order,
  performanceId: string,
  percentHundredths: number,
  booking: { salesChannel: string; pointOfSale: string },
  allocation?: AllocationOptions,
): ExchangePlan {
  if (!Number.isSafeInteger(percentHundredths) || percentHundredths <= 0 || percentHundredths >= 10000) {
    throw new MoneyRuleError(`partial refund percent must be > 0 and < 100 (in hundredths 1..9999), got ${percentHundredths}`);
  }
  const currency = orderCurrency(order);
  const exchanges = order.tickets
    .filter(exchangeableIn(new Set(order.tickets.map((t) => t.id)), performanceId))
    .map((old): TicketExchange => {
      const refund = money(percentOf(old.price.amount, percentHundredths), old.price.currency);
      const replacement: Ticket = {
        ...old,
        id: replacementTicketId(old.id),
        price: money(old.price.amount - refund.amount, old.price.currency),
        replacesTicketId: old.id,
        replacedByTicketId: null,
        cancelledAt: null,
      };
      return { old, replacement, refund };
    });

  const wanted = exchanges.reduce((s, e) => s + e.refund.amount, 0);
  const refundTotal = money(Math.min(wanted, refundableOnOrder(order).amount), currency);
  const { allocations, shortfall } = allocateRefund(order.payments, refundTotal, allocation);
  if (shortfall.amount !== 0) throw new MoneyRuleError(`order ${order.id}: payments cannot cover the partial refund (short by ${shortfall.amount} ${currency})`);
  return { orderId: order.id, performanceId, percentHundredths, booking, exchanges, refundTotal, allocations };
}

/** The order after the exchange is booked; `at` stamps the old tickets' cancellation. */
export function applyExchange(order: Order, plan: ExchangePlan, at?: string): Order {
  if (plan.orderId !== order.id) throw new MoneyRuleError(`plan for order ${plan.orderId} applied to order ${order.id}`);
  const byOld = new Map(plan.exchanges.map((e) => [e.old.id, e]));
  const exchangeable = exchangeableIn(new Set(order.tickets.map((t) => t.id)), plan.performanceId);
  const tickets = order.tickets.flatMap((t) => {
    const e = byOld.get(t.id);
    if (!e) return [t];
    // A stale plan would draw money a second time: refuse it, re-plan instead.
    if (!exchangeable(t)) throw new ConflictError(`ticket ${t.id} of order ${order.id} was already exchanged or cancelled`);
    const old: Ticket = { ...t, state: 'cancelled', replacedByTicketId: e.replacement.id, cancelledAt: at ?? null };
    return [old, e.replacement];
  });
  return { ...order, tickets, payments: drawOnPayments(order, plan.allocations) };
}

/**
 * Tickets of the performance an exchange run leaves alone, in the report's words: cancelled
 * before (`tickets_skipped_cancelled`), or exchanged by another run (`tickets_skipped_already_exchanged`).
 */
export function ticketsLeftAlone(order: Order, performanceId: string, runId: string): Tallies {
  let t: Tallies = {};
  for (const ticket of order.tickets) {
    if (ticket.performanceId !== performanceId || ticket.state !== 'cancelled') continue;
    const byRun = (ticket as { cancelledByRun?: string }).cancelledByRun;
    if (ticket.replacedByTicketId) {
      if (byRun !== runId) t = tally(t, 'tickets_skipped_already_exchanged', ticket.price);
    } else t = tally(t, 'tickets_skipped_cancelled', ticket.price);
  }
  return t;
}
