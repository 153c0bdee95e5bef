import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refundableOn } from '../../lib/core/allocation.ts';
import { refundableOnOrder } from '../../lib/core/cancellation.ts';
import { MoneyRuleError } from '../../lib/core/errors.ts';
import type { Order } from '../../lib/core/model.ts';
import { planResale } from '../../lib/core/resale.ts';
import { orderArb, orderOf, ticketOf } from './arbitraries.ts';

const order: Order = orderOf({
  tickets: [ticketOf('T1', { amount: 10000, currency: 'CHF' }), ticketOf('T2', { amount: 10000, currency: 'CHF' })],
  fees: [{ id: 'F1', kind: 'service_fee', amount: { amount: 300, currency: 'CHF' } }],
  payments: [{ id: 'PAY1', method: 'card', amount: { amount: 20300, currency: 'CHF' }, pspTransactionId: '1', refunded: { amount: 0, currency: 'CHF' } }],
});

describe('planResale', () => {
  it('cancels the resold ticket and refunds the payout, not the price, fees kept', () => {
    // act
    const plan = planResale(order, { id: 'RS1', ticketId: 'T2', sellerOrderId: 'O1', payout: { amount: 9000, currency: 'CHF' }, resoldAt: '2026-06-01T09:00:00Z' });
    // assess
    expect(plan.cancel.map((t) => t.id)).toEqual(['T2']);
    expect(plan.reason).toBe('resale');
    expect(plan.refundTotal).toEqual({ amount: 9000, currency: 'CHF' });
    expect(plan.allocations).toEqual([{ paymentId: 'PAY1', method: 'card', amount: { amount: 9000, currency: 'CHF' }, destination: 'pending_refund' }]);
    expect(plan.refundsFees).toBe(false);
  });

  it('plans nothing for a ticket already cancelled, and refuses a payout above the price', () => {
    const cancelled = { ...order, tickets: order.tickets.map((t) => (t.id === 'T2' ? { ...t, state: 'cancelled' as const } : t)) };
    expect(planResale(cancelled, { id: 'RS1', ticketId: 'T2', sellerOrderId: 'O1', payout: { amount: 9000, currency: 'CHF' }, resoldAt: 'x' }).nothingToDo).toBe(true);
    expect(() => planResale(order, { id: 'RS1', ticketId: 'T2', sellerOrderId: 'O1', payout: { amount: 10001, currency: 'CHF' }, resoldAt: 'x' })).toThrow(MoneyRuleError);
  });

  it('never refunds more than the payout, what the order has left, or a payment can give back', () => {
    fc.assert(
      fc.property(orderArb, fc.nat(), fc.integer({ min: 0, max: 100 }), (o, pick, share) => {
        const ticket = o.tickets[pick % o.tickets.length]!;
        const payout = Math.floor((ticket.price.amount * share) / 100);
        const plan = planResale(o, { id: 'RS', ticketId: ticket.id, sellerOrderId: o.id, payout: { amount: payout, currency: ticket.price.currency }, resoldAt: 'x' });
        if (ticket.state === 'cancelled') return plan.nothingToDo;
        const allocated = plan.allocations.reduce((s, a) => s + a.amount.amount, 0);
        expect(allocated).toBe(plan.refundTotal.amount);
        expect(plan.refundTotal.amount).toBe(Math.min(payout, refundableOnOrder(o).amount));
        for (const a of plan.allocations) {
          expect(Number.isSafeInteger(a.amount.amount)).toBe(true);
          expect(a.amount.amount).toBeLessThanOrEqual(refundableOn(o.payments.find((p) => p.id === a.paymentId)!));
        }
        return true;
      }),
    );
  });
});
