import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { add, formatMoney, money, parsePercentHundredths, percentOf, toDecimalString } from '../../lib/core/money.ts';
import { MoneyRuleError, ValidationError } from '../../lib/core/errors.ts';

describe('money', () => {
  it('refuses floats and unknown currencies', () => {
    expect(() => money(10.5, 'CHF')).toThrow(MoneyRuleError);
    expect(() => money(100, 'XXQ')).toThrow(ValidationError);
    expect(() => add(money(1, 'CHF'), money(1, 'EUR'))).toThrow(/currency mismatch/);
  });

  it('splits a percentage exactly: refund + remaining = price', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000_000 }), fc.integer({ min: 1, max: 9999 }), (price, hundredths) => {
        const refund = percentOf(price, hundredths);
        const remaining = price - refund;
        expect(Number.isSafeInteger(refund)).toBe(true);
        expect(refund).toBeGreaterThanOrEqual(0);
        expect(remaining).toBeGreaterThanOrEqual(0);
        expect(refund + remaining).toBe(price);
        // half up: the error is in (-0.5, +0.5] minor units, ties rounded up
        const exact = BigInt(price) * BigInt(hundredths);
        const diff = BigInt(refund) * 10000n - exact;
        expect(diff > -5000n && diff <= 5000n).toBe(true);
      }),
    );
  });

  it('rounds half up to the minor unit', () => {
    expect(percentOf(10000, 6000)).toBe(6000);
    expect(percentOf(333, 5000)).toBe(167); // 166.5 -> 167
    expect(percentOf(1, 5000)).toBe(1); // 0.5 -> 1
    expect(percentOf(1, 4999)).toBe(0);
    expect(percentOf(2, 2500)).toBe(1); // 0.5 exactly -> 1
  });

  it('parses percents without float arithmetic', () => {
    expect(parsePercentHundredths(60)).toBe(6000);
    expect(parsePercentHundredths(12.5)).toBe(1250);
    expect(parsePercentHundredths(33.33)).toBe(3333);
    expect(parsePercentHundredths('0.01')).toBe(1);
    for (const bad of [0, 100, 100.5, -5, 33.333, 'abc', null, true, Number.NaN, 1e-7]) {
      expect(() => parsePercentHundredths(bad), String(bad)).toThrow(ValidationError);
    }
  });

  it('formats exactly for a locale', () => {
    expect(formatMoney({ amount: 10050, currency: 'CHF' }, 'en').replace(/\s/g, ' ')).toBe('CHF 100.50');
    expect(formatMoney({ amount: 1000, currency: 'JPY' }, 'en')).toBe('¥1,000');
    expect(toDecimalString(5, 2)).toBe('0.05');
    expect(toDecimalString(-1005, 3)).toBe('-1.005');
  });
});
