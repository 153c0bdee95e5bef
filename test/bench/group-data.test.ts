import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GROUP_ORDERS, generateBenchData, groupOrderSizes } from '../../bench/data.ts';
import { formatIssues, inMemoryImportLookup, validateImportFile, type OrderRecord } from '../../lib/core/import.ts';
import { mulberry32 } from '../../lib/core/prng.ts';

describe('the bench match with group orders', () => {
  it('cuts the group tickets into orders of 100 to 2,000 (the last one takes a rest under 100)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50_000 }), fc.integer(), (total, seed) => {
        const sizes = groupOrderSizes(total, DEFAULT_GROUP_ORDERS, mulberry32(seed));
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
        if (total >= 100) for (const size of sizes) expect(size).toBeGreaterThanOrEqual(100);
        for (const size of sizes) expect(size).toBeLessThan(2000 + 100);
      }),
    );
  });

  it('sells a share of the tickets in group orders that import whole: card + voucher, agencies on account, 20 payments', async () => {
    // act: 10 % in orders of 100 to 250 tickets, so that every kind of group order appears
    const data = generateBenchData(10_000, { share: 0.1, min: 100, max: 250 });
    const result = await validateImportFile(data.text, inMemoryImportLookup([]));
    // assess
    if (!result.ok) throw new Error(formatIssues(result.issues.slice(0, 10)));
    const orders = result.records.filter((r): r is OrderRecord => r.type === 'order');
    const groups = orders.filter((o) => /^G\d+$/.test(o.id));
    expect(orders.reduce((s, o) => s + o.tickets.length, 0)).toBe(10_000);
    expect(groups.reduce((s, o) => s + o.tickets.length, 0)).toBe(1000);
    expect(data.groupOrders).toMatchObject({ orders: groups.length, tickets: 1000 });
    expect(groups.length).toBeGreaterThanOrEqual(5);
    expect(groups.every((o) => o.tickets.length >= 100)).toBe(true);
    expect(groups[0]?.payments.map((p) => p.method)).toEqual(['voucher', 'card']);
    expect(groups[1]).toMatchObject({ agencyId: 'AG2', payments: [{ method: 'intermediate_account', settled: false }] });
    expect(groups[2]?.payments).toHaveLength(20);
    expect(groups[3]?.payments).toMatchObject([{ method: 'intermediate_account', settled: true }]);
    expect(groups[4]?.payments).toMatchObject([{ method: 'card' }]);
    expect(data.orders.filter((o) => /^G\d+$/.test(o.id))).toHaveLength(groups.length);
  });
});
