import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { allocateRefund, paymentsInDrawOrder, refundableOn } from '../../lib/core/allocation.ts';
import { MoneyRuleError } from '../../lib/core/errors.ts';
import { PAYMENT_METHODS, type Payment, type PaymentMethod } from '../../lib/core/model.ts';
import { currencyArb, paymentsArb } from './arbitraries.ts';

const chf = (amount: number) => ({ amount, currency: 'CHF' });
const pay = (id: string, method: PaymentMethod, amount: number, refunded = 0, extra: Partial<Payment> = {}): Payment => ({
  id,
  method,
  amount: chf(amount),
  refunded: chf(refunded),
  ...extra,
});

/** The draw order written out independently of the implementation. */
function expectedDrawOrder(payments: Payment[], order?: PaymentMethod[]): Payment[] {
  const groups = order ? [...order.map((m) => [m]), PAYMENT_METHODS.filter((m) => !order.includes(m))] : [['card', 'amazon_pay'], PAYMENT_METHODS.filter((m) => m !== 'card' && m !== 'amazon_pay')];
  return groups.flatMap((g) => payments.filter((p) => (g as readonly string[]).includes(p.method)));
}

describe('allocateRefund', () => {
  it('draws on the card before the Klarna payment listed first', () => {
    // prepare
    const payments = [pay('K', 'klarna', 5000), pay('C', 'card', 3000, 1000)];
    // act
    const r = allocateRefund(payments, chf(4000));
    // assess
    expect(r.allocations).toEqual([
      { paymentId: 'C', method: 'card', amount: chf(2000), destination: 'pending_refund' },
      { paymentId: 'K', method: 'klarna', amount: chf(2000), destination: 'pending_refund' },
    ]);
    expect(r.allocated).toEqual(chf(4000));
    expect(r.shortfall).toEqual(chf(0));
  });

  it('sends money of an unsettled intermediate account back to that account, a settled one to a pending refund', () => {
    const unsettled = allocateRefund([pay('I', 'intermediate_account', 1000, 0, { settled: false })], chf(1000));
    const unknown = allocateRefund([pay('I', 'intermediate_account', 1000)], chf(1000));
    const settled = allocateRefund([pay('I', 'intermediate_account', 1000, 0, { settled: true })], chf(1000));
    expect(unsettled.allocations[0]?.destination).toBe('intermediate_account');
    expect(unknown.allocations[0]?.destination).toBe('intermediate_account');
    expect(settled.allocations[0]?.destination).toBe('pending_refund');
  });

  it('follows a preferred method order and reports the shortfall', () => {
    const payments = [pay('C', 'card', 1000), pay('V', 'voucher', 1000), pay('B', 'bank_transfer', 1000)];
    const r = allocateRefund(payments, chf(5000), { order: ['voucher', 'bank_transfer'] });
    expect(r.allocations.map((a) => a.paymentId)).toEqual(['V', 'B', 'C']);
    expect(r.allocated).toEqual(chf(3000));
    expect(r.shortfall).toEqual(chf(2000));
  });

  it('skips exhausted and over-refunded payments, allocates nothing for zero', () => {
    const payments = [pay('C', 'card', 1000, 1000), pay('A', 'amazon_pay', 1000, 1500), pay('K', 'klarna', 1000)];
    expect(allocateRefund(payments, chf(0)).allocations).toEqual([]);
    expect(allocateRefund(payments, chf(300)).allocations.map((a) => a.paymentId)).toEqual(['K']);
  });

  it('refuses mixed currencies, negative and fractional requests', () => {
    expect(() => allocateRefund([pay('C', 'card', 1000)], { amount: 100, currency: 'EUR' })).toThrow(MoneyRuleError);
    expect(() => allocateRefund([pay('C', 'card', 1000)], chf(-1))).toThrow(MoneyRuleError);
    expect(() => allocateRefund([pay('C', 'card', 1000)], chf(1.5))).toThrow(MoneyRuleError);
  });

  it('keeps every money rule for random payments and requests', () => {
    const methodOrderArb = fc.option(fc.shuffledSubarray([...PAYMENT_METHODS]), { nil: undefined });
    const caseArb = currencyArb.chain((currency) =>
      fc.record({ currency: fc.constant(currency), payments: paymentsArb(currency, 6), requested: fc.integer({ min: 0, max: 20_000_000 }), order: methodOrderArb }),
    );
    fc.assert(
      fc.property(caseArb, ({ currency, payments, requested, order }) => {
        // act
        const opts = order ? { order } : {};
        const r = allocateRefund(payments, { amount: requested, currency }, opts);
        // assess
        const available = payments.reduce((a, p) => a + refundableOn(p), 0);
        const byPayment = new Map(r.allocations.map((a) => [a.paymentId, a.amount.amount]));
        expect(byPayment.size).toBe(r.allocations.length); // one allocation per payment
        for (const a of r.allocations) {
          const p = payments.find((x) => x.id === a.paymentId);
          expect(p).toBeDefined();
          expect(Number.isSafeInteger(a.amount.amount)).toBe(true);
          expect(a.amount.amount).toBeGreaterThan(0);
          expect(a.amount.currency).toBe(currency);
          expect(a.amount.amount).toBeLessThanOrEqual(p!.amount.amount - p!.refunded.amount);
        }
        const total = r.allocations.reduce((s, a) => s + a.amount.amount, 0);
        expect(total).toBe(Math.min(requested, available));
        expect(r.allocated.amount).toBe(total);
        expect(r.shortfall.amount).toBe(requested - total);
        expect(r.shortfall.amount).toBeGreaterThanOrEqual(0);
        // priority: a payment is drawn only when every earlier one in draw order is exhausted
        const drawOrder = expectedDrawOrder(payments, order);
        drawOrder.forEach((p, i) => {
          if ((byPayment.get(p.id) ?? 0) === 0) return;
          for (const earlier of drawOrder.slice(0, i)) expect(byPayment.get(earlier.id) ?? 0).toBe(refundableOn(earlier));
        });
        // and allocations are listed in draw order
        const positions = r.allocations.map((a) => drawOrder.findIndex((p) => p.id === a.paymentId));
        expect(positions).toEqual([...positions].sort((x, y) => x - y));
      }),
      { numRuns: 500 },
    );
  });

  it('default draw order puts refundable-to-source methods first, others in payment order', () => {
    const payments = [pay('1', 'cash', 1), pay('2', 'amazon_pay', 1), pay('3', 'sofort', 1), pay('4', 'card', 1)];
    expect(paymentsInDrawOrder(payments).map((p) => p.id)).toEqual(['2', '4', '1', '3']);
  });
});
