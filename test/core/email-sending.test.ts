import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emailKeyOf, groupPage, Pacer } from '../../lib/core/email-sending.ts';

const mark = (orderId: string, kind: string, ownerId = `C-${orderId}`, ownerKind: 'customer' | 'agency' = 'customer') => ({ orderId, ownerId, ownerKind, kind });

describe('Pacer', () => {
  it('hands out slots at most `rate` a second to concurrent senders, evenly spaced, slowing down when told (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 200 }), fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 59 }), async (rate, arrivals, slowAt) => {
        // prepare: a fake clock; senders ask for a slot at `arrival` ms after the previous one asked
        let clock = 1000;
        const pacer = new Pacer(rate, () => clock, async (ms) => void (clock += ms));
        const slots: number[] = [];
        // act
        for (const [i, gap] of arrivals.entries()) {
          clock += gap;
          if (i === slowAt) pacer.slowDown();
          slots.push(await pacer.slot());
        }
        // assess: in any second from a slot on, at most `rate` slots; never a slot before it was asked for
        for (let i = 0; i < slots.length; i++) {
          const inSecond = slots.filter((t) => t >= slots[i]! && t < slots[i]! + 1000).length;
          expect(inSecond).toBeLessThanOrEqual(rate);
          if (i > 0) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(1000 / rate - 1e-9);
        }
      }),
      // The example: 3 a second summed in floating point once fitted a fourth slot into the first second.
      { numRuns: 200, examples: [[3, [0, 0, 0, 0], 3]] },
    );
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new Pacer(0)).toThrow(RangeError);
  });
});

describe('groupPage', () => {
  it('makes one email per order and kind, one per agency for its returns', () => {
    const page = [mark('O1', 'credited'), mark('O1', 'credited'), mark('O1', 'late_failure'), mark('O2', 'credited'), mark('A', 'returned_to_account', 'AG1', 'agency'), mark('B', 'returned_to_account', 'AG1', 'agency')];
    const { emails, kept } = groupPage(page, false);
    expect(kept).toBe(6);
    expect(emails.map((e) => e.length)).toEqual([2, 1, 1, 2]);
    expect(emailKeyOf(page[4]!)).toBe('agency|AG1');
  });

  it('leaves the marks of the last order and kind for the next page when more follow (property: no order and kind ever split)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.constantFrom('credited', 'refunded_to_card')), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 12 }), (raw, pageSize) => {
        // prepare: marks sorted as the outbox index sorts them (order, then kind)
        const marks = raw.map(([o, k]) => mark(`O${o}`, k)).sort((a, b) => `${a.orderId}#${a.kind}`.localeCompare(`${b.orderId}#${b.kind}`));
        // act: page through them as the sender does
        const emails: (typeof marks)[] = [];
        let at = 0;
        while (at < marks.length) {
          const page = marks.slice(at, at + pageSize);
          const { emails: got, kept } = groupPage(page, at + pageSize < marks.length);
          emails.push(...got);
          at += kept;
        }
        // assess: every mark in exactly one email; an order and kind in one email unless it alone filled a page
        expect(emails.flat()).toHaveLength(marks.length);
        const byKey = new Map<string, number>();
        for (const e of emails) byKey.set(emailKeyOf(e[0]!), (byKey.get(emailKeyOf(e[0]!)) ?? 0) + 1);
        for (const [key, count] of byKey) {
          const size = marks.filter((m) => emailKeyOf(m) === key).length;
          if (size <= pageSize) expect(count, key).toBe(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});
