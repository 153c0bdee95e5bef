import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaErrorMessage } from '../../lib/core/errors.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { PAYMENT_METHODS } from '../../lib/core/model.ts';
import { allRefunds, assertConsistent, creditEntries, pendingRefunds, sesEmails, setAmount, type Report } from '../support/dispatch-fixtures.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

let rt: TestRuntime;
const PAGE = 'functions/dispatch-refunds/page.ts';
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());
beforeEach(() => rt.sandbox.configureFaults({ rules: [] }));

let day = 0;
/** Each scenario gets its own day, so the ranges of different scenarios never overlap. */
function range() {
  day += 1;
  const from = `2026-01-${String(day).padStart(2, '0')}`;
  const to = `2026-01-${String(day + 1).padStart(2, '0')}`;
  return { from, to, createdAt: `${from}T09:00:00Z` };
}

async function run(input: Record<string, unknown>, name?: string) {
  const result = await rt.start('DispatchRefunds', { requestedBy: 'op-1', ...input }, name);
  return result;
}
async function ok(input: Record<string, unknown>): Promise<Report> {
  const result = await run(input);
  expect(result.status, `${JSON.stringify(input)}: ${result.error} ${result.cause}`).toBe('SUCCEEDED');
  return result.output as Report;
}
async function simulate(from: string, to: string, creditPolicy?: string): Promise<Report> {
  return ok({ mode: 'simulate', from, to, ...(creditPolicy ? { creditPolicy } : {}) });
}

