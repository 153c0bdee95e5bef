import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approximateItemBytes, clampBatchSize, DYNAMODB_LIMITS, packTransactions } from '../../../lib/adapters/dynamodb/limits.ts';

/** A unit of 1-4 actions of some size, tagged so the packing can be traced back. */
const unit = fc.record({ tag: fc.nat(), actions: fc.integer({ min: 1, max: 4 }), payload: fc.integer({ min: 0, max: 200_000 }) });
const actionsOf = (u: { tag: number; actions: number; payload: number }) => Array.from({ length: u.actions }, (_, i) => ({ Put: { Item: { pk: `U#${u.tag}`, sk: String(i), blob: 'x'.repeat(u.payload) } } }));
/** Whatever a tuning knob may hold: huge, zero, negative, fractional, not a number. */
const requested = fc.oneof(fc.integer({ min: -10, max: 10_000 }), fc.constantFrom(Number.NaN, Infinity, 0.5, 49.9, 2 ** 53), fc.constant(undefined));

describe('DynamoDB batch limits', () => {
  it('no requested size packs a transaction beyond 100 actions or 4 MB; every unit is packed once, in order (property)', () => {
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 300 }), requested, (units, maxUnits) => {
        // act
        const groups = packTransactions(units, actionsOf, { maxUnits: maxUnits as number });
        // assess
        expect(groups.flat()).toEqual(units);
        for (const group of groups) {
          const actions = group.flatMap(actionsOf);
          expect(group.length).toBeGreaterThan(0);
          expect(actions.length).toBeLessThanOrEqual(DYNAMODB_LIMITS.transactItems);
          expect(actions.reduce((n, a) => n + approximateItemBytes(a), 0)).toBeLessThanOrEqual(DYNAMODB_LIMITS.transactBytes);
          if (Number.isSafeInteger(maxUnits) && (maxUnits as number) > 0) expect(group.length).toBeLessThanOrEqual(maxUnits as number);
        }
      }),
    );
  });

  it('packs the credit pass as asked up to the limit: 2 actions per refund, 50 refunds at most whatever the knob says', () => {
    const refunds = Array.from({ length: 230 }, (_, tag) => ({ tag, actions: 2, payload: 100 }));
    expect(packTransactions(refunds, actionsOf, { maxUnits: 80 }).map((g) => g.length)).toEqual([50, 50, 50, 50, 30]);
    expect(packTransactions(refunds, actionsOf, { maxUnits: 20 }).map((g) => g.length)).toEqual([...Array(11).fill(20), 10]);
    expect(packTransactions(refunds, actionsOf, { maxUnits: 0 }).map((g) => g.length)).toEqual([50, 50, 50, 50, 30]);
  });

  it('refuses a unit that alone cannot be one transaction', () => {
    expect(() => packTransactions([{ tag: 1, actions: 101, payload: 0 }], actionsOf)).toThrow(RangeError);
    expect(() => packTransactions([{ tag: 1, actions: 1, payload: 5 * 1024 * 1024 }], actionsOf)).toThrow(/does not fit one transaction/);
  });

  it('clamps a requested batch size to [1, max], taking the fallback for what is not a positive integer (property)', () => {
    fc.assert(
      fc.property(requested, fc.integer({ min: 1, max: 1000 }), (n, max) => {
        const size = clampBatchSize(n as number, max);
        expect(Number.isSafeInteger(size)).toBe(true);
        expect(size).toBeGreaterThanOrEqual(1);
        expect(size).toBeLessThanOrEqual(max);
      }),
    );
    expect(clampBatchSize(80, 50)).toBe(50);
    expect(clampBatchSize(-3, 25, 10)).toBe(10);
  });

  it('counts an item at least as DynamoDB does: names and UTF-8 strings in bytes, numbers at their 21-byte maximum', () => {
    expect(approximateItemBytes({ pk: 'ORDER#Zoë' })).toBeGreaterThanOrEqual(2 + Buffer.byteLength('ORDER#Zoë'));
    expect(approximateItemBytes({ amount: 123456789 })).toBeGreaterThanOrEqual('amount'.length + 21);
  });
});
