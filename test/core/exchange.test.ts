import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyExchange, planExchange, replacementTicketId, ticketsLeftAlone } from '../../lib/core/exchange.ts';
import { ConflictError, MoneyRuleError } from '../../lib/core/errors.ts';
import type { Order, Ticket, TicketState } from '../../lib/core/model.ts';
import { applyCancellation, planCancellation } from '../../lib/core/cancellation.ts';
import { currencyArb, orderArb, orderOf as anOrder, ticketOf } from './arbitraries.ts';

const BOOKING = { salesChannel: 'box_office', pointOfSale: 'stadium' };
const ticket = (id: string, amount: number, currency = 'CHF', extra: Partial<Ticket> = {}): Ticket => ticketOf(id, { amount, currency }, { seat: `Block C, row 3, seat ${id}`, ...extra });
/** The tickets paid in full by card, `refunded` of it already refunded. */
const orderOf = (tickets: Ticket[], currency = 'CHF', refunded = 0): Order => {
  const total = tickets.reduce((s, t) => s + t.price.amount, 0);
  return anOrder({ tickets, payments: [{ id: 'PAY1', method: 'card', amount: { amount: total, currency }, refunded: { amount: refunded, currency }, pspTransactionId: 'tx1' }] });
};

describe('planExchange', () => {
  it('seed 003: a controlled 100.00 ticket at 60 % becomes a controlled 40.00 ticket and a 60.00 pending refund', () => {
    // prepare
    const o = orderOf([ticket('T1', 10000, 'CHF', { state: 'controlled' })]);
    // act
    const plan = planExchange(o, 'P1', 6000, BOOKING);
    const after = applyExchange(o, plan, '2026-07-12T21:00:00Z');
    // assess
    expect(plan.refundTotal).toEqual({ amount: 6000, currency: 'CHF' });
    expect(plan.allocations).toEqual([{ paymentId: 'PAY1', method: 'card', amount: { amount: 6000, currency: 'CHF' }, destination: 'pending_refund' }]);
    expect(after.tickets).toEqual([
      { ...o.tickets[0], state: 'cancelled', replacedByTicketId: 'T1-X', cancelledAt: '2026-07-12T21:00:00Z' },
      { ...o.tickets[0], id: 'T1-X', price: { amount: 4000, currency: 'CHF' }, state: 'controlled', replacesTicketId: 'T1', replacedByTicketId: null, cancelledAt: null },
    ]);
    expect(after.payments[0]?.refunded).toEqual({ amount: 6000, currency: 'CHF' });
  });

  it('exchanges only valid/controlled tickets of the performance not issued by an exchange', () => {
    const o = orderOf([
      ticket('T1', 1000),
      ticket('T2', 1000, 'CHF', { performanceId: 'P2' }),
      ticket('T3', 1000, 'CHF', { state: 'cancelled' }),
      ticket('T4', 1000, 'CHF', { replacesTicketId: 'T0' }),
    ]);
    expect(planExchange(o, 'P1', 5000, BOOKING).exchanges.map((e) => e.old.id)).toEqual(['T1']);
  });

  it('rounds half up and caps the total by what is left paid', () => {
    const o = orderOf([ticket('T1', 333), ticket('T2', 333)], 'CHF', 500);
    const plan = planExchange(o, 'P1', 5000, BOOKING);
    expect(plan.exchanges.map((e) => [e.refund.amount, e.replacement.price.amount])).toEqual([
      [167, 166],
      [167, 166],
    ]);
    expect(plan.refundTotal.amount).toBe(166); // 666 paid - 500 refunded
  });

  it('refuses percents outside ]0, 100[ and stale plans', () => {
    const o = orderOf([ticket('T1', 1000)]);
    for (const bad of [0, 10000, -1, 12.5]) expect(() => planExchange(o, 'P1', bad, BOOKING)).toThrow(MoneyRuleError);
    const plan = planExchange(o, 'P1', 5000, BOOKING);
    expect(() => applyExchange(applyExchange(o, plan), plan)).toThrow(ConflictError);
  });

  it('derives the replacement id deterministically', () => {
    expect(replacementTicketId('T1')).toBe(replacementTicketId('T1'));
    expect(replacementTicketId('T1')).not.toBe(replacementTicketId('T2'));
  });

  it('splits every price exactly, keeps the state, and exchanges nothing the second time', () => {
    const caseArb = currencyArb.chain((currency) =>
      fc.record({
        currency: fc.constant(currency),
        tickets: fc.array(fc.record({ price: fc.integer({ min: 0, max: 100_000_000 }), state: fc.constantFrom<TicketState>('valid', 'controlled', 'cancelled') }), { minLength: 1, maxLength: 8 }),
        percent: fc.integer({ min: 1, max: 9999 }),
      }),
    );
    fc.assert(
      fc.property(caseArb, ({ currency, tickets, percent }) => {
        // prepare
        const o = orderOf(tickets.map((t, i) => ticket(`T${i + 1}`, t.price, currency, { state: t.state })), currency);
        // act
        const plan = planExchange(o, 'P1', percent, BOOKING);
        const after = applyExchange(o, plan);
        const again = planExchange(after, 'P1', percent, BOOKING);
        // assess
        expect(plan.exchanges.length).toBe(tickets.filter((t) => t.state !== 'cancelled').length);
        for (const { old, replacement, refund } of plan.exchanges) {
          expect(refund.amount + replacement.price.amount).toBe(old.price.amount);
          expect(refund.amount).toBeGreaterThanOrEqual(0);
          expect(replacement.price.amount).toBeGreaterThanOrEqual(0);
          expect(Number.isSafeInteger(refund.amount)).toBe(true);
          expect(replacement.state).toBe(old.state);
          expect(replacement).toMatchObject({ performanceId: old.performanceId, quota: old.quota, seatCategory: old.seatCategory, productFamily: old.productFamily, seat: old.seat, replacesTicketId: old.id });
        }
        const sumRefunds = plan.exchanges.reduce((s, e) => s + e.refund.amount, 0);
        expect(plan.refundTotal.amount).toBe(sumRefunds); // the order paid every live ticket in full
        expect(plan.allocations.reduce((s, a) => s + a.amount.amount, 0)).toBe(plan.refundTotal.amount);
        expect(after.payments[0]!.refunded.amount).toBeLessThanOrEqual(after.payments[0]!.amount.amount);
        expect(again.exchanges).toEqual([]);
        expect(again.refundTotal.amount).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('mixed with cancellations, never refunds more than captured per payment or paid per order', () => {
    const stepArb = fc.oneof(
      fc.record({ kind: fc.constant('exchange' as const), performanceId: fc.constantFrom('P1', 'P2'), percent: fc.integer({ min: 1, max: 9999 }) }),
      fc.record({ kind: fc.constant('cancel' as const), ids: fc.array(fc.constantFrom('T1', 'T2', 'T3', 'T1-X', 'T2-X', 'T3-X')), refundFees: fc.boolean() }),
    );
    fc.assert(
      fc.property(orderArb, fc.array(stepArb, { maxLength: 6 }), (o, steps) => {
        let current = o;
        for (const step of steps) {
          current =
            step.kind === 'exchange'
              ? applyExchange(current, planExchange(current, step.performanceId, step.percent, BOOKING))
              : applyCancellation(current, planCancellation(current, { ticketIds: step.ids, refundFees: step.refundFees, reason: 'cancellation' }), 'now');
          for (const p of current.payments) expect(p.refunded.amount).toBeLessThanOrEqual(p.amount.amount);
        }
        const paid = o.payments.reduce((s, p) => s + p.amount.amount, 0);
        expect(current.payments.reduce((s, p) => s + p.refunded.amount, 0)).toBeLessThanOrEqual(paid);
        // every replacement exists once at most
        const ids = current.tickets.map((t) => t.id);
        expect(new Set(ids).size).toBe(ids.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('tickets an exchange run leaves alone', () => {
  it('counts tickets cancelled before and those another run exchanged, never its own, nor other performances', () => {
    // prepare
    const order = orderOf([
      ticket('T1', 5000, 'CHF', { state: 'cancelled' }),
      ticket('T2', 4000, 'CHF', { state: 'cancelled', replacedByTicketId: 'T2-R', cancelledByRun: 'other-run' } as Partial<Ticket>),
      ticket('T3', 3000, 'CHF', { state: 'cancelled', replacedByTicketId: 'T3-R', cancelledByRun: 'this-run' } as Partial<Ticket>),
      ticket('T4', 2000, 'CHF', { state: 'cancelled', performanceId: 'P2' }),
      ticket('T5', 1000),
    ]);
    // act
    const left = ticketsLeftAlone(order, 'P1', 'this-run');
    // assess
    expect(left).toEqual({
      tickets_skipped_cancelled: { count: 1, totals: { CHF: 5000 } },
      tickets_skipped_already_exchanged: { count: 1, totals: { CHF: 4000 } },
    });
  });
});