describe('DispatchRefunds through the synthesized state machine', () => {
  it('refunds cards and Amazon Pay at the PSP, credits every other method, and emails once per order and kind', async () => {
    // prepare: one refund per payment method (agency orders for the intermediate account), plus an agency return
    const { from, to, createdAt } = range();
    const methods = PAYMENT_METHODS.filter((m) => m !== 'intermediate_account');
    const fixtures = await pendingRefunds('all', createdAt, [
      ...methods.map((method) => ({ method })),
      { method: 'intermediate_account', agency: true, settled: true },
      { method: 'card', agency: true },
      { method: 'intermediate_account', agency: true, settled: false, status: 'returned_to_account' as const },
    ]);
    const byMethod = (m: string) => fixtures.filter((f) => f.method === m);

    // act 1: simulate writes nothing but its run record
    const sim = await simulate(from, to);
    // assess 1
    expect(sim.status).toBe('succeeded');
    expect(sim.outcomes.to_psp?.count).toBe(3);
    expect(sim.outcomes.to_credit?.count).toBe(fixtures.length - 4);
    const selection = sim.selection as { count: number; totals: Record<string, number>; fingerprint: string };
    expect(selection.count).toBe(fixtures.length - 1);
    expect(selection.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(rt.sandbox.ledger()).toHaveLength(0);
    expect([...(await allRefunds()).values()].filter((r) => r.orderId.startsWith('O-all-') && r.status !== 'pending').map((r) => r.status)).toEqual(['returned_to_account']);
    const logLines: string[] = [];
    for await (const line of new RunRepository().logLines(sim.runId)) logLines.push(line);
    expect(logLines.some((l) => l.includes('fingerprint') && l.includes(selection.fingerprint))).toBe(true);

    // act 2: the PSP pass
    const psp = await ok({ mode: 'psp', from, to, simulationRunId: sim.runId });
    // assess 2
    expect(psp.outcomes.refunded?.count).toBe(3);
    // The pass sends no email itself; SendEmails, run after it, sends what it owes.
    expect(psp.outcomes.emails_sent).toBeUndefined();
    expect((rt.lastEmails()?.output as Report).outcomes.emails_sent?.count).toBe(4); // 3 to cards + the agency's return (a simulation sends nothing)
    let refunds = await allRefunds();
    for (const f of [...byMethod('card'), ...byMethod('amazon_pay')]) expect(refunds.get(f.id)?.status).toBe('refunded');
    expect(refunds.get(byMethod('klarna')[0]!.id)?.status).toBe('pending');

    // act 3: the credit pass
    const credit = await ok({ mode: 'credit', from, to, simulationRunId: sim.runId });
    // assess 3
    expect(credit.outcomes.credited?.count).toBe(fixtures.length - 4);
    refunds = await allRefunds();
    for (const f of fixtures.filter((f) => f.method !== 'card' && f.method !== 'amazon_pay' && !(f.method === 'intermediate_account' && f.id.endsWith(`-${fixtures.length - 1}`)))) {
      expect(refunds.get(f.id)?.status, f.method).toBe('credited');
    }
    const entries = await creditEntries();
    const agencyIa = fixtures.find((f) => f.method === 'intermediate_account' && f.ownerKind === 'agency')!;
    expect(entries.get(agencyIa.id)?.ownerId).toBe(agencyIa.ownerId);
    const mails = await sesEmails(rt);
    expect(mails.filter((m) => m.body.text?.includes('O-all-'))).toHaveLength(fixtures.length);
    // The card refund's customer reads German (fixture languages go de, fr, es, en): event, amount, where the money goes.
    const card = byMethod('card')[0]!;
    const cardMail = mails.find((m) => m.body.text?.includes(`${card.orderId} `) || m.body.text?.endsWith(card.orderId))!;
    expect(cardMail.subject).toBe('Rückerstattung für «Match all»');
    expect(cardMail.body.text).toContain('Der Betrag wird der Karte gutgeschrieben, mit der Sie bezahlt haben.');
    expect(cardMail.body.text).toMatch(/Für Ihre Bestellung O-all-0 haben wir Ihnen CHF\s10\.00 zurückerstattet\./);
    await assertConsistent(rt);

    // act 4: running the passes again changes nothing and sends no email
    const again = await ok({ mode: 'credit', from, to, simulationRunId: sim.runId });
    expect(again.outcomes.credited).toBeUndefined();
    expect((await sesEmails(rt)).length).toBe(mails.length);
  });

  it('refuses a real run when the selection changed since the simulation, saying what changed, and writes nothing', async () => {
    // prepare
    const { from, to, createdAt } = range();
    const [a, b] = await pendingRefunds('changed', createdAt, [{ method: 'card', amount: 5000 }, { method: 'card', amount: 7000 }]);
    const sim = await simulate(from, to);
    await setAmount(a!.id, 4000);
    await pendingRefunds('changed-late', `${from}T10:00:00Z`, [{ method: 'card', amount: 300 }]);
    // act
    const result = await run({ mode: 'psp', from, to, simulationRunId: sim.runId }, 'psp-changed');
    // assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('SimulationMismatchError');
    const message = result.cause ?? '';
    expect(message).toContain('1 refund(s) not in the simulation (300 CHF minor units)');
    expect(message).toContain('1 refund(s) whose amount changed (simulated 5000 CHF, now 4000 CHF)');
    expect(await new RunRepository().get('psp-changed')).toBeUndefined();
    expect(rt.sandbox.ledger().filter((c) => [a, b].some((f) => f!.transactionId === c.transactionId))).toHaveLength(0);
    await assertConsistent(rt);
  });

  it('rejects bad input at the first state, naming the fields', async () => {
    const policy = await run({ mode: 'simulate', from: '2026-02-01', to: '2026-02-02', creditPolicy: 'sometimes' }, 'bad-policy');
    expect(policy.error).toBe('ValidationError');
    expect(policy.cause).toContain('creditPolicy:');
    const result = await run({ mode: 'psp', from: '2026-02-02', to: '2026-02-01' }, 'bad-dispatch');
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ValidationError');
    const message = result.cause ?? '';
    expect(message).toContain('to: must be after from');
    expect(message).toContain('simulationRunId: is required');
    expect(await new RunRepository().get('bad-dispatch')).toBeUndefined();
  });

  it('handles every PSP outcome by what it proves: declines keep their code, 429 is retried, any 5xx, a 409, time-outs and malformed answers are unknown and never sent again nor credited before a lookup', async () => {
    // prepare
    const { from, to, createdAt } = range();
    const f = await pendingRefunds('outcomes', createdAt, [
      { method: 'card' }, // 0 EXPIRED_CARD
      { method: 'card' }, // 1 BLOCKED_CARD
      { method: 'amazon_pay' }, // 2 DECLINED
      { method: 'card' }, // 3 two 429s, then booked
      { method: 'card' }, // 4 one 429 with Retry-After, then booked
      { method: 'card' }, // 5 always 503 (nothing booked): unknown all the same
      { method: 'card' }, // 6 time-out after commit: unknown
      { method: 'card' }, // 7 time-out before commit: unknown
      { method: 'card' }, // 8 malformed JSON: unknown
      { method: 'card' }, // 9 connection reset before sending anything useful
      { method: 'card' }, // 10 booked, then an HTML 502 from the load balancer
      { method: 'card' }, // 11 a 409 (key in flight), then 429s: the 409 is not forgotten
    ]);
    const tx = (i: number) => f[i]!.transactionId!;
    rt.sandbox.configureFaults({
      rules: [
        { transactionId: tx(0), fault: { kind: 'decline', code: 'EXPIRED_CARD' } },
        { transactionId: tx(1), fault: { kind: 'decline', code: 'BLOCKED_CARD' } },
        { transactionId: tx(2), fault: { kind: 'decline', code: 'DECLINED' } },
        { transactionId: tx(3), times: 2, fault: { kind: 'rate_limited', retryAfterSeconds: 0 } },
        { transactionId: tx(4), times: 1, fault: { kind: 'rate_limited', retryAfterSeconds: 1 } },
        { transactionId: tx(5), fault: { kind: 'http_5xx', status: 503 } },
        { transactionId: tx(6), fault: { kind: 'timeout_after_commit', ms: 2500 } },
        { transactionId: tx(7), fault: { kind: 'timeout_before_commit', ms: 2500 } },
        { transactionId: tx(8), fault: { kind: 'malformed_json' } },
        { transactionId: tx(9), fault: { kind: 'connection_reset' } },
        { transactionId: tx(10), fault: { kind: 'booked_then_5xx', status: 502, html: true } },
        { transactionId: tx(11), times: 1, fault: { kind: 'key_in_flight' } },
        { transactionId: tx(11), fault: { kind: 'rate_limited', retryAfterSeconds: 0 } },
      ],
    });
    const sim = await simulate(from, to);
    // The PSP time-out and no reconciliation margin hold for every stage until the end of this test.
    await rt.configure({ environment: { DISPATCH_PSP_TRIES: '3', MASS_REFUND_PSP_TIMEOUT_MS: '1000', MASS_REFUND_RECONCILE_MARGIN_SECONDS: '0' } });
    // act
    const psp = await ok({ mode: 'psp', from, to, simulationRunId: sim.runId });
    await rt.configure({ environment: { DISPATCH_PSP_TRIES: undefined } });
    // assess
    const refunds = await allRefunds();
    const st = (i: number) => refunds.get(f[i]!.id);
    expect([0, 1, 2].map((i) => [st(i)?.status, st(i)?.pspCode])).toEqual([
      ['failed', 'EXPIRED_CARD'],
      ['failed', 'BLOCKED_CARD'],
      ['failed', 'DECLINED'],
    ]);
    expect([3, 4].map((i) => st(i)?.status)).toEqual(['refunded', 'refunded']);
    expect([5, 6, 7, 8, 9, 10, 11].map((i) => st(i)?.status)).toEqual(Array(7).fill('unknown'));
    expect(st(11)?.pspUnknownReason).toContain('409');
    expect(psp.outcomes.refunded?.count).toBe(2);
    expect(psp.outcomes.declined).toEqual({ count: 3, totals: { CHF: f[0]!.amount + f[1]!.amount + f[2]!.amount } });
    expect(psp.outcomes.unknown?.count).toBe(7);
    expect(psp.outcomes.deferred).toBeUndefined();

    // act 2: the credit pass credits declines, never unknown ones
    const credit = await ok({ mode: 'credit', from, to, simulationRunId: sim.runId });
    // assess 2
    expect(credit.outcomes.credited?.count).toBe(3);
    const after = await allRefunds();
    expect([0, 1, 2].map((i) => after.get(f[i]!.id)?.status)).toEqual(['credited', 'credited', 'credited']);
    expect([5, 6, 7, 8, 9, 10, 11].map((i) => after.get(f[i]!.id)?.status)).toEqual(Array(7).fill('unknown'));
    // The sandbox booked the time-out-after-commit, malformed and HTML-502 ones: our ledger differs until reconciliation.
    const booked = rt.sandbox.ledger().filter((c) => c.status === 'booked').map((c) => c.transactionId);
    expect(booked).toEqual(expect.arrayContaining([tx(3), tx(4), tx(6), tx(8), tx(10)]));
    expect(booked).not.toContain(tx(7));
    expect(booked).not.toContain(tx(11));

    // act 3: a psp pass before any lookup sends none of them again
    const sim2 = await simulate(from, to);
    const postsBefore = Object.entries(rt.sandbox.stats().requests).filter(([k]) => k.startsWith('POST')).reduce((n, [, v]) => n + v, 0);
    await ok({ mode: 'psp', from, to, simulationRunId: sim2.runId });
    expect(Object.entries(rt.sandbox.stats().requests).filter(([k]) => k.startsWith('POST')).reduce((n, [, v]) => n + v, 0)).toBe(postsBefore);

    // act 4: reconcile settles the unknown ones from the PSP's records, then the psp pass finishes the job
    rt.sandbox.configureFaults({ rules: [] });
    await new Promise((r) => setTimeout(r, 1100)); // past the client time-out after the last request
    const reconcile = await rt.start('ReconcileRefunds', { runId: psp.runId });
    expect(reconcile.status, reconcile.cause).toBe('SUCCEEDED');
    const rep = reconcile.output as Report;
    expect(rep.outcomes.refunded?.count).toBe(3); // 6, 8 and 10 were booked
    expect(rep.outcomes.back_to_pending?.count).toBe(4); // 5, 7, 9 and 11 were not
    const sim3 = await simulate(from, to);
    const psp3 = await ok({ mode: 'psp', from, to, simulationRunId: sim3.runId });
    await rt.configure({ environment: { MASS_REFUND_PSP_TIMEOUT_MS: undefined, MASS_REFUND_RECONCILE_MARGIN_SECONDS: undefined } });
    expect(psp3.outcomes.refunded?.count).toBe(4);
    const final = await allRefunds();
    expect([3, 4, 5, 6, 7, 8, 9, 10, 11].map((i) => final.get(f[i]!.id)?.status)).toEqual(Array(9).fill('refunded'));
    await assertConsistent(rt);
  });

  it('stops the whole run on 401 and releases every claim', async () => {
    // prepare
    const { from, to, createdAt } = range();
    const f = await pendingRefunds('unauthorized', createdAt, Array.from({ length: 40 }, () => ({ method: 'card' as const })));
    const sim = await simulate(from, to);
    rt.sandbox.configureFaults({ rules: [{ fault: { kind: 'unauthorized' } }] });
    const before = rt.sandbox.stats().requests;
    const sentBefore = Object.entries(before).filter(([k]) => k.startsWith('POST')).reduce((n, [, v]) => n + v, 0);
    // act
    const result = await run({ mode: 'psp', from, to, simulationRunId: sim.runId }, 'psp-401');
    // assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('PspConfigurationError');
    const runRecord = await new RunRepository().get('psp-401');
    expect(runRecord?.status).toBe('failed');
    // Pages already running in other shards finish (as Lambda invocations do when a Map fails).
    let refunds = await allRefunds();
    for (let i = 0; i < 300 && f.some((x) => refunds.get(x.id)?.status === 'sending'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      refunds = await allRefunds();
    }
    expect(f.map((x) => refunds.get(x.id)?.status)).toEqual(Array(40).fill('pending'));
    const sent = Object.entries(rt.sandbox.stats().requests).filter(([k]) => k.startsWith('POST')).reduce((n, [, v]) => n + v, 0) - sentBefore;
    expect(sent).toBeLessThanOrEqual(40); // at most the first wave, one request per refund: none failed one by one
    await assertConsistent(rt);
  });

  it('after a crash between the PSP answer and our write, a re-run asks the PSP instead of sending again: no second credit', async () => {
    // prepare
    const { from, to, createdAt } = range();
    const f = await pendingRefunds('crash', createdAt, Array.from({ length: 12 }, () => ({ method: 'card' as const })));
    const sim = await simulate(from, to);
    // One container for the page stage, so it dies after 3 answers in all.
    await rt.configure(
      { environment: { MASS_REFUND_CHAOS: JSON.stringify({ 'dispatch.afterPspAnswer': 3 }), MASS_REFUND_SENDING_LEASE_SECONDS: '1', MASS_REFUND_PSP_TIMEOUT_MS: '500', MASS_REFUND_RECONCILE_MARGIN_SECONDS: '0' }, maxContainers: 1 },
      PAGE,
    );
    // act 1: the run dies after 3 answers were written
    const crashed = await run({ mode: 'psp', from, to, simulationRunId: sim.runId }, 'psp-crash');
    await rt.configure({ environment: { MASS_REFUND_CHAOS: undefined }, maxContainers: 4 }, PAGE);
    // assess 1
    expect(crashed.status).toBe('FAILED');
    expect(crashed.error).toBe('InjectedCrash');
    // act 2: the same input again once the leases expired and the client time-out passed (pages still running when the Map failed have finished)
    await new Promise((r) => setTimeout(r, 2000));
    let refunds = await allRefunds();
    const abandoned = f.filter((x) => refunds.get(x.id)?.status === 'sending');
    const pending = f.filter((x) => refunds.get(x.id)?.status === 'pending');
    const refundedBefore = f.filter((x) => refunds.get(x.id)?.status === 'refunded').length;
    expect(abandoned.length).toBeGreaterThan(0);
    const posts = () => Object.entries(rt.sandbox.stats().requests).filter(([k]) => k.startsWith('POST')).reduce((n, [, v]) => n + v, 0);
    const postsBefore = posts();
    const rerun = await ok({ mode: 'psp', from, to, simulationRunId: sim.runId });
    await rt.configure({ environment: { MASS_REFUND_SENDING_LEASE_SECONDS: undefined, MASS_REFUND_PSP_TIMEOUT_MS: undefined, MASS_REFUND_RECONCILE_MARGIN_SECONDS: undefined } }, PAGE);
    // assess 2: abandoned claims were settled by asking the PSP (GET), only pending ones were sent
    refunds = await allRefunds();
    expect(f.map((x) => refunds.get(x.id)?.status)).toEqual(Array(12).fill('refunded'));
    expect(posts() - postsBefore).toBe(pending.length);
    expect(rerun.outcomes.refunded?.count).toBe(12 - refundedBefore);
    expect(rt.sandbox.ledger().filter((c) => f.some((x) => x.transactionId === c.transactionId))).toHaveLength(12);
    await assertConsistent(rt);
  });

  it('two runs over the same range started at once refund each refund once', async () => {
    // prepare
    const { from, to, createdAt } = range();
    const f = await pendingRefunds('twice', createdAt, [...Array.from({ length: 30 }, () => ({ method: 'card' as const })), ...Array.from({ length: 10 }, () => ({ method: 'klarna' as const }))]);
    const sim = await simulate(from, to);
    // act
    const [a, b] = await Promise.all([ok({ mode: 'psp', from, to, simulationRunId: sim.runId }), ok({ mode: 'psp', from, to, simulationRunId: sim.runId })]);
    const [c, d] = await Promise.all([ok({ mode: 'credit', from, to, simulationRunId: sim.runId }), ok({ mode: 'credit', from, to, simulationRunId: sim.runId })]);
    // assess
    expect((a.outcomes.refunded?.count ?? 0) + (b.outcomes.refunded?.count ?? 0)).toBe(30);
    expect((c.outcomes.credited?.count ?? 0) + (d.outcomes.credited?.count ?? 0)).toBe(10);
    expect(rt.sandbox.ledger().filter((x) => f.some((y) => y.transactionId === x.transactionId))).toHaveLength(30);
    await assertConsistent(rt);
  });

  it('a refund switched to manual between passes is never touched again', async () => {
    // prepare
    const { from, to, createdAt } = range();
    const [card, klarna, other] = await pendingRefunds('manual', createdAt, [{ method: 'card' }, { method: 'klarna' }, { method: 'card' }]);
    const sim = await simulate(from, to);
    const switched = await rt.start('SwitchRefundToManual', { refundId: card!.id, method: 'bank_transfer', note: 'asked by phone', requestedBy: 'op-2' });
    expect(switched.status).toBe('SUCCEEDED');
    // act
    const psp = await ok({ mode: 'psp', from, to, simulationRunId: sim.runId });
    await rt.start('SwitchRefundToManual', { refundId: klarna!.id, method: 'cash', note: 'paid at the box office', requestedBy: 'op-2' });
    const credit = await ok({ mode: 'credit', from, to, simulationRunId: sim.runId });
    // assess
    expect(psp.outcomes.refunded?.count).toBe(1);
    expect(credit.outcomes.credited).toBeUndefined();
    const refunds = await allRefunds();
    expect([card, klarna, other].map((x) => refunds.get(x!.id)?.status)).toEqual(['manual', 'manual', 'refunded']);
    expect(rt.sandbox.ledger().some((c) => c.transactionId === card!.transactionId)).toBe(false);
    await assertConsistent(rt);
  });

  it('credit policy always credits everything open without a PSP call; never keeps PSP failures failed', async () => {
    // prepare
    const { from, to, createdAt } = range();
    const f = await pendingRefunds('always', createdAt, [{ method: 'card' }, { method: 'amazon_pay' }, { method: 'sofort' }]);
    const sim = await simulate(from, to, 'always');
    const requestsBefore = JSON.stringify(rt.sandbox.stats().requests);
    // act
    const psp = await ok({ mode: 'psp', from, to, simulationRunId: sim.runId, creditPolicy: 'always' });
    const credit = await ok({ mode: 'credit', from, to, simulationRunId: sim.runId, creditPolicy: 'always' });
    // assess
    expect(psp.outcomes.refunded).toBeUndefined();
    expect(JSON.stringify(rt.sandbox.stats().requests)).toBe(requestsBefore);
    expect(credit.outcomes.credited?.count).toBe(3);
    const refunds = await allRefunds();
    expect(f.map((x) => refunds.get(x.id)?.status)).toEqual(['credited', 'credited', 'credited']);
    // a simulation made under another policy does not approve this run
    const mismatch = await run({ mode: 'credit', from, to, simulationRunId: sim.runId });
    expect(mismatch.error).toBe('SimulationMismatchError');

    const r2 = range();
    const [declined] = await pendingRefunds('never', r2.createdAt, [{ method: 'card' }]);
    rt.sandbox.configureFaults({ rules: [{ transactionId: declined!.transactionId!, fault: { kind: 'decline', code: 'EXPIRED_CARD' } }] });
    const sim2 = await simulate(r2.from, r2.to, 'never');
    await ok({ mode: 'psp', from: r2.from, to: r2.to, simulationRunId: sim2.runId, creditPolicy: 'never' });
    const credit2 = await ok({ mode: 'credit', from: r2.from, to: r2.to, simulationRunId: sim2.runId, creditPolicy: 'never' });
    expect(credit2.outcomes.credited).toBeUndefined();
    expect((await allRefunds()).get(declined!.id)?.status).toBe('failed');
    await assertConsistent(rt);
  });

  it('dispatches the refunds of one performance alone: the simulation binds the performance, the refunds of another stay untouched', async () => {
    // prepare: two performances' refunds in the same range
    const { from, to, createdAt } = range();
    const a = await pendingRefunds('perf-a', createdAt, [{ method: 'card' }, { method: 'klarna' }]);
    const b = await pendingRefunds('perf-b', createdAt, [{ method: 'card' }, { method: 'sofort' }]);
    // act
    const sim = await ok({ mode: 'simulate', from, to, performanceId: 'P-perf-a' });
    const otherPerformance = await run({ mode: 'psp', from, to, simulationRunId: sim.runId, performanceId: 'P-perf-b' }, 'psp-perf-mismatch');
    const everyPerformance = await run({ mode: 'psp', from, to, simulationRunId: sim.runId }, 'psp-perf-all');
    const unknown = await run({ mode: 'simulate', from, to, performanceId: 'P-nope' }, 'sim-perf-unknown');
    const psp = await ok({ mode: 'psp', from, to, simulationRunId: sim.runId, performanceId: 'P-perf-a' });
    const credit = await ok({ mode: 'credit', from, to, simulationRunId: sim.runId, performanceId: 'P-perf-a' });
    // assess
    expect(sim.outcomes.to_psp?.count).toBe(1);
    expect(sim.outcomes.to_credit?.count).toBe(1);
    expect(otherPerformance.error).toBe('SimulationMismatchError');
    expect(lambdaErrorMessage(otherPerformance.cause)).toContain('was made for performance "P-perf-a", not performance "P-perf-b"');
    expect(everyPerformance.error).toBe('SimulationMismatchError');
    expect(lambdaErrorMessage(everyPerformance.cause)).toContain('not every performance');
    expect(unknown.error).toBe('NotFoundError');
    expect(lambdaErrorMessage(unknown.cause)).toContain('performanceId: no performance "P-nope"');
    expect(psp.outcomes.refunded?.count).toBe(1);
    expect(credit.outcomes.credited?.count).toBe(1);
    const refunds = await allRefunds();
    expect(a.map((x) => refunds.get(x.id)?.status)).toEqual(['refunded', 'credited']);
    expect(b.map((x) => refunds.get(x.id)?.status)).toEqual(['pending', 'pending']);
    expect(rt.sandbox.ledger().some((c) => c.transactionId === b[0]!.transactionId)).toBe(false);
    await assertConsistent(rt);
  });

  it('with notifyCustomers false moves the money and owes no card or credit email; the choice is bound to the simulation', async () => {
    // prepare
    const { from, to, createdAt } = range();
    const f = await pendingRefunds('quiet', createdAt, [{ method: 'card' }, { method: 'amazon_pay' }, { method: 'klarna' }]);
    const loudSim = await ok({ mode: 'simulate', from, to });
    // act
    const mismatch = await run({ mode: 'psp', from, to, simulationRunId: loudSim.runId, notifyCustomers: false }, 'psp-quiet-mismatch');
    const sim = await ok({ mode: 'simulate', from, to, notifyCustomers: false });
    const psp = await ok({ mode: 'psp', from, to, simulationRunId: sim.runId, notifyCustomers: false });
    const pspEmails = rt.lastEmails()?.output as Report;
    const credit = await ok({ mode: 'credit', from, to, simulationRunId: sim.runId, notifyCustomers: false });
    const creditEmails = rt.lastEmails()?.output as Report;
    // assess
    expect(mismatch.error).toBe('SimulationMismatchError');
    expect(lambdaErrorMessage(mismatch.cause)).toContain('was made with notifyCustomers true, not false');
    expect(psp.outcomes.refunded?.count).toBe(2);
    expect(credit.outcomes.credited?.count).toBe(1);
    expect(pspEmails.outcomes.emails_sent).toBeUndefined();
    expect(creditEmails.outcomes.emails_sent).toBeUndefined();
    const refunds = await allRefunds();
    for (const x of f) {
      expect(refunds.get(x.id)?.notification ?? null, x.method).toBeNull();
      expect(refunds.get(x.id)?.sentEmails ?? [], x.method).toEqual([]);
    }
    expect((await sesEmails(rt)).filter((m) => m.body.text?.includes('O-quiet-'))).toEqual([]);
    expect((psp.input as { notifyCustomers: boolean }).notifyCustomers).toBe(false);
    await assertConsistent(rt);
  });

});

