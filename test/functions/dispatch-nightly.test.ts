import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { scheduleInput } from '../../lib/cli/start.ts';
import { dateIn, SCHEDULE_TIME_ZONE } from '../../lib/core/dispatch.ts';
import { allRefunds, assertConsistent, pendingRefunds, type Report } from '../support/dispatch-fixtures.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => {
  await rt?.stop();
});

const daysAgo = (today: string, n: number) => {
  const d = new Date(`${today}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - n);
  return d.toISOString().slice(0, 10);
};

async function ok(input: Record<string, unknown>): Promise<Report> {
  const result = await rt.start('DispatchRefunds', input);
  expect(result.status, `${JSON.stringify(input)}: ${result.error} ${result.cause}`).toBe('SUCCEEDED');
  return result.output as Report;
}

describe('the nightly schedule through the synthesized state machine', () => {
  it('reconciles first, then covers every open refund created before today (deferred and reconciled ones too) under the auto-approval limit: psp pass, then credit pass', async () => {
    // prepare: open refunds of several earlier days, one of today; a psp pass by hand two days ago deferred one
    // (only 429s), left one unknown although the PSP booked it (HTML 502), and one unknown that did not book (503)
    const today = dateIn(new Date(), SCHEDULE_TIME_ZONE);
    const [oldCard, oldKlarna] = await pendingRefunds('nightly-old', `${daysAgo(today, 9)}T09:00:00Z`, [{ method: 'card' }, { method: 'klarna' }]);
    const [deferred, outage, notBooked] = await pendingRefunds('nightly-handrun', `${daysAgo(today, 3)}T09:00:00Z`, [{ method: 'card' }, { method: 'card' }, { method: 'card' }]);
    const [todays] = await pendingRefunds('nightly-today', `${today}T12:00:00Z`, [{ method: 'card' }]);
    rt.sandbox.configureFaults({
      rules: [
        { transactionId: deferred!.transactionId!, fault: { kind: 'rate_limited', retryAfterSeconds: 0 } },
        { transactionId: outage!.transactionId!, fault: { kind: 'booked_then_5xx', status: 502, html: true } },
        { transactionId: notBooked!.transactionId!, fault: { kind: 'http_5xx', status: 503 } },
      ],
    });
    await rt.configure({ environment: { DISPATCH_PSP_TRIES: '2' } });
    await rt.configure({ environment: { MASS_REFUND_PSP_TIMEOUT_MS: '2000' } });
    await rt.configure({ environment: { MASS_REFUND_RECONCILE_MARGIN_SECONDS: '0' } });
    const handRange = { from: daysAgo(today, 3), to: daysAgo(today, 2), requestedBy: 'op' };
    const sim = await ok({ mode: 'simulate', ...handRange });
    const hand = await ok({ mode: 'psp', ...handRange, simulationRunId: sim.runId });
    expect([hand.outcomes.deferred?.count, hand.outcomes.unknown?.count]).toEqual([1, 2]);
    rt.sandbox.configureFaults({ rules: [] });
    await new Promise((r) => setTimeout(r, 2100)); // past the client time-out after the last request
    const ledgerBefore = rt.sandbox.ledger().length;

    // act 1: the nightly input as the schedule sends it; over the auto-approval limit
    await rt.configure({ environment: { MASS_REFUND_AUTO_APPROVAL_LIMITS: JSON.stringify({ CHF: 1 }) } });
    const waiting = await ok(scheduleInput('DispatchRefunds', 'nightly', undefined));
    // assess 1: reconciled first (the booked one refunded, the other back to pending), simulated, nothing sent
    expect(waiting.status).toBe('awaiting_approval');
    const reconcileRun = await new RunRepository().get(waiting.reconcileRunId as string);
    expect(reconcileRun?.status).toBe('succeeded');
    expect((reconcileRun?.report as Report).outcomes).toMatchObject({ refunded: { count: 1 }, back_to_pending: { count: 1 } });
    let refunds = await allRefunds();
    expect([outage, notBooked, deferred].map((f) => refunds.get(f!.id)?.status)).toEqual(['refunded', 'pending', 'pending']);
    const simRun = await new RunRepository().get(waiting.simulationRunId as string);
    expect(simRun?.input).toMatchObject({ from: '1970-01-01', to: today });
    expect((simRun?.report as Report).selection).toMatchObject({ count: 4 }); // old card and klarna, deferred, back to pending; not today's
    expect(rt.sandbox.ledger()).toHaveLength(ledgerBefore);

    // act 2: the next night, under the limit
    await rt.configure({ environment: { MASS_REFUND_AUTO_APPROVAL_LIMITS: JSON.stringify({ CHF: 1_000_000 }) } });
    const night = await ok(scheduleInput('DispatchRefunds', 'nightly', undefined));
    // assess 2: one run, both passes
    expect(night.status).toBe('succeeded');
    expect(night.outcomes.refunded?.count).toBe(3);
    expect(night.outcomes.credited?.count).toBe(1);
    expect(night.input).toMatchObject({ schedule: 'nightly', from: '1970-01-01', to: today });
    expect((await new RunRepository().get(night.runId))?.status).toBe('succeeded');
    refunds = await allRefunds();
    expect([oldCard, oldKlarna, deferred, outage, notBooked].map((f) => refunds.get(f!.id)?.status)).toEqual(['refunded', 'credited', 'refunded', 'refunded', 'refunded']);
    expect(refunds.get(todays!.id)?.status).toBe('pending');
    await assertConsistent(rt);
  });

  it('a scheduled single pass reconciles first too; a scheduled simulation writes nothing but its report', async () => {
    await rt.configure({ environment: { MASS_REFUND_AUTO_APPROVAL_LIMITS: JSON.stringify({ CHF: 1_000_000 }) } });
    const today = dateIn(new Date(), SCHEDULE_TIME_ZONE);
    const [klarna] = await pendingRefunds('nightly-single', `${daysAgo(today, 1)}T09:00:00Z`, [{ method: 'klarna' }]);

    const simulation = await ok(scheduleInput('DispatchRefunds', 'nightly', { mode: 'simulate' }));
    const credit = await ok(scheduleInput('DispatchRefunds', 'nightly', { mode: 'credit' }));

    expect(simulation.reconcileRunId).toBeUndefined();
    expect((await allRefunds()).get(klarna!.id)?.status).toBe('credited');
    expect(credit.reconcileRunId).toEqual(expect.any(String));
    expect(credit.outcomes.credited?.count).toBe(1);
    await assertConsistent(rt);
  });
});
