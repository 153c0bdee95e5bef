import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { importText } from '../../lib/cli/import.ts';
import { allRefunds, assertConsistent, pendingRefunds, type FixtureRefund, type Report } from '../support/dispatch-fixtures.ts';
import { comparable, expectSplitWithin, historyBound, withSmallBudgets, withStageEnv } from '../support/continued-runs.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

const SHARDS = 16;

/** 40 refunds, mostly card, created on `day`: what one dispatch range holds. */
const refundMix = () =>
  Array.from({ length: 40 }, (_, i) => ({ method: (i % 8 === 3 ? 'klarna' : i % 8 === 5 ? 'amazon_pay' : 'card') as 'card' | 'klarna' | 'amazon_pay', amount: 1000 + i * 10 }));
const dispatchPages = { DISPATCH_PAGE_SIZE: '1', DISPATCH_PSP_PAGE_SIZE: '1', RECONCILE_PAGE_SIZE: '4' };


/** The three passes over one day's refunds, each run to its end. */
async function passes(day: string, label: string) {
  const range = { from: day, to: new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10), requestedBy: 'op' };
  const simulate = await rt.start('DispatchRefunds', { mode: 'simulate', ...range }, `cr-${label}-sim`);
  const simulationRunId = (simulate.output as Report).runId;
  const psp = await rt.start('DispatchRefunds', { mode: 'psp', ...range, simulationRunId }, `cr-${label}-psp`);
  const credit = await rt.start('DispatchRefunds', { mode: 'credit', ...range, simulationRunId }, `cr-${label}-credit`);
  return { simulate, psp, credit };
}

const statuses = async (fixtures: FixtureRefund[]) => {
  const refunds = await allRefunds();
  return fixtures.map((f) => refunds.get(f.id)?.status);
};

