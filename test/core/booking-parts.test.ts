import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refundableOn } from '../../lib/core/allocation.ts';
import {
  BOOKING_COSTS,
  BOOKING_LIMITS,
  jsonBytes,
  packInOrder,
  partActions,
  singleTransactionActions,
  splitBooking,
  type BookingLimits,
  type BookingPart,
  type BookingPlan,
  type MoneyPart,
  type TicketsPart,
} from '../../lib/core/booking-parts.ts';
import { applyCancellation, drawOnPayments, planCancellation } from '../../lib/core/cancellation.ts';
import { applyExchange, planExchange } from '../../lib/core/exchange.ts';
import { PAYMENT_METHODS, type Order, type Payment, type Ticket, type TicketState } from '../../lib/core/model.ts';
import { orderOf, ticketOf } from './arbitraries.ts';

/**
 * A group order: up to 2,500 tickets (some already cancelled, their money kept by the order),
 * fees, and 1..25 payments of any method that pay it all.
 */
interface GroupOrderShape {
  tickets: number;
  seed: number;
  fees: number;
  methods: Payment['method'][];
  settled: boolean;
  refundedShare: number;
}

function groupOrder({ tickets: n, seed, fees, methods, settled, refundedShare }: GroupOrderShape): Order {
    const states: TicketState[] = ['valid', 'valid', 'valid', 'controlled', 'cancelled'];
    const tickets: Ticket[] = Array.from({ length: n }, (_, i) =>
      ticketOf(`T${i + 1}`, { amount: ((i * 7919 + seed) % 20_000) + 1, currency: 'CHF' }, {
        orderId: 'G1',
        performanceId: (i + seed) % 9 === 0 ? 'P2' : 'P1',
        state: states[(i * 31 + seed) % states.length] as TicketState,
      }),
    );
    const total = tickets.reduce((s, t) => s + t.price.amount, 0) + fees;
    const share = Math.floor(total / methods.length);
    const payments: Payment[] = methods.map((method, i) => {
      const amount = i === methods.length - 1 ? total - share * (methods.length - 1) : share;
      return {
        id: `PAY${i + 1}`,
        method,
        amount: { amount, currency: 'CHF' },
        // Some money already went back earlier: the caps must hold on what is left.
        refunded: { amount: Math.floor((amount * refundedShare) / 100), currency: 'CHF' },
        ...(method === 'intermediate_account' ? { settled } : {}),
        ...(method === 'card' || method === 'amazon_pay' ? { pspTransactionId: `tx${i}` } : {}),
      };
    });
    return orderOf({ id: 'G1', tickets, fees: fees ? [{ id: 'F1', kind: 'service_fee', amount: { amount: fees, currency: 'CHF' } }] : [], payments });
}

const groupOrderArb: fc.Arbitrary<Order> = fc
  .record({
    tickets: fc.integer({ min: 1, max: 2500 }),
    seed: fc.integer({ min: 0, max: 1_000_000 }),
    fees: fc.integer({ min: 0, max: 500_000 }),
    methods: fc.array(fc.constantFrom(...PAYMENT_METHODS), { minLength: 1, maxLength: 25, size: 'max' }),
    settled: fc.boolean(),
    refundedShare: fc.integer({ min: 0, max: 30 }),
  })
  .map(groupOrder);
const smallOrderArb = fc
  .record({ tickets: fc.integer({ min: 1, max: 120 }), seed: fc.nat(), fees: fc.integer({ min: 0, max: 50_000 }), methods: fc.array(fc.constantFrom(...PAYMENT_METHODS), { minLength: 1, maxLength: 6 }), settled: fc.boolean(), refundedShare: fc.integer({ min: 0, max: 30 }) })
  .map(groupOrder);

const limitsArb: fc.Arbitrary<BookingLimits> = fc.oneof(
  fc.constant(BOOKING_LIMITS),
  fc.record({ maxActions: fc.integer({ min: 6, max: 100 }), maxPartBytes: fc.integer({ min: 2_000, max: 70_000 }) }).map((l) => ({ ...l, costs: BOOKING_COSTS })),
);

const cancellationOf = (order: Order, refundFees: boolean): BookingPlan => ({
  kind: 'cancellation',
  plan: planCancellation(order, { ticketIds: order.tickets.filter((t) => t.performanceId === 'P1').map((t) => t.id), refundFees, reason: 'cancellation' }),
});
const exchangeOf = (order: Order, percentHundredths: number): BookingPlan => ({
  kind: 'exchange',
  plan: planExchange(order, 'P1', percentHundredths, { salesChannel: 'box_office', pointOfSale: 'Kasse' }),
});

const ticketParts = (parts: BookingPart[]) => parts.filter((p): p is TicketsPart => p.kind === 'tickets');
const moneyParts = (parts: BookingPart[]) => parts.filter((p): p is MoneyPart => p.kind === 'money');

