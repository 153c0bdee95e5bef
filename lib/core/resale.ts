import { allocateRefund, type AllocationOptions } from './allocation.ts';
import { orderCurrency, planCancellation, refundableOnOrder, type CancellationPlan } from './cancellation.ts';
import { MoneyRuleError } from './errors.ts';
import { money } from './money.ts';
import type { Order, Resale } from './model.ts';

/**
 * A resale payout (DOMAIN.md workflow 4, last paragraph): the resold ticket is cancelled in the
 * seller's order, so no later cancellation refunds the seller again, and the payout (not the
 * ticket's price) becomes the seller's refund, capped by what the order can still give back and
 * drawn on its payments like a cancellation's. Fees stay with the operator.
 */
export function planResale(order: Order, resale: Resale, allocation?: AllocationOptions): CancellationPlan {
  const base = planCancellation(order, { ticketIds: [resale.ticketId], refundFees: false, reason: 'resale', ...(allocation ? { allocation } : {}) });
  if (base.nothingToDo) return base;
  const currency = orderCurrency(order);
  if (resale.payout.currency !== currency) throw new MoneyRuleError(`resale ${resale.id}: payout in ${resale.payout.currency}, order ${order.id} in ${currency}`);
  if (resale.payout.amount < 0 || resale.payout.amount > base.ticketValue.amount) {
    throw new MoneyRuleError(`resale ${resale.id}: payout ${resale.payout.amount} must be between 0 and the ticket's price ${base.ticketValue.amount}`);
  }
  const refundTotal = money(Math.min(resale.payout.amount, refundableOnOrder(order).amount), currency);
  const { allocations, shortfall } = allocateRefund(order.payments, refundTotal, allocation);
  if (shortfall.amount !== 0) throw new MoneyRuleError(`order ${order.id}: payments cannot cover the resale payout (short by ${shortfall.amount} ${currency})`);
  return { ...base, refundTotal, allocations };
}
