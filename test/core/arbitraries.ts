import fc from 'fast-check';
import type { Money } from '../../lib/core/money.ts';
import { PAYMENT_METHODS, type Order, type Payment, type Ticket, type TicketState } from '../../lib/core/model.ts';

/** A valid single-entry ticket of order O1 at performance P1, public quota, category A; `extra` changes any of that. */
export function ticketOf(id: string, price: Money, extra: Partial<Ticket> = {}): Ticket {
  return { id, orderId: 'O1', performanceId: 'P1', quota: 'public', seatCategory: 'A', productFamily: 'single_entry', price, state: 'valid', ...extra };
}

/** Order O1 of customer C1, bought on the web shop, with the given tickets, fees and payments (no fees, no payments unless given). */
export function orderOf(parts: Pick<Order, 'tickets'> & Partial<Order>): Order {
  return { id: 'O1', customerId: 'C1', salesChannel: 'web', pointOfSale: 'webshop', createdAt: '2026-05-01T10:00:00Z', fees: [], payments: [], ...parts };
}

/** Currencies with 0, 2 and 3 minor digits. */
export const currencyArb = fc.constantFrom('JPY', 'CHF', 'EUR', 'KWD');

export function paymentArb(currency: string, id: string): fc.Arbitrary<Payment> {
  return fc
    .record({
      method: fc.constantFrom(...PAYMENT_METHODS),
      captured: fc.integer({ min: 0, max: 5_000_000 }),
      refundedShare: fc.integer({ min: 0, max: 120 }), // up to 120 %: bad data must never yield a negative refund
      settled: fc.option(fc.boolean(), { nil: undefined }),
    })
    .map(({ method, captured, refundedShare, settled }) => ({
      id,
      method,
      amount: { amount: captured, currency },
      refunded: { amount: Math.floor((captured * refundedShare) / 100), currency },
      ...(settled === undefined ? {} : { settled }),
      ...(method === 'card' || method === 'amazon_pay' ? { pspTransactionId: `tx-${id}` } : {}),
    }));
}

export function paymentsArb(currency: string, maxLength = 5): fc.Arbitrary<Payment[]> {
  return fc.integer({ min: 0, max: maxLength }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => paymentArb(currency, `PAY${i + 1}`))));
}

/**
 * A consistent order: tickets + fees paid in full by 1..3 payments, nothing refunded yet.
 * Some tickets may already be cancelled (their money was refunded earlier: payments carry it).
 */
export const orderArb: fc.Arbitrary<Order> = currencyArb.chain((currency) =>
  fc
    .record({
      prices: fc.array(fc.integer({ min: 0, max: 500_000 }), { minLength: 1, maxLength: 6 }),
      states: fc.array(fc.constantFrom<TicketState>('valid', 'controlled', 'cancelled'), { minLength: 6, maxLength: 6 }),
      fees: fc.array(fc.integer({ min: 0, max: 2_000 }), { maxLength: 2 }),
      methods: fc.array(fc.constantFrom(...PAYMENT_METHODS), { minLength: 1, maxLength: 3 }),
      splits: fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 3, maxLength: 3 }),
      settled: fc.boolean(),
    })
    .map(({ prices, states, fees, methods, splits, settled }) => {
      const tickets: Ticket[] = prices.map((amount, i) =>
        ticketOf(`T${i + 1}`, { amount, currency }, {
          performanceId: i % 2 === 0 ? 'P1' : 'P2',
          quota: i % 3 === 0 ? 'public' : 'season',
          seatCategory: i % 2 === 0 ? 'A' : 'B',
          state: states[i] ?? 'valid',
        }),
      );
      const total = prices.reduce((a, b) => a + b, 0) + fees.reduce((a, b) => a + b, 0);
      const cancelledValue = tickets.filter((t) => t.state === 'cancelled').reduce((a, t) => a + t.price.amount, 0);
      // split `total` over the payments by integer weights; the last one takes the remainder
      const weights = methods.map((_, i) => splits[i] ?? 1);
      const weightSum = weights.reduce((a, b) => a + b, 0);
      let rest = total;
      let refundRest = cancelledValue;
      const payments: Payment[] = methods.map((method, i) => {
        const last = i === methods.length - 1;
        const amount = last ? rest : Math.floor((total * (weights[i] ?? 1)) / weightSum);
        const refunded = last ? refundRest : Math.min(amount, refundRest);
        rest -= amount;
        refundRest -= refunded;
        return {
          id: `PAY${i + 1}`,
          method,
          amount: { amount, currency },
          refunded: { amount: refunded, currency },
          ...(method === 'intermediate_account' ? { settled } : {}),
        };
      });
      return orderOf({ tickets, fees: fees.map((amount, i) => ({ id: `F${i + 1}`, kind: 'service_fee', amount: { amount, currency } })), payments });
    }),
);
