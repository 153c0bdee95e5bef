import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intermediateAccounts } from '../../lib/adapters/dynamodb/accounts.ts';
import { OrderRepository } from '../../lib/adapters/dynamodb/orders.ts';
import { partialRefundMark } from '../../lib/adapters/dynamodb/partial-refunds.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { exportRecords } from '../../lib/cli/export.ts';
import type { RunReport } from '../../lib/core/report.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { cancellationDataset, importDataset, refundsOf, stateOf } from '../support/cancellation-data.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

// A rejected input ends with the readable `field: reason` text alone as the Cause.
const errorMessage = (cause: string | undefined) => cause ?? '';
const booking = { salesChannel: 'back_office', pointOfSale: 'head_office', requestedBy: 'op-9' };

describe('PartialRefund through the synthesized state machine', () => {
  it('refuses bad input at the first state and writes nothing', async () => {
    // prepare
    await importDataset(cancellationDataset('pb-'));
    const cases: [unknown, string][] = [
      [{ performanceId: 'pb-P1', percent: 0, ...booking }, 'percent: must be greater than 0 and less than 100'],
      [{ performanceId: 'pb-P1', percent: 100, ...booking }, 'percent: must be greater than 0 and less than 100'],
      [{ performanceId: 'pb-P1', percent: 33.333, ...booking }, 'percent: must have at most 2 decimals'],
      [{ performanceId: 'pb-P1', percent: 'sixty', ...booking }, 'percent: must be a number greater than 0 and less than 100'],
      [{ performanceId: 'pb-P1', percent: 60, requestedBy: 'op' }, 'salesChannel: is required'],
      [{ performanceId: 'pb-P404', percent: 60, ...booking }, 'performanceId: no performance "pb-P404"'],
    ];
    // act + assess
    for (const [i, [input, expected]] of cases.entries()) {
      const result = await rt.start('PartialRefund', input, `pr-bad-${i}`);
      expect(result.status).toBe('FAILED');
      expect(errorMessage(result.cause)).toContain(expected);
      expect(await new RunRepository().get(`pr-bad-${i}`)).toBeUndefined();
    }
    expect(await partialRefundMark('pb-P1')).toBeUndefined();
    expect((await new OrderRepository().get('pb-O1'))?.header.version).toBe(0);
  });

  it('exchanges every valid or controlled ticket, keeping its state; the difference becomes pending refunds; once only', async () => {
    // prepare
    await importDataset(cancellationDataset('pr-'));
    // act
    const result = await rt.start('PartialRefund', { performanceId: 'pr-P1', percent: 60, ...booking }, 'pr-60');
    // assess
    expect(result.status).toBe('SUCCEEDED');
    const report = result.output as RunReport;
    const old = [10000, 8000, 10000, 6000, 6000, 8000, 7000, 10000];
    const refunds = old.map((p) => (p * 60) / 100);
    const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
    expect(report.outcomes).toMatchObject({
      tickets_exchanged: { count: 8, totals: { CHF: sum(old) } },
      replacement_tickets: { count: 8, totals: { CHF: sum(old) - sum(refunds) } },
      orders_exchanged: { count: 6, totals: { CHF: sum(refunds) } },
      pending_refunds: { count: 6, totals: { CHF: sum(refunds) - 7200 } },
      returned_to_account: { count: 1, totals: { CHF: 7200 } },
      tickets_skipped_cancelled: { count: 1, totals: { CHF: 7000 } },
    });
    // A scanned ticket stays scanned; the link old -> new is kept and visible in the export.
    const o2 = await new OrderRepository().get('pr-O2');
    const byId = new Map(o2?.order.tickets.map((t) => [t.id, t]));
    expect(byId.get('pr-T3')).toMatchObject({ state: 'cancelled', replacedByTicketId: 'pr-T3-X' });
    expect(byId.get('pr-T3-X')).toMatchObject({ state: 'controlled', price: { amount: 4000, currency: 'CHF' }, replacesTicketId: 'pr-T3', quota: 'sponsor', seatCategory: 'A', salesChannel: 'back_office', pointOfSale: 'head_office', issuedByRun: 'pr-60' });
    expect(byId.get('pr-T4')).toMatchObject({ state: 'valid', price: { amount: 5000 } }); // other performance
    expect(await refundsOf('pr-O2')).toMatchObject([{ id: 'pr-O2-C1-PAY1', amount: { amount: 6000 }, reason: 'partial_refund', status: 'pending' }]);
    const exported = (await exportRecords('tickets', { runId: 'pr-60' })).filter((t) => t.id === 'pr-T1' || t.id === 'pr-T1-X');
    expect(exported.map((t) => [t.id, t.state, (t.price as { amount: number }).amount, t.replacesTicketId])).toEqual([
      ['pr-T1', 'cancelled', 10000, null],
      ['pr-T1-X', 'valid', 4000, 'pr-T1'],
    ]);
    expect((await intermediateAccounts()).find((a) => a.agencyId === 'pr-AG1')?.openItems).toEqual([{ amount: 4800, currency: 'CHF' }]);
    expect(await partialRefundMark('pr-P1')).toMatchObject({ runId: 'pr-60', percentHundredths: 6000 });

    // A second partial refund of the performance, with any percentage, is refused naming the earlier run.
    for (const [i, percent] of [50, 60].entries()) {
      const again = await rt.start('PartialRefund', { performanceId: 'pr-P1', percent, ...booking }, `pr-again-${i}`);
      expect(again).toMatchObject({ status: 'FAILED', error: 'ConflictError' });
      expect(errorMessage(again.cause)).toContain('already partially refunded (60 %) by run pr-60');
    }
  });

  it('a crashed run, run again with the same input, completes without exchanging anything twice', async () => {
    // prepare: two identical copies, one for the reference run
    await importDataset(cancellationDataset('pq-', 12));
    await importDataset(cancellationDataset('pz-', 12));
    const input = (p: string) => ({ performanceId: `${p}P1`, percent: '12.5', ...booking, pageSize: 2 });
    // act
    const reference = await rt.start('PartialRefund', input('pz-'), 'pr-reference');
    // One container for the page stage, so its fourth page is the one that crashes.
    const page = 'functions/partial-refund/exchange-page.ts';
    await rt.configure({ environment: { MASS_REFUND_CHAOS: JSON.stringify({ 'partialRefund.afterPage': 3 }) }, maxContainers: 1 }, page);
    const crashed = await rt.start('PartialRefund', input('pq-'), 'pr-crashed').finally(() => rt.configure({ environment: { MASS_REFUND_CHAOS: undefined }, maxContainers: 4 }, page));
    const other = await rt.start('PartialRefund', { ...input('pq-'), percent: 20 }, 'pr-other-percent');
    const rerun = await rt.start('PartialRefund', input('pq-'), 'pr-rerun');
    // assess
    expect(reference.status).toBe('SUCCEEDED');
    expect(crashed).toMatchObject({ status: 'FAILED', error: 'InjectedCrash' });
    expect(other).toMatchObject({ status: 'FAILED', error: 'ConflictError' });
    expect(errorMessage(other.cause)).toContain('by run pr-crashed, which failed: run it again with the same percent (12.5 %)');
    expect(rerun.status).toBe('SUCCEEDED');
    expect(await stateOf('pq-')).toEqual(await stateOf('pz-'));
    const tickets = (await stateOf('pq-')).tickets as { id: string }[];
    expect(tickets.filter((t) => t.id.endsWith('-X-X'))).toEqual([]);
    expect(await partialRefundMark('pq-P1')).toMatchObject({ runId: 'pr-rerun', previousRuns: ['pr-crashed'] });
  });
});