describe('dispatch, reconciliation, write-off and emails split over executions', () => {
  it('DispatchRefunds simulate, psp and credit: the same selection, money moved once, the same reports; each execution within its bound', async () => {
    // prepare: the same 40 refunds on two days
    const one = await pendingRefunds('cr-d1', '2026-03-01T09:00:00Z', refundMix());
    const two = await pendingRefunds('cr-d2', '2026-03-03T09:00:00Z', refundMix());
    // act
    const unsplit = await withStageEnv(rt, dispatchPages, () => withSmallBudgets(rt, { pagesPerCall: 1 }, () => passes('2026-03-01', 'd1')));
    const split = await withStageEnv(rt, dispatchPages, () => withSmallBudgets(rt, { pagesPerCall: 1, callsPerShard: 1 }, () => passes('2026-03-03', 'd2')));
    // assess
    for (const pass of ['simulate', 'psp', 'credit'] as const) {
      expect(unsplit[pass].parts, pass).toHaveLength(1);
      expectSplitWithin(split[pass], historyBound({ shards: SHARDS, callsPerShard: 1, stages: 80 }));
      const [a, b] = [unsplit[pass].output as Report, split[pass].output as Report];
      expect(b.runId).toBe(`cr-d2-${pass === 'simulate' ? 'sim' : pass}`);
      expect({ ...b.outcomes }, pass).toEqual(a.outcomes);
      expect(b.status).toBe(a.status);
    }
    expect((split.simulate.output as { selection: { count: number; totals: unknown } }).selection).toMatchObject({ count: 40, totals: (unsplit.simulate.output as { selection: { totals: unknown } }).selection.totals });
    expect((split.psp.output as Report).outcomes.refunded?.count).toBe(35);
    expect((split.credit.output as Report).outcomes.credited?.count).toBe(5);
    expect(await statuses(two)).toEqual(await statuses(one));
    await assertConsistent(rt);
  });

  it('the nightly run (reconcile first, simulate, psp, credit) split over executions: one run, one report, every refund settled once', async () => {
    // prepare: 40 open refunds of an earlier day (the refunds above were all dispatched)
    const night = await pendingRefunds('cr-n', '2026-03-05T09:00:00Z', refundMix());
    // act
    const run = await withStageEnv(rt, { ...dispatchPages, MASS_REFUND_AUTO_APPROVAL_LIMITS: JSON.stringify({ CHF: 100_000_000 }) }, () =>
      withSmallBudgets(rt, { pagesPerCall: 1, callsPerShard: 2 }, () => rt.start('DispatchRefunds', { schedule: 'nightly', requestedBy: 'schedule:nightly' }, 'cr-nightly')),
    );
    // assess: four Maps may share an execution (each shard starts a Map with at least one call)
    expectSplitWithin(run, historyBound({ shards: SHARDS, callsPerShard: 2 + 3, maps: 4, stages: 120 }));
    const report = run.output as Report;
    expect(report).toMatchObject({ runId: 'cr-nightly', status: 'succeeded', reconcileRunId: 'cr-nightly-reconcile', simulationRunId: 'cr-nightly-simulation' });
    expect(report.outcomes.refunded?.count).toBe(35);
    expect(report.outcomes.credited?.count).toBe(5);
    const runs = new RunRepository();
    expect((await runs.get('cr-nightly'))?.status).toBe('succeeded');
    expect((await runs.get('cr-nightly-reconcile'))?.status).toBe('succeeded');
    expect(((await runs.get('cr-nightly-reconcile'))?.report as Report).outcomes.transactions_compared?.count).toBeGreaterThanOrEqual(70);
    expect((await runs.get('cr-nightly-simulation'))?.report).toMatchObject({ selection: { count: 40 } });
    expect(new Set(await statuses(night))).toEqual(new Set(['refunded', 'credited']));
    await assertConsistent(rt);
  });

  it('ReconcileRefunds: the same comparison whether or not it is split', async () => {
    // act: everything above was sent; nothing changes between the two runs
    const unsplit = await withStageEnv(rt, dispatchPages, () => withSmallBudgets(rt, { pagesPerCall: 1 }, () => rt.start('ReconcileRefunds', { requestedBy: 'op' }, 'cr-rec-one')));
    const split = await withStageEnv(rt, dispatchPages, () => withSmallBudgets(rt, { pagesPerCall: 1, callsPerShard: 2 }, () => rt.start('ReconcileRefunds', { requestedBy: 'op' }, 'cr-rec-split')));
    // assess
    expect(unsplit.parts).toHaveLength(1);
    expectSplitWithin(split, historyBound({ shards: SHARDS, callsPerShard: 2, stages: 60 }));
    expect(comparable(split.output)).toEqual(comparable(unsplit.output));
    expect((split.output as Report).outcomes.transactions_compared?.count).toBeGreaterThanOrEqual(100);
  });

  it('WriteOff: the split simulation gives the same file; the split real run writes off exactly those codes', async () => {
    // prepare: 120 vouchers issued before the cut-off, a page of 2 codes
    const lines = Array.from({ length: 120 }, (_, i) => JSON.stringify({ type: 'voucher', code: `CR-V${i}`, kind: 'value', issuedAt: '2023-02-01', validUntil: '2024-02-01', remaining: { amount: 100 + i, currency: 'CHF' } }));
    expect((await importText(lines.join('\n'))).ok).toBe(true);
    const input = { issuedUpTo: '2023-03-01', requestedBy: 'op' };
    // act
    const unsplit = await withStageEnv(rt, { WRITE_OFF_PAGE_SIZE: '2' }, () => withSmallBudgets(rt, { pagesPerCall: 1 }, () => rt.start('WriteOff', input, 'cr-wo-one')));
    const split = await withStageEnv(rt, { WRITE_OFF_PAGE_SIZE: '2' }, () => withSmallBudgets(rt, { pagesPerCall: 1, callsPerShard: 2 }, () => rt.start('WriteOff', input, 'cr-wo-split')));
    const real = await withStageEnv(rt, { WRITE_OFF_PAGE_SIZE: '2' }, () => withSmallBudgets(rt, { pagesPerCall: 1, callsPerShard: 2 }, () => rt.start('WriteOff', { ...input, simulate: false, comment: 'season over' }, 'cr-wo-real')));
    // assess
    expect(unsplit.parts).toHaveLength(1);
    expectSplitWithin(split, historyBound({ shards: SHARDS, callsPerShard: 2, stages: 60 }));
    expectSplitWithin(real, historyBound({ shards: SHARDS, callsPerShard: 2, stages: 60 }));
    const file = (r: unknown) => (r as { file: { count: number; checksum: string } }).file;
    const same = (r: unknown) => ({ ...(comparable(r) as Record<string, unknown>), file: { count: file(r).count, checksum: file(r).checksum } });
    expect(same(split.output)).toEqual(same(unsplit.output));
    expect(file(split.output).count).toBeGreaterThanOrEqual(120);
    expect(file(real.output)).toMatchObject({ count: file(split.output).count, checksum: file(split.output).checksum });
  });

  it('SendEmails: a run of more batches than its budget goes on in new executions with its lease; every email once', async () => {
    // prepare: 30 card refunds refunded without the sender; their emails wait in the outbox
    await pendingRefunds('cr-s', '2026-03-07T09:00:00Z', Array.from({ length: 30 }, () => ({ method: 'card' as const })));
    const range = { from: '2026-03-07', to: '2026-03-08', requestedBy: 'op' };
    const sim = await rt.start('DispatchRefunds', { mode: 'simulate', ...range }, 'cr-s-sim', { emails: false });
    await rt.start('DispatchRefunds', { mode: 'psp', ...range, simulationRunId: (sim.output as Report).runId }, 'cr-s-psp', { emails: false });
    const before = rt.ses.accepted.length;
    // act: a batch of a second at 10 emails a second, one batch an execution
    const run = await withStageEnv(rt, { EMAIL_BATCH_SECONDS: '1' }, () => withSmallBudgets(rt, { batchesPerExecution: 1 }, () => rt.start('SendEmails', { requestedBy: 'op', sendRate: 10 }, 'cr-send', { emails: false })));
    // assess
    expectSplitWithin(run, 60);
    const report = run.output as Report;
    expect(report).toMatchObject({ runId: 'cr-send', status: 'succeeded' });
    expect(report.outcomes.emails_sent?.count).toBe(30);
    expect(rt.ses.accepted.length - before).toBe(30);
    await assertConsistent(rt);
  });
});
