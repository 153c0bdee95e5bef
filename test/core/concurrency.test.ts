import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forEachConcurrently } from '../../lib/core/concurrency.ts';

describe('forEachConcurrently', () => {
  it('handles every item once, never more than `limit` at a time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(3), { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), async (delays, limit) => {
        // prepare
        let inFlight = 0;
        let peak = 0;
        const seen: number[] = [];
        // act
        await forEachConcurrently(
          delays.map((d, i) => ({ d, i })),
          limit,
          async ({ d, i }) => {
            peak = Math.max(peak, ++inFlight);
            await new Promise((r) => setTimeout(r, d));
            seen.push(i);
            inFlight--;
          },
        );
        // assess
        expect(seen.sort((a, b) => a - b)).toEqual(delays.map((_, i) => i));
        expect(peak).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 30 },
    );
  });

  it('still handles the other items when one throws, then throws the first error', async () => {
    // prepare
    const handled: number[] = [];
    // act
    const outcome = forEachConcurrently([1, 2, 3, 4, 5], 2, async (n) => {
      if (n === 2) throw new Error('item 2 failed');
      handled.push(n);
    });
    // assess
    await expect(outcome).rejects.toThrow('item 2 failed');
    expect(handled.sort()).toEqual([1, 3, 4, 5]);
  });
});
