import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { idempotencyKeyFor, orThrowConfigurationError, PspConfigurationError, REFNO_MAX_LENGTH, refnoFor } from '../../../lib/adapters/psp/port.ts';

describe('refund references', () => {
  it('the idempotency key is the same on every retry and re-run of an attempt, and differs between attempts and refunds', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.integer({ min: 1, max: 1000 }), (a, b, attempt) => {
        expect(idempotencyKeyFor(a, attempt)).toBe(idempotencyKeyFor(a, attempt));
        expect(idempotencyKeyFor(a, attempt)).not.toBe(idempotencyKeyFor(a, attempt + 1));
        if (a !== b) expect(idempotencyKeyFor(a, attempt)).not.toBe(idempotencyKeyFor(b, attempt));
        expect(idempotencyKeyFor(a, attempt)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      }),
    );
  });

  it('keeps one key forever for a given refund attempt (changing the derivation would re-send refunds)', () => {
    expect(idempotencyKeyFor('R-O1-PAY1-1', 1)).toBe('18e8f14b-75fb-5b08-8397-9fcd4e48cbad');
    expect(() => idempotencyKeyFor('R', 0)).toThrow(RangeError);
  });

  it('refno: the refund id when it fits, else a 40-character prefix + hash; deterministic and distinct', () => {
    expect(refnoFor('R-O1-PAY1-1')).toBe('R-O1-PAY1-1');
    const long = 'refund:performance-P-2026-07-12:order-O123456789:payment-PAY1';
    expect(refnoFor(long)).toMatch(/^refundperformance-P-202\.[0-9a-f]{16}$/);
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 300 }), fc.string({ minLength: 1, maxLength: 300 }), (a, b) => {
        const r = refnoFor(a);
        expect(r.length).toBeGreaterThanOrEqual(1);
        expect(r.length).toBeLessThanOrEqual(REFNO_MAX_LENGTH);
        expect(refnoFor(a)).toBe(r);
        if (a !== b) expect(refnoFor(b)).not.toBe(r);
      }),
    );
  });
});

describe('PspConfigurationError', () => {
  it('is thrown for configuration errors only', () => {
    expect(() => orThrowConfigurationError({ kind: 'configuration_error', httpStatus: 403, reason: 'forbidden' })).toThrow(PspConfigurationError);
    expect(orThrowConfigurationError({ kind: 'succeeded', creditTransactionId: '1' })).toEqual({ kind: 'succeeded', creditTransactionId: '1' });
  });
});
