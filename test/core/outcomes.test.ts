import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REFUND_STATUSES } from '../../lib/core/model.ts';
import { BOOKING_OUTCOMES, DISPATCH_OUTCOMES, EMAIL_OUTCOMES, isOutcome, LEDGER_OUTCOMES, RECONCILE_OUTCOMES, VOUCHER_AND_MANUAL_OUTCOMES, WRITE_OFF_SKIPS } from '../../lib/core/outcomes.ts';

describe('the outcome vocabulary', () => {
  it('knows every plain outcome, every skip reason and every lookup event', () => {
    // prepare
    const plain = [...BOOKING_OUTCOMES, ...DISPATCH_OUTCOMES, ...RECONCILE_OUTCOMES, ...LEDGER_OUTCOMES, ...EMAIL_OUTCOMES, ...VOUCHER_AND_MANUAL_OUTCOMES, 'deferred:run_stopped'];
    const skips = [...WRITE_OFF_SKIPS, ...REFUND_STATUSES, 'in_flight', 'not_in_simulation'].map((r) => `skipped:${r}`);
    const lookups = RECONCILE_OUTCOMES.filter((o) => o !== 'refunded').map((o) => `lookup:${o}`);
    // act, assess
    expect([...plain, ...skips, ...lookups].filter((o) => !isOutcome(o))).toEqual([]);
  });

  it('refuses names outside it: typos, unknown prefixes, a refunded lookup (tallied as refunded)', () => {
    for (const name of ['refund', 'Refunded', 'skipped:', 'skipped:sending', 'lookup:refunded', 'deferred:other', 'tickets_cancelled:x', '']) {
      expect(isOutcome(name), name).toBe(false);
    }
  });

  it('never takes a name with a prefix it does not know', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (prefix, rest) => {
        fc.pre(!['skipped', 'lookup', 'deferred'].includes(prefix));
        expect(isOutcome(`${prefix}:${rest}`)).toBe(false);
      }),
    );
  });
});
