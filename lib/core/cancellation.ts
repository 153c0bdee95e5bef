import { allocateRefund, type Allocation, type AllocationOptions } from './allocation.ts';
import { ConflictError, MoneyRuleError, type FieldIssue } from './errors.ts';
import { money, sum, type Money } from './money.ts';
import type { Order, PaymentMethod, RefundReason, Ticket } from './model.ts';

/**
 * The rule of cancelling tickets of one order (DOMAIN.md workflows 1 and 2), in one place:
 * - only valid or controlled tickets named by the request are cancelled;
 * - the refund is the value of those tickets, plus the order's fees when asked and not
 *   refunded before (fees are refunded once per order, together with a cancellation);
 * - capped by what the order paid minus what was already refunded on it, so an order that
 *   keeps other tickets never gets back more than the cancelled tickets are worth;
 * - drawn on the payments by allocateRefund (pending refund, or back to an unsettled
 *   intermediate account).
 * Simulation and the real run both call planCancellation; only the real run writes the plan.
 */
export interface CancellationRequest {
  ticketIds: readonly string[];
  refundFees: boolean;
  reason: RefundReason;
  allocation?: AllocationOptions;
}

/** An operator's cancellation of these tickets: fees kept unless asked, the payments drawn in the order given (else the default). */
export function operatorCancellation(ticketIds: readonly string[], opts: { refundFees?: boolean; allocationOrder?: readonly PaymentMethod[] }): CancellationRequest {
  return {
    ticketIds,
    refundFees: opts.refundFees ?? false,
    reason: 'cancellation',
    ...(opts.allocationOrder ? { allocation: { order: opts.allocationOrder } } : {}),
  };
}

/**
 * Why a box-office cancellation cannot take these tickets: a ticket not in the order, or already
 * cancelled. A ticket cancelled by the booking in parts still holding the order (`openRunId`, its
 * run stopped half-way) is not refused: the booking is finished first.
 */
export function ticketsToCancelIssues(order: Order, ticketIds: readonly string[], openRunId: string | undefined): FieldIssue[] {
  const byId = new Map(order.tickets.map((t) => [t.id, t]));
  const issues: FieldIssue[] = [];
  ticketIds.forEach((id, i) => {
    const t = byId.get(id);
    if (!t) issues.push({ field: `ticketIds[${i}]`, reason: `ticket "${id}" is not in order "${order.id}" (its tickets: ${[...byId.keys()].join(', ')})` });
    else if (t.state === 'cancelled' && (openRunId === undefined || (t as { cancelledByRun?: string }).cancelledByRun !== openRunId)) {
      const by = (t as { cancelledByRun?: string }).cancelledByRun;
      issues.push({ field: `ticketIds[${i}]`, reason: `ticket "${id}" is already cancelled${by ? ` (by run ${by}${t.cancelledAt ? ` at ${t.cancelledAt}` : ''})` : ''}` });
    }
  });
  return issues;
}

export interface TicketSkip {
  ticketId: string;
  reason: 'already_cancelled' | 'not_in_order';
}

export interface CancellationPlan {
  orderId: string;
  reason: RefundReason;
  cancel: Ticket[];
  skipped: TicketSkip[];
  ticketValue: Money;
  feeValue: Money;
  refundTotal: Money;
  allocations: Allocation[];
  refundsFees: boolean;
  nothingToDo: boolean;
}

const CANCELLABLE: ReadonlySet<Ticket['state']> = new Set(['valid', 'controlled']);

export function isCancellable(t: Ticket): boolean {
  return CANCELLABLE.has(t.state);
}

/** The one currency of an order; an order mixing currencies breaks a money rule. */
export function orderCurrency(order: Order): string {
  const all = [...order.tickets.map((t) => t.price), ...order.fees.map((f) => f.amount), ...order.payments.flatMap((p) => [p.amount, p.refunded])];
  const currencies = new Set(all.map((m) => m.currency));
  const [currency] = currencies;
  if (currencies.size !== 1 || currency === undefined) {
    throw new MoneyRuleError(`order ${order.id} must have exactly one currency, has ${currencies.size ? [...currencies].join(', ') : 'none'}`);
  }
  return currency;
}

/** What the order paid minus what was refunded on it: the most any further refund may be. */
export function refundableOnOrder(order: Order): Money {
  const currency = orderCurrency(order);
  const paid = sum(order.payments.map((p) => p.amount), currency).amount;
  const refunded = sum(order.payments.map((p) => p.refunded), currency).amount;
  return money(Math.max(0, paid - refunded), currency);
}