/** The order after the parts, written one after the other (each part drawing on the payments as they are then). */
function applyParts(order: Order, parts: BookingPart[], at: string): Order {
  let o = order;
  for (const part of parts) {
    if (part.kind === 'tickets') {
      const cancelled = new Set([...part.cancel.map((t) => t.id), ...part.exchanges.map((e) => e.old.id)]);
      const replacements = part.exchanges.map((e) => e.replacement);
      o = {
        ...o,
        tickets: [
          ...o.tickets.map((t) => {
            if (!cancelled.has(t.id)) return t;
            if (t.state === 'cancelled') throw new Error(`ticket ${t.id} cancelled twice`);
            const e = part.exchanges.find((x) => x.old.id === t.id);
            return { ...t, state: 'cancelled' as const, cancelledAt: at, ...(e ? { replacedByTicketId: e.replacement.id } : {}) };
          }),
          ...replacements,
        ],
      };
    } else {
      o = { ...o, payments: drawOnPayments(o, part.allocations) };
    }
  }
  return o;
}

const normalize = (o: Order) => ({ ...o, tickets: [...o.tickets].sort((a, b) => a.id.localeCompare(b.id)), feesRefunded: undefined });

describe('splitBooking', () => {
  it('puts every ticket, skip and allocation of a cancellation in exactly one part, within the limits, money after tickets, one final part last', () => {
    fc.assert(
      fc.property(groupOrderArb, fc.boolean(), limitsArb, (order, refundFees, limits) => {
        // prepare
        const op = cancellationOf(order, refundFees);
        if (op.kind !== 'cancellation' || op.plan.nothingToDo) return;
        // act
        const parts = splitBooking(op, limits);
        // assess: every action once, in the plan's order
        expect(ticketParts(parts).flatMap((p) => p.cancel.map((t) => t.id))).toEqual(op.plan.cancel.map((t) => t.id));
        expect(ticketParts(parts).flatMap((p) => p.skipped)).toEqual(op.plan.skipped);
        expect(moneyParts(parts).flatMap((p) => p.allocations)).toEqual(op.plan.allocations);
        // limits: actions per transaction, bytes per part item
        for (const part of parts) {
          expect(partActions(part, limits.costs)).toBeLessThanOrEqual(limits.maxActions);
          expect(jsonBytes(part)).toBeLessThanOrEqual(limits.maxPartBytes + 200);
        }
        // order: ticket parts, then money parts; the last part and only it is final
        const firstMoney = parts.findIndex((p) => p.kind === 'money');
        expect(parts.slice(firstMoney).every((p) => p.kind === 'money')).toBe(true);
        expect(parts.map((p) => p.kind === 'money' && p.final)).toEqual(parts.map((_, i) => i === parts.length - 1));
      }),
      { numRuns: 60 },
    );
  });

  it('draws no payment above its capture, refundable to source first, and ends exactly where the one-transaction booking ends', () => {
    fc.assert(
      fc.property(groupOrderArb, fc.boolean(), limitsArb, (order, refundFees, limits) => {
        // prepare
        const op = cancellationOf(order, refundFees);
        if (op.kind !== 'cancellation' || op.plan.nothingToDo) return;
        const at = '2026-07-12T20:00:00Z';
        // act: the parts one after the other, and the whole plan in one step
        const inParts = applyParts(order, splitBooking(op, limits), at);
        const inOne = applyCancellation(order, op.plan, at);
        // assess: the same order (tickets, payments); the totals of the parts are the plan's
        expect(normalize(inParts)).toEqual(normalize(inOne));
        const drawn = moneyParts(splitBooking(op, limits)).flatMap((p) => p.allocations);
        expect(drawn.reduce((s, a) => s + a.amount.amount, 0)).toBe(op.plan.refundTotal.amount);
        expect(op.plan.refundTotal.amount).toBe(Math.min(op.plan.ticketValue.amount + op.plan.feeValue.amount, order.payments.reduce((s, p) => s + refundableOn(p), 0)));
        for (const p of inParts.payments) expect(p.refunded.amount).toBeLessThanOrEqual(p.amount.amount);
        // Refundable to source first: money goes to another method only once every card and Amazon Pay payment is drawn to its capture.
        const byId = new Map(order.payments.map((p) => [p.id, p]));
        const toSource = drawn.filter((a) => a.method === 'card' || a.method === 'amazon_pay');
        const others = drawn.filter((a) => a.method !== 'card' && a.method !== 'amazon_pay');
        if (others.length > 0) {
          for (const p of order.payments.filter((x) => x.method === 'card' || x.method === 'amazon_pay')) {
            const a = toSource.find((x) => x.paymentId === p.id);
            expect((a?.amount.amount ?? 0) + p.refunded.amount).toBe(byId.get(p.id)?.amount.amount);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('splits an exchange the same way: each ticket exchanged once, old price = new price + refund, the parts equal the one-step exchange', () => {
    fc.assert(
      fc.property(groupOrderArb, fc.integer({ min: 1, max: 9999 }), limitsArb, (order, percent, limits) => {
        // prepare
        const op = exchangeOf(order, percent);
        if (op.kind !== 'exchange' || op.plan.exchanges.length === 0) return;
        // act
        const parts = splitBooking(op, limits);
        // assess
        const exchanged = ticketParts(parts).flatMap((p) => p.exchanges);
        expect(exchanged.map((e) => e.old.id)).toEqual(op.plan.exchanges.map((e) => e.old.id));
        for (const e of exchanged) {
          expect(e.replacement.price.amount + e.refund.amount).toBe(e.old.price.amount);
          expect(e.replacement.state).toBe(order.tickets.find((t) => t.id === e.old.id)?.state);
        }
        for (const part of parts) expect(partActions(part, limits.costs)).toBeLessThanOrEqual(limits.maxActions);
        const at = '2026-07-19T20:00:00Z';
        expect(normalize(applyParts(order, parts, at))).toEqual(normalize(applyExchange(order, op.plan, at)));
      }),
      { numRuns: 40 },
    );
  });

  it('keeps a small order whole: one ticket part and one final money part, the fast path writes the same plus nothing', () => {
    fc.assert(
      fc.property(smallOrderArb, fc.boolean(), (order, refundFees) => {
        // prepare
        const op = cancellationOf(order, refundFees);
        if (op.kind !== 'cancellation' || op.plan.nothingToDo || singleTransactionActions(op) > BOOKING_LIMITS.maxActions) return;
        // act
        const parts = splitBooking(op);
        // assess: two parts (tickets, money), whose writes are the one transaction's plus the parts' bookkeeping
        expect(parts.map((p) => p.kind)).toEqual(['tickets', 'money']);
        const bookkeeping = BOOKING_COSTS.partOverhead + BOOKING_COSTS.finalPartOverhead - BOOKING_COSTS.header - BOOKING_COSTS.record;
        expect(parts.reduce((n, p) => n + partActions(p), 0)).toBe(singleTransactionActions(op) + bookkeeping);
      }),
      { numRuns: 60 },
    );
  });

  it('books a 2,000-ticket order with 20 payments in parts of at most 100 writes', () => {
    // prepare
    const methods: Payment['method'][] = ['voucher', 'card', 'card', 'bank_transfer', 'card', 'amazon_pay', 'card', 'klarna', 'card', 'voucher', 'card', 'cash', 'card', 'amazon_pay', 'sofort', 'card', 'credit_account', 'voucher', 'klarna', 'intermediate_account'];
    const order = groupOrder({ tickets: 2000, seed: 42, fees: 200_000, methods, settled: false, refundedShare: 10 });
    const op = cancellationOf(order, true);
    // act
    const parts = splitBooking(op);
    // assess
    expect(singleTransactionActions(op)).toBeGreaterThan(100);
    expect(parts.length).toBeGreaterThan(10);
    expect(Math.max(...parts.map((p) => partActions(p)))).toBeLessThanOrEqual(100);
    expect(moneyParts(parts).flatMap((p) => p.allocations).reduce((s, a) => s + a.amount.amount, 0)).toBe(op.plan.refundTotal.amount);
  });
});

describe('packInOrder', () => {
  it('keeps the order, never breaks a budget with two items or more, and respects the count', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(12), fc.nat(12))), fc.integer({ min: 1, max: 15 }), fc.integer({ min: 1, max: 15 }), fc.integer({ min: 1, max: 5 }), (items, a, b, maxCount) => {
        // prepare
        const budgets = [a, b];
        // act
        const groups = packInOrder(items, (item) => item, budgets, maxCount);
        // assess
        expect(groups.flat()).toEqual(items);
        for (const group of groups) {
          expect(group.length).toBeGreaterThan(0);
          expect(group.length).toBeLessThanOrEqual(maxCount);
          if (group.length > 1) for (const i of [0, 1]) expect(group.reduce((n, item) => n + item[i]!, 0)).toBeLessThanOrEqual(budgets[i]!);
        }
        // greedy: the next group's first item did not fit the group before it
        for (let g = 1; g < groups.length; g++) {
          const before = groups[g - 1]!;
          const first = groups[g]![0]!;
          const fits = before.length < maxCount && [0, 1].every((i) => before.reduce((n, item) => n + item[i]!, 0) + first[i]! <= budgets[i]!);
          expect(fits).toBe(false);
        }
      }),
    );
  });
});
