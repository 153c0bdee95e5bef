import { describe, expect, it } from 'vitest';
import { reconcilePage, type SegmentState } from '../../../lib/services/reconcile/page.ts';
import { dispatchRefund, FakePsp, FakeStore, MIN, T0 } from './fakes.ts';

const SETTINGS = { totalSegments: 16, pageSize: 2, timing: { timeoutMs: 20_000, marginMs: 5 * MIN }, now: () => T0 + 60 * MIN };

function segment(over: Partial<SegmentState> = {}): SegmentState {
  return { runId: 'rec-1', scope: { runId: null, since: '2026-07-06T02:00:00.000Z' }, segment: 3, cursor: null, tallies: {}, differences: [], differenceCount: 0, ...over };
}

const found = (creditedAmount = 0) => ({ kind: 'found' as const, view: { currency: 'CHF', settledAmount: 5000, creditedAmount, credits: [] } });

describe('a page of a reconciliation segment', () => {
  it('compares each transaction once, on the page holding its smallest-id refund, and returns its record and log lines as data', async () => {
    // prepare: T1's refunds A and C on pages 1 and 2 of the same order; B (T2) on page 1; D never sent
    const store = new FakeStore([dispatchRefund('A'), dispatchRefund('B', { orderId: 'O-B', pspTransactionId: 'T2' }), dispatchRefund('C', { orderId: 'O-A' }), dispatchRefund('D', { status: 'pending', attempt: 0 })]);
    const psp = new FakePsp();
    psp.transactions.set('T1', found());
    psp.transactions.set('T2', found());
    // act
    const first = await reconcilePage({ store, psp }, segment(), SETTINGS);
    const second = await reconcilePage({ store, psp }, segment({ ...first, cursor: first.cursor }), SETTINGS);
    // assess
    expect(first.cursor).toBe('2');
    expect(first.tallies).toEqual({ transactions_compared: { count: 2, totals: {} }, back_to_pending: { count: 3, totals: { CHF: 3000 } } });
    expect([...first.lines].sort()).toEqual([
      'A order=O-A 1000 CHF: not credited at the PSP: back to pending for the next psp pass, same idempotency key',
      'B order=O-B 1000 CHF: not credited at the PSP: back to pending for the next psp pass, same idempotency key',
      'C order=O-A 1000 CHF: not credited at the PSP: back to pending for the next psp pass, same idempotency key',
    ]);
    expect(second).toEqual({ tallies: first.tallies, differences: [], differenceCount: 0, cursor: null, lines: [] });
    expect(store.writes.map((w) => w.id).sort()).toEqual(['A', 'B', 'C']);
    expect(psp.creditRequests).toBe(0);
  });

  it('carries the differences into the segment state, and counts them', async () => {
    // prepare: a refund we hold refunded that the PSP does not show
    const store = new FakeStore([dispatchRefund('A', { status: 'refunded' })]);
    const psp = new FakePsp();
    psp.transactions.set('T1', found());
    // act
    const page = await reconcilePage({ store, psp }, segment({ differenceCount: 4 }), SETTINGS);
    // assess
    expect(page.differenceCount).toBe(5);
    expect(page.differences).toEqual([expect.objectContaining({ transactionId: 'T1', ours: 1000, psp: 0, missing: ['A'] })]);
    expect(page.lines).toEqual(['DIFFERENCE transaction T1: ours 1000 CHF, PSP 0; we hold refunded but the PSP shows no such credit: A; refunds A:refunded']);
    expect(page.tallies['difference']?.count).toBe(1);
  });

  it('stops the page on a configuration error once the transactions under way are done', async () => {
    // prepare
    const store = new FakeStore([dispatchRefund('A'), dispatchRefund('B', { orderId: 'O-B', pspTransactionId: 'T2' })]);
    const psp = new FakePsp();
    psp.transactions.set('T1', { kind: 'configuration_error', httpStatus: 403, reason: 'forbidden' });
    psp.transactions.set('T2', found());
    // act, assess
    await expect(reconcilePage({ store, psp }, segment(), SETTINGS)).rejects.toMatchObject({ name: 'PspConfigurationError', httpStatus: 403 });
  });
});
