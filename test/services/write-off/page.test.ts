import { describe, expect, it } from 'vitest';
import type { StoredVoucher, WriteOffOrder } from '../../../lib/adapters/dynamodb/vouchers.ts';
import { NotFoundError } from '../../../lib/core/errors.ts';
import { exclusionsOfRun, writeOffPage, type WriteOffPagePorts } from '../../../lib/services/write-off/page.ts';

const voucher = (code: string, amount: number): StoredVoucher => ({ code, kind: 'value', issuedAt: '2024-01-10', validUntil: null, remaining: { amount, currency: 'CHF' }, writtenOff: null });

/** A vouchers table in memory: a write-off group fails as a whole when one voucher changed. */
function fakeStore(vouchers: StoredVoucher[], changed: Map<string, StoredVoucher> = new Map()) {
  const stored = new Map(vouchers.map((v) => [v.code, v]));
  for (const [code, v] of changed) stored.set(code, v);
  const selected: { segment: number; page: number; codes: string[] }[] = [];
  const ports: WriteOffPagePorts = {
    vouchers: {
      scanPage: async () => ({ vouchers }),
      get: async (code) => stored.get(code),
      redemption: async () => undefined,
      writeOff: async (orders: WriteOffOrder[]) => {
        if (orders.some((o) => stored.get(o.voucher.code)?.remaining.amount !== o.voucher.remaining.amount)) return 'condition_failed';
        for (const o of orders) stored.set(o.voucher.code, { ...o.voucher, remaining: { ...o.voucher.remaining, amount: 0 }, writtenOff: { runId: o.runId, comment: o.comment, at: o.at }, writtenOffAmount: o.voucher.remaining.amount });
        return 'written_off';
      },
    },
    exclusions: async () => new Set(['X']),
    putSelectedCodes: async (_runId, segment, page, codes) => void selected.push({ segment, page, codes }),
    crash: () => {},
  };
  return { ports, stored, selected };
}

const event = (simulate: boolean) => ({
  runId: 'wo-1',
  input: { issuedUpTo: '2024-12-31', simulate, comment: 'season over' },
  segment: 3,
  totalSegments: 16,
  cursor: null,
  page: 0,
  tallies: {},
  selected: 0,
});

describe('a write-off page', () => {
  it('writes off the eligible vouchers, re-decides one that changed meanwhile, and stores the codes it selected', async () => {
    // prepare
    const { ports, stored, selected } = fakeStore([voucher('A', 500), voucher('B', 700), voucher('X', 900)], new Map([['B', voucher('B', 650)]]));
    // act
    const next = await writeOffPage(ports, event(false), 100);
    // assess
    expect(next.tallies).toEqual({ 'skipped:excluded': { count: 1, totals: { CHF: 900 } }, written_off: { count: 2, totals: { CHF: 1150 } } });
    expect(next).toMatchObject({ page: 1, selected: 2, done: true, cursor: null });
    expect(selected).toEqual([{ segment: 3, page: 0, codes: ['A', 'B'] }]);
    expect(stored.get('B')?.writtenOffAmount).toBe(650);
  });

  it('of a simulation selects without writing', async () => {
    // prepare
    const { ports, stored } = fakeStore([voucher('A', 500)]);
    // act
    const next = await writeOffPage(ports, event(true), 100);
    // assess
    expect(next.tallies).toEqual({ would_write_off: { count: 1, totals: { CHF: 500 } } });
    expect(stored.get('A')?.writtenOff).toBeNull();
  });
});

describe("a run's exclusion snapshot", () => {
  it('is read once per run by a container, and a run without one was never opened', async () => {
    // prepare
    const reads: string[] = [];
    const exclusions = exclusionsOfRun(async (runId) => (reads.push(runId), runId === 'none' ? undefined : new Set([runId])));
    // act
    await exclusions('wo-1');
    await exclusions('wo-1');
    // assess
    expect(reads).toEqual(['wo-1']);
    await expect(exclusions('none')).rejects.toBeInstanceOf(NotFoundError);
  });
});
