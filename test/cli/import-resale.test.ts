import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { performanceFacets } from '../../lib/adapters/dynamodb/import-store.ts';
import { OrderRepository } from '../../lib/adapters/dynamodb/orders.ts';
import { importText } from '../../lib/cli/import.ts';
import type { RunReport } from '../../lib/core/report.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { cancellationDataset, refundsOf, stateOf } from '../support/cancellation-data.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

const resale = (id: string, ticketId: string, sellerOrderId: string, amount: number) =>
  JSON.stringify({ type: 'resale', id, ticketId, sellerOrderId, payout: { amount, currency: 'CHF' }, resoldAt: '2026-06-01T09:00:00Z' });

describe('import of resale payouts and performance facets', () => {
  it('books a resale as a cancelled ticket and a pending refund of the payout; re-importing books nothing twice', async () => {
    // prepare
    const text = [cancellationDataset('rs-'), resale('rs-RS1', 'rs-T2', 'rs-O1', 7200), resale('rs-RS2', 'rs-T6', 'rs-O3', 5400)].join('\n');
    // act
    const first = await importText(text);
    const afterFirst = await stateOf('rs-');
    const second = await importText(text);
    // assess
    expect(first).toMatchObject({ ok: true, written: { resale: 2 } });
    expect(second).toMatchObject({ ok: true, records: 14, unchanged: 14 });
    expect(await stateOf('rs-')).toEqual(afterFirst);
    const o1 = await new OrderRepository().get('rs-O1');
    expect(o1?.order.tickets.map((t) => [t.id, t.state, t.cancelledAt ?? null])).toEqual([
      ['rs-T1', 'valid', null],
      ['rs-T2', 'cancelled', '2026-06-01T09:00:00Z'],
    ]);
    expect(await refundsOf('rs-O1')).toMatchObject([
      { id: 'rs-O1-C1-PAY1', reason: 'resale', status: 'pending', amount: { amount: 7200, currency: 'CHF' }, createdAt: '2026-06-01T09:00:00Z', ownerId: 'rs-C1', method: 'card' },
    ]);
    // An agency's unsettled purchase: the payout goes back on its account.
    expect(await refundsOf('rs-O3')).toMatchObject([{ reason: 'resale', status: 'returned_to_account', amount: { amount: 5400 } }]);
  });

  it('a later cancellation of the performance does not refund the resold ticket again', async () => {
    // act
    const result = await rt.start('CancelPerformance', { performanceId: 'rs-P1', reason: 'storm', requestedBy: 'op' }, 'rs-cancel');
    // assess
    expect(result.status).toBe('SUCCEEDED');
    const report = result.output as RunReport;
    expect(report.outcomes.tickets_cancelled?.count).toBe(6); // 9 on the performance: T8 cancelled before, T2 and T6 resold
    expect(report.outcomes.tickets_skipped_already_cancelled?.count).toBe(3);
    const o1Refunds = await refundsOf('rs-O1');
    expect(o1Refunds.map((r) => [r.reason, r.amount.amount])).toEqual([
      ['resale', 7200],
      ['cancellation', 10000],
    ]);
  });

  it('keeps the distinct quotas, seat categories and product families of each performance', async () => {
    const facets = await performanceFacets('rs-P1');
    expect([...facets.quotas].sort()).toEqual(['public', 'season', 'sponsor']);
    expect([...facets.seatCategories].sort()).toEqual(['A', 'B', 'C']);
    expect([...facets.productFamilies].sort()).toEqual(['season_ticket', 'single_entry']);
  });
});