export function planCancellation(order: Order, req: CancellationRequest): CancellationPlan {
  const currency = orderCurrency(order);
  const byId = new Map(order.tickets.map((t) => [t.id, t]));
  const cancel: Ticket[] = [];
  const skipped: TicketSkip[] = [];
  for (const ticketId of new Set(req.ticketIds)) {
    const t = byId.get(ticketId);
    if (!t) skipped.push({ ticketId, reason: 'not_in_order' });
    else if (!isCancellable(t)) skipped.push({ ticketId, reason: 'already_cancelled' });
    else cancel.push(t);
  }

  const nothingToDo = cancel.length === 0;
  const refundsFees = !nothingToDo && req.refundFees && order.feesRefunded !== true && order.fees.length > 0;
  const ticketValue = sum(cancel.map((t) => t.price), currency);
  const feeValue = refundsFees ? sum(order.fees.map((f) => f.amount), currency) : money(0, currency);
  const cap = refundableOnOrder(order);
  const refundTotal = money(Math.min(ticketValue.amount + feeValue.amount, cap.amount), currency);

  const { allocations, shortfall } = allocateRefund(order.payments, refundTotal, req.allocation);
  // The cap above is never more than the payments can give back; a shortfall means corrupt data.
  if (shortfall.amount !== 0) throw new MoneyRuleError(`order ${order.id}: payments cannot cover the refund (short by ${shortfall.amount} ${currency})`);

  return { orderId: order.id, reason: req.reason, cancel, skipped, ticketValue, feeValue, refundTotal, allocations, refundsFees, nothingToDo };
}

/** The order after the plan is booked: tickets cancelled, refunds drawn on the payments. */
export function applyCancellation(order: Order, plan: CancellationPlan, at: string): Order {
  if (plan.orderId !== order.id) throw new MoneyRuleError(`plan for order ${plan.orderId} applied to order ${order.id}`);
  const cancelled = new Set(plan.cancel.map((t) => t.id));
  const present = order.tickets.filter((t) => cancelled.has(t.id) && isCancellable(t));
  // A stale plan would draw money a second time: refuse it, re-plan instead.
  if (present.length !== cancelled.size) throw new ConflictError(`order ${order.id} changed since the plan: a ticket to cancel is missing or already cancelled`);
  return {
    ...order,
    tickets: order.tickets.map((t) => (cancelled.has(t.id) ? { ...t, state: 'cancelled', cancelledAt: at } : t)),
    payments: drawOnPayments(order, plan.allocations),
    feesRefunded: order.feesRefunded === true || plan.refundsFees,
  };
}

/** Payments with each allocation added to what they refunded; refuses to exceed a capture. */
export function drawOnPayments(order: Order, allocations: readonly Allocation[]): Order['payments'] {
  return order.payments.map((p) => {
    const drawn = allocations.filter((a) => a.paymentId === p.id).reduce((s, a) => s + a.amount.amount, 0);
    if (drawn === 0) return p;
    const refunded = p.refunded.amount + drawn;
    if (refunded > p.amount.amount) throw new MoneyRuleError(`payment ${p.id} of order ${order.id} would refund ${refunded} of ${p.amount.amount} captured`);
    return { ...p, refunded: money(refunded, p.refunded.currency) };
  });
}

// ---- Selection of a mass cancellation (CancelPerformance) ----

export interface TicketFilter {
  performanceId: string;
  quotas?: readonly string[];
  seatCategories?: readonly string[];
  productFamilies?: readonly string[];
  /** Ticket field `tariff`; a ticket without one matches no tariff filter. */
  tariffs?: readonly string[];
  /** The order's sales channel. */
  salesChannels?: readonly string[];
  /** The order's payment methods: an order matches when any of its payments used a listed method. */
  paymentMethods?: readonly string[];
}

export type FilterField = 'quotas' | 'seatCategories' | 'productFamilies' | 'tariffs' | 'salesChannels' | 'paymentMethods';
export const FILTER_FIELDS: readonly FilterField[] = ['quotas', 'seatCategories', 'productFamilies', 'tariffs', 'salesChannels', 'paymentMethods'];

export type ExistingFilterValues = Record<FilterField, ReadonlySet<string>>;

/** The values a ticket (in its order) has for each filter. */
function valuesOf(order: Order, t: Ticket): Record<FilterField, readonly string[]> {
  return {
    quotas: [t.quota],
    seatCategories: [t.seatCategory],
    productFamilies: [t.productFamily],
    tariffs: t.tariff ? [t.tariff] : [],
    salesChannels: [order.salesChannel],
    paymentMethods: order.payments.map((p) => p.method),
  };
}

/**
 * Tickets of the order that match the filter, whatever their state (planCancellation skips
 * the cancelled ones). AND across filters, OR within one; an omitted filter does not restrict,
 * an empty list matches nothing (validateFilterValues refuses it before).
 */
export function selectTickets(order: Order, filter: TicketFilter): Ticket[] {
  return order.tickets.filter((t) => {
    if (t.performanceId !== filter.performanceId) return false;
    const values = valuesOf(order, t);
    return FILTER_FIELDS.every((f) => {
      const wanted = filter[f];
      return wanted === undefined || values[f].some((v) => wanted.includes(v));
    });
  });
}

/** One issue per filter naming values the performance does not have, and those it has. */
export function validateFilterValues(filter: TicketFilter, existing: ExistingFilterValues): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const field of FILTER_FIELDS) {
    const values = filter[field];
    if (values === undefined) continue;
    const known = [...existing[field]].sort();
    const list = known.length ? known.join(', ') : '(none)';
    if (values.length === 0) {
      issues.push({ field, reason: `must list at least one value or be omitted; existing: ${list}` });
      continue;
    }
    const unknown = [...new Set(values)].filter((v) => !existing[field].has(v));
    if (unknown.length) issues.push({ field, reason: `unknown ${unknown.map((v) => JSON.stringify(v)).join(', ')}; existing: ${list}` });
  }
  return issues;
}
