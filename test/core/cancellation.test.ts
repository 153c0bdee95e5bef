import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyCancellation, planCancellation, refundableOnOrder, operatorCancellation, selectTickets, ticketsToCancelIssues, validateFilterValues, type CancellationRequest } from '../../lib/core/cancellation.ts';
import { ConflictError, MoneyRuleError } from '../../lib/core/errors.ts';
import type { Order, Ticket } from '../../lib/core/model.ts';
import { orderArb, orderOf, ticketOf } from './arbitraries.ts';

const chf = (amount: number) => ({ amount, currency: 'CHF' });
const ticket = (id: string, amount: number, extra: Partial<Ticket> = {}): Ticket => ticketOf(id, chf(amount), extra);
const order = (extra: Partial<Order> = {}): Order =>
  orderOf({
    tickets: [ticket('T1', 10000), ticket('T2', 10000, { state: 'controlled', quota: 'season', seatCategory: 'B' }), ticket('T3', 5000, { state: 'cancelled' })],
    fees: [{ id: 'F1', kind: 'service_fee', amount: chf(300) }],
    payments: [{ id: 'PAY1', method: 'card', amount: chf(25300), refunded: chf(5000), pspTransactionId: 'tx1' }],
    ...extra,
  });
const req = (ticketIds: string[], refundFees = true): CancellationRequest => ({ ticketIds, refundFees, reason: 'cancellation' });
const AT = '2026-07-12T20:00:00Z';

