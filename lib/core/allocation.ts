import { MoneyRuleError } from './errors.ts';
import { money, type Money } from './money.ts';
import { REFUNDABLE_TO_SOURCE, type Payment, type PaymentMethod } from './model.ts';

/**
 * How a refund amount is drawn on an order's payments (the rule of seeds 000/001/004):
 * 1. A payment gives back at most what it captured minus what was already refunded on it.
 * 2. Payments are drawn in priority order: by default those refundable to source through the
 *    PSP (card, Amazon Pay) first, then the others, each group in the order's payment order.
 * 3. Money paid on an agency's unsettled intermediate account goes straight back to that
 *    account (its open item shrinks); everything else becomes a pending refund.
 */
export interface AllocationOptions {
  /** Preferred method order; methods not listed follow, in the order's payment order. */
  order?: readonly PaymentMethod[];
}

export interface Allocation {
  paymentId: string;
  method: PaymentMethod;
  amount: Money;
  destination: 'pending_refund' | 'intermediate_account';
}

export interface AllocationResult {
  allocations: Allocation[];
  allocated: Money;
  /** Part of the request no payment could cover (0 when the payments suffice). */
  shortfall: Money;
}

/** What a payment can still give back: captured minus refunded, never negative. */
export function refundableOn(p: Payment): number {
  return Math.max(0, p.amount.amount - p.refunded.amount);
}

/** Payments in the order they are drawn on (stable: ties keep the order's payment order). */
export function paymentsInDrawOrder(payments: readonly Payment[], opts: AllocationOptions = {}): Payment[] {
  const rank = (m: PaymentMethod): number => {
    if (opts.order) {
      const i = opts.order.indexOf(m);
      return i === -1 ? opts.order.length : i;
    }
    return REFUNDABLE_TO_SOURCE.has(m) ? 0 : 1;
  };
  return payments
    .map((p, index) => ({ p, index, rank: rank(p.method) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((x) => x.p);
}

export function destinationOf(p: Payment): Allocation['destination'] {
  return p.method === 'intermediate_account' && p.settled !== true ? 'intermediate_account' : 'pending_refund';
}

export function allocateRefund(payments: readonly Payment[], requested: Money, opts: AllocationOptions = {}): AllocationResult {
  const currency = requested.currency;
  money(requested.amount, currency); // integer and known currency
  if (requested.amount < 0) throw new MoneyRuleError(`refund request must not be negative, got ${requested.amount} ${currency}`);
  for (const p of payments) {
    if (p.amount.currency !== currency || p.refunded.currency !== currency) {
      throw new MoneyRuleError(`payment ${p.id} is in ${p.amount.currency}/${p.refunded.currency}, refund in ${currency}`);
    }
    money(p.amount.amount, currency);
    money(p.refunded.amount, currency);
  }

  let left = requested.amount;
  const allocations: Allocation[] = [];
  for (const p of paymentsInDrawOrder(payments, opts)) {
    if (left === 0) break;
    const take = Math.min(left, refundableOn(p));
    if (take === 0) continue;
    allocations.push({ paymentId: p.id, method: p.method, amount: money(take, currency), destination: destinationOf(p) });
    left -= take;
  }
  return { allocations, allocated: money(requested.amount - left, currency), shortfall: money(left, currency) };
}