describe('planCancellation', () => {
  it('refunds the cancelled tickets plus the fees once, as a pending refund on the card', () => {
    // prepare
    const o = order();
    // act
    const first = planCancellation(o, req(['T1']));
    const afterFirst = applyCancellation(o, first, AT);
    const second = planCancellation(afterFirst, req(['T2']));
    // assess
    expect(first.cancel.map((t) => t.id)).toEqual(['T1']);
    expect(first.refundTotal).toEqual(chf(10300));
    expect(first.allocations).toEqual([{ paymentId: 'PAY1', method: 'card', amount: chf(10300), destination: 'pending_refund' }]);
    expect(afterFirst.feesRefunded).toBe(true);
    expect(afterFirst.tickets.find((t) => t.id === 'T1')).toMatchObject({ state: 'cancelled', cancelledAt: AT });
    expect(second.feeValue).toEqual(chf(0));
    expect(second.refundTotal).toEqual(chf(10000));
    expect(applyCancellation(afterFirst, second, AT).payments[0]?.refunded).toEqual(chf(25300));
  });

  it('skips tickets already cancelled or not in the order and then has nothing to do', () => {
    const plan = planCancellation(order(), req(['T3', 'T9', 'T3']));
    expect(plan.skipped).toEqual([
      { ticketId: 'T3', reason: 'already_cancelled' },
      { ticketId: 'T9', reason: 'not_in_order' },
    ]);
    expect(plan.nothingToDo).toBe(true);
    expect(plan.refundsFees).toBe(false);
    expect(plan.refundTotal).toEqual(chf(0));
    expect(plan.allocations).toEqual([]);
  });

  it('never refunds more than what is left paid on the order', () => {
    // a goodwill refund earlier left only 6000 refundable
    const o = order({ payments: [{ id: 'PAY1', method: 'card', amount: chf(25300), refunded: chf(19300) }] });
    const plan = planCancellation(o, req(['T1']));
    expect(plan.ticketValue).toEqual(chf(10000));
    expect(plan.refundTotal).toEqual(chf(6000));
  });

  it("returns an agency's unsettled on-account money to its intermediate account", () => {
    const o = order({
      customerId: null,
      agencyId: 'AG1',
      payments: [
        { id: 'IA', method: 'intermediate_account', settled: false, amount: chf(20300), refunded: chf(0) },
        { id: 'CARD', method: 'card', amount: chf(5000), refunded: chf(5000) },
      ],
    });
    const plan = planCancellation(o, req(['T1', 'T2'], false));
    expect(plan.allocations).toEqual([{ paymentId: 'IA', method: 'intermediate_account', amount: chf(20000), destination: 'intermediate_account' }]);
  });

  it('refuses to apply a stale plan twice (money would be drawn again)', () => {
    const o = order();
    const plan = planCancellation(o, req(['T1']));
    const once = applyCancellation(o, plan, AT);
    expect(() => applyCancellation(once, plan, AT)).toThrow(ConflictError);
  });

  it('refuses an order that mixes currencies', () => {
    const o = order({ fees: [{ id: 'F1', kind: 'service_fee', amount: { amount: 300, currency: 'EUR' } }] });
    expect(() => planCancellation(o, req(['T1']))).toThrow(MoneyRuleError);
  });

  it('refund total = min(value (+fees when asked), paid - refunded), fully allocated', () => {
    fc.assert(
      fc.property(orderArb, fc.array(fc.constantFrom('T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'TX')), fc.boolean(), (o, ids, refundFees) => {
        const plan = planCancellation(o, req(ids, refundFees));
        const value = plan.cancel.reduce((s, t) => s + t.price.amount, 0);
        const fees = refundFees && plan.cancel.length > 0 ? o.fees.reduce((s, f) => s + f.amount.amount, 0) : 0;
        const paid = o.payments.reduce((s, p) => s + p.amount.amount, 0);
        const refunded = o.payments.reduce((s, p) => s + p.refunded.amount, 0);
        expect(plan.cancel.every((t) => t.state !== 'cancelled')).toBe(true);
        expect(plan.refundTotal.amount).toBe(Math.min(value + fees, paid - refunded));
        expect(plan.allocations.reduce((s, a) => s + a.amount.amount, 0)).toBe(plan.refundTotal.amount);
      }),
      { numRuns: 400 },
    );
  });

  it('cancelling the same tickets twice plans nothing and no money the second time', () => {
    fc.assert(
      fc.property(orderArb, fc.array(fc.constantFrom('T1', 'T2', 'T3', 'T4', 'T5', 'T6')), fc.boolean(), (o, ids, refundFees) => {
        const once = applyCancellation(o, planCancellation(o, req(ids, refundFees)), AT);
        const again = planCancellation(once, req(ids, true));
        expect(again.nothingToDo).toBe(true);
        expect(again.cancel).toEqual([]);
        expect(again.refundTotal.amount).toBe(0);
        expect(again.allocations).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('any sequence of cancellations keeps refunds within each payment and within the order', () => {
    const stepArb = fc.record({ ids: fc.array(fc.constantFrom('T1', 'T2', 'T3', 'T4', 'T5', 'T6')), refundFees: fc.boolean() });
    fc.assert(
      fc.property(orderArb, fc.array(stepArb, { maxLength: 6 }), (o, steps) => {
        let current = o;
        let refundedInSteps = 0;
        let valueCancelled = 0;
        for (const step of steps) {
          const plan = planCancellation(current, req(step.ids, step.refundFees));
          refundedInSteps += plan.refundTotal.amount;
          valueCancelled += plan.ticketValue.amount + plan.feeValue.amount;
          current = applyCancellation(current, plan, AT);
          for (const p of current.payments) expect(p.refunded.amount).toBeLessThanOrEqual(p.amount.amount);
        }
        const paid = o.payments.reduce((s, p) => s + p.amount.amount, 0);
        const refundedBefore = o.payments.reduce((s, p) => s + p.refunded.amount, 0);
        const refundedAfter = current.payments.reduce((s, p) => s + p.refunded.amount, 0);
        expect(refundedAfter).toBe(refundedBefore + refundedInSteps);
        expect(refundedAfter).toBeLessThanOrEqual(paid);
        expect(refundedInSteps).toBeLessThanOrEqual(valueCancelled); // never more than the cancelled tickets (and fees) are worth
        expect(refundableOnOrder(current).amount).toBe(paid - refundedAfter);
      }),
      { numRuns: 300 },
    );
  });
});

describe('selectTickets and validateFilterValues', () => {
  const o = order({
    tickets: [
      ticket('A1', 1, { quota: 'public', seatCategory: 'A' }),
      ticket('A2', 1, { quota: 'sponsor', seatCategory: 'A' }),
      ticket('B1', 1, { quota: 'public', seatCategory: 'B', productFamily: 'season' }),
      ticket('C1', 1, { quota: 'season', seatCategory: 'C' }),
      ticket('X1', 1, { performanceId: 'P2' }),
    ],
  });
  const ids = (ts: Ticket[]) => ts.map((t) => t.id);

  it('ANDs across filters and ORs within one', () => {
    expect(ids(selectTickets(o, { performanceId: 'P1' }))).toEqual(['A1', 'A2', 'B1', 'C1']);
    expect(ids(selectTickets(o, { performanceId: 'P1', quotas: ['public', 'sponsor'] }))).toEqual(['A1', 'A2', 'B1']);
    expect(ids(selectTickets(o, { performanceId: 'P1', quotas: ['public', 'sponsor'], seatCategories: ['A'] }))).toEqual(['A1', 'A2']);
    expect(ids(selectTickets(o, { performanceId: 'P1', productFamilies: ['single_entry'], seatCategories: ['B', 'C'] }))).toEqual(['C1']);
    expect(ids(selectTickets(o, { performanceId: 'P1', quotas: [] }))).toEqual([]);
  });

  it('filters on tariff (ticket), sales channel and payment methods (order), with the same AND/OR rules', () => {
    const withTariffs = order({
      tickets: [ticket('A', 1, { tariff: 'adult' }), ticket('C', 1, { tariff: 'child' }), ticket('N', 1)],
      payments: [
        { id: 'PAY1', method: 'card', amount: chf(2), refunded: chf(0), pspTransactionId: 'tx' },
        { id: 'PAY2', method: 'voucher', amount: chf(1), refunded: chf(0) },
      ],
    });
    expect(ids(selectTickets(withTariffs, { performanceId: 'P1', tariffs: ['child', 'senior'] }))).toEqual(['C']);
    expect(ids(selectTickets(withTariffs, { performanceId: 'P1', tariffs: ['adult', 'child'] }))).toEqual(['A', 'C']); // no tariff: never matches a tariff filter
    expect(ids(selectTickets(withTariffs, { performanceId: 'P1', salesChannels: ['box_office'] }))).toEqual([]);
    expect(ids(selectTickets(withTariffs, { performanceId: 'P1', salesChannels: ['box_office', 'web'], tariffs: ['adult'] }))).toEqual(['A']);
    // any payment of the order counts: OR within the list, AND with the other filters
    expect(ids(selectTickets(withTariffs, { performanceId: 'P1', paymentMethods: ['voucher'] }))).toEqual(['A', 'C', 'N']);
    expect(ids(selectTickets(withTariffs, { performanceId: 'P1', paymentMethods: ['klarna'] }))).toEqual([]);
    expect(ids(selectTickets(withTariffs, { performanceId: 'P1', paymentMethods: ['klarna', 'card'], tariffs: ['child'] }))).toEqual(['C']);
  });

  it('names unknown values and lists those that exist', () => {
    const none = new Set<string>();
    const existing = { quotas: new Set(['sponsor', 'public']), seatCategories: new Set(['A']), productFamilies: none, tariffs: new Set(['adult', 'child']), salesChannels: new Set(['web']), paymentMethods: new Set(['card']) };
    expect(validateFilterValues({ performanceId: 'P1', quotas: ['public'], tariffs: ['child'], salesChannels: ['web'], paymentMethods: ['card'] }, existing)).toEqual([]);
    expect(validateFilterValues({ performanceId: 'P1', quotas: ['vip', 'public', 'vip'], seatCategories: [], productFamilies: ['x'] }, existing)).toEqual([
      { field: 'quotas', reason: 'unknown "vip"; existing: public, sponsor' },
      { field: 'seatCategories', reason: 'must list at least one value or be omitted; existing: A' },
      { field: 'productFamilies', reason: 'unknown "x"; existing: (none)' },
    ]);
    expect(validateFilterValues({ performanceId: 'P1', tariffs: ['senior'], salesChannels: [], paymentMethods: ['klarna', 'card'] }, existing)).toEqual([
      { field: 'tariffs', reason: 'unknown "senior"; existing: adult, child' },
      { field: 'salesChannels', reason: 'must list at least one value or be omitted; existing: web' },
      { field: 'paymentMethods', reason: 'unknown "klarna"; existing: card' },
    ]);
  });

  it('selects exactly the tickets whose every given filter lists one of their values (property)', () => {
    const pick: fc.Arbitrary<string> = fc.constantFrom('a', 'b', 'c');
    fc.assert(
      fc.property(
        fc.array(fc.record({ quota: pick, tariff: fc.option(pick, { nil: undefined }), performanceId: fc.constantFrom('P1', 'P2') }), { minLength: 1, maxLength: 8 }),
        pick,
        fc.array(fc.constantFrom('card', 'klarna', 'voucher') as fc.Arbitrary<'card' | 'klarna' | 'voucher'>, { minLength: 1, maxLength: 3 }),
        fc.record({ quotas: fc.option(fc.array(pick, { maxLength: 3 }), { nil: undefined }), tariffs: fc.option(fc.array(pick, { maxLength: 3 }), { nil: undefined }), salesChannels: fc.option(fc.array(pick, { maxLength: 3 }), { nil: undefined }), paymentMethods: fc.option(fc.array(fc.constantFrom('card', 'klarna', 'voucher'), { maxLength: 3 }), { nil: undefined }) }),
        (specs, channel, methods, f) => {
          const o = order({
            salesChannel: channel,
            tickets: specs.map((x, i) => ticket(`T${i}`, 1, { quota: x.quota, performanceId: x.performanceId, ...(x.tariff ? { tariff: x.tariff } : {}) })),
            payments: methods.map((m, i) => ({ id: `PAY${i}`, method: m, amount: chf(1), refunded: chf(0) })),
          });
          const filter = Object.fromEntries(Object.entries({ performanceId: 'P1', ...f }).filter(([, v]) => v !== undefined)) as unknown as Parameters<typeof selectTickets>[1];
          const selected = new Set(ids(selectTickets(o, filter)));
          for (const t of o.tickets) {
            const expected =
              t.performanceId === 'P1' &&
              (f.quotas === undefined || f.quotas.includes(t.quota)) &&
              (f.tariffs === undefined || (t.tariff !== undefined && f.tariffs.includes(t.tariff as string))) &&
              (f.salesChannels === undefined || f.salesChannels.includes(channel)) &&
              (f.paymentMethods === undefined || methods.some((m) => f.paymentMethods!.includes(m)));
            expect(selected.has(t.id)).toBe(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("a box office's cancellation request", () => {
  it('keeps fees and the default draw order unless asked', () => {
    // act / assess
    expect(operatorCancellation(['T1'], {})).toEqual({ ticketIds: ['T1'], refundFees: false, reason: 'cancellation' });
    expect(operatorCancellation(['T1'], { refundFees: true, allocationOrder: ['voucher', 'card'] })).toEqual({
      ticketIds: ['T1'],
      refundFees: true,
      reason: 'cancellation',
      allocation: { order: ['voucher', 'card'] },
    });
  });

  it('names tickets not in the order and tickets already cancelled, except those of the booking still holding the order', () => {
    // prepare
    const o = order({ tickets: [ticket('T1', 100), ticket('T2', 100, { state: 'cancelled', cancelledAt: '2026-07-01T10:00:00Z', cancelledByRun: 'run-a' } as Partial<Ticket>)] });
    // act
    const refused = ticketsToCancelIssues(o, ['T1', 'T9', 'T2'], undefined);
    const heldByRunA = ticketsToCancelIssues(o, ['T2'], 'run-a');
    // assess
    expect(refused).toEqual([
      { field: 'ticketIds[1]', reason: 'ticket "T9" is not in order "O1" (its tickets: T1, T2)' },
      { field: 'ticketIds[2]', reason: 'ticket "T2" is already cancelled (by run run-a at 2026-07-01T10:00:00Z)' },
    ]);
    expect(heldByRunA).toEqual([]);
  });
});
