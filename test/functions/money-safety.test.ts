import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../lib/adapters/dynamodb/client.ts';
import { refundKey } from '../../lib/adapters/dynamodb/refunds.ts';
import { tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { DatatransPsp } from '../../lib/adapters/psp/datatrans.ts';
import { idempotencyKeyFor } from '../../lib/adapters/psp/port.ts';
import { SANDBOX_MERCHANT_ID, SANDBOX_PASSWORD } from '../../lib/local/psp-sandbox/index.ts';
import { allRefunds, assertConsistent, creditEntries, pendingRefunds, type FixtureRefund, type Report } from '../support/dispatch-fixtures.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

/**
 * Money safety against a PSP as unkind as a real gateway, through the synthesized state machines:
 * no refund paid twice, none lost, whatever the PSP answers or forgets.
 */

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());
afterEach(() => {
  rt.sandbox.configureFaults({ rules: [] });
  rt.sandbox.configure({ uniqueRefno: false });
});

let day = 0;
function range() {
  day += 1;
  const from = `2026-02-${String(day).padStart(2, '0')}`;
  const to = `2026-02-${String(day + 1).padStart(2, '0')}`;
  return { from, to, createdAt: `${from}T09:00:00Z` };
}

async function ok(workflow: string, input: Record<string, unknown>): Promise<Report> {
  const result = await rt.start(workflow, { requestedBy: 'op', ...input });
  expect(result.status, `${workflow} ${JSON.stringify(input)}: ${result.error} ${result.cause}`).toBe('SUCCEEDED');
  return result.output as Report;
}

/** One operator round: reconcile, simulate, psp, credit (the README's advice after trouble). */
async function operatorRound(from: string, to: string): Promise<{ reconcile: Report; psp: Report; credit: Report }> {
  const reconcile = await ok('ReconcileRefunds', {});
  const sim = await ok('DispatchRefunds', { mode: 'simulate', from, to });
  const psp = await ok('DispatchRefunds', { mode: 'psp', from, to, simulationRunId: sim.runId });
  const credit = await ok('DispatchRefunds', { mode: 'credit', from, to, simulationRunId: sim.runId });
  return { reconcile, psp, credit };
}

/** Our API credits booked at the PSP on a transaction (back-office credits are not ours). */
const pspCredits = (transactionId: string | null) =>
  rt.sandbox
    .ledger()
    .filter((c) => c.transactionId === transactionId && c.status === 'booked' && c.source === 'api')
    .reduce((s, c) => s + c.amount.amount, 0);
const posts = () => Object.entries(rt.sandbox.stats().requests).filter(([k]) => k.startsWith('POST')).reduce((n, [, v]) => n + v, 0);
const psp = () => new DatatransPsp({ baseUrl: rt.sandbox.url, merchantId: SANDBOX_MERCHANT_ID, password: SANDBOX_PASSWORD, timeoutMs: 2000, logger: { warn: () => undefined } });

/** Rewrites a refund's PSP record as an older version of the dispatch left it (released after trouble, no proof). */
async function asLeftBefore(id: string, fields: Record<string, unknown>, remove: string[] = []): Promise<void> {
  const names = Object.keys(fields);
  await documentClient().send(
    new UpdateCommand({
      TableName: tableName('refunds'),
      Key: refundKey(id),
      UpdateExpression: `SET ${names.map((_n, i) => `#f${i} = :v${i}`).join(', ')}, version = version + :one${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
      ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#f${i}`, n])),
      ExpressionAttributeValues: { ...Object.fromEntries(names.map((n, i) => [`:v${i}`, fields[n]])), ':one': 1 },
    }),
  );
}

/** For every payment: what went back (PSP credits of ours + credit-account entries) equals the refunds owed. */
async function expectMoneyReturnedOnce(fixtures: FixtureRefund[]): Promise<void> {
  const entries = await creditEntries();
  const returned = fixtures.map((f) => ({ id: f.id, owed: f.amount, back: pspCredits(f.transactionId) + (entries.get(f.id)?.amount ?? 0) }));
  expect(returned.filter((r) => r.back !== r.owed)).toEqual([]);
}

describe('money safety through the synthesized state machines', () => {
  it('an outage that books behind an HTML 502, then keys forgotten: after the operator\'s rounds every payment got its money back exactly once', async () => {
    // prepare: card refunds, half of whose payments would take a second credit, and two non-card refunds
    const { from, to, createdAt } = range();
    const f = await pendingRefunds('outage', createdAt, [
      ...Array.from({ length: 10 }, (_, i) => ({ method: 'card' as const, amount: 2000 + i * 100, ...(i % 2 === 0 ? { paid: 2 * (2000 + i * 100) + 500 } : {}) })),
      { method: 'amazon_pay' as const, amount: 1500, paid: 4000 },
      { method: 'klarna' as const },
      { method: 'sofort' as const },
    ]);
    const cards = f.filter((x) => x.transactionId);
    // The load balancer answers every credit request (new and replayed keys) with an HTML 502, although the backend books it.
    rt.sandbox.configureFaults({ rules: [{ keys: 'any', fault: { kind: 'booked_then_5xx', status: 502, html: true } }] });
    await rt.configure({ environment: { MASS_REFUND_PSP_TIMEOUT_MS: '2000' } });
    await rt.configure({ environment: { MASS_REFUND_RECONCILE_MARGIN_SECONDS: '60' } });

    // act 1: the psp pass during the outage, the credit pass, and a reconciliation right after
    const sim = await ok('DispatchRefunds', { mode: 'simulate', from, to });
    const pass = await ok('DispatchRefunds', { mode: 'psp', from, to, simulationRunId: sim.runId });
    const credit = await ok('DispatchRefunds', { mode: 'credit', from, to, simulationRunId: sim.runId });
    const early = await ok('ReconcileRefunds', {});

    // assess 1: every card refund unknown (none deferred, none credited), the PSP holds their credits, the report says so
    expect(pass.outcomes.unknown?.count).toBe(cards.length);
    expect(pass.outcomes.deferred).toBeUndefined();
    expect(credit.outcomes.credited?.count).toBe(2);
    let refunds = await allRefunds();
    expect(cards.map((x) => refunds.get(x.id)?.status)).toEqual(cards.map(() => 'unknown'));
    expect(rt.sandbox.ledger().filter((c) => cards.some((x) => x.transactionId === c.transactionId))).toHaveLength(cards.length);
    expect(early.outcomes.too_recent?.count).toBe(cards.length);
    expect(early.differenceCount).toBe(cards.length);
    expect((early.differences as { unexplainedCredits: { source: string }[] }[]).every((d) => d.unexplainedCredits.length === 1 && d.unexplainedCredits[0]!.source === 'api')).toBe(true);

    // act 2: the outage is over; more than an hour later Datatrans has forgotten the keys; the operator's rounds
    rt.sandbox.configureFaults({ rules: [] });
    rt.sandbox.advanceClock(61 * 60_000);
    await rt.configure({ environment: { MASS_REFUND_RECONCILE_MARGIN_SECONDS: '0' } });
    await new Promise((r) => setTimeout(r, 2100)); // past the client time-out after the last request
    const postsBefore = posts();
    const first = await operatorRound(from, to);
    const second = await operatorRound(from, to);

    // assess 2: every card refund found booked by a lookup, none sent again, none credited; money back exactly once
    expect(first.reconcile.outcomes.refunded?.count).toBe(cards.length);
    expect(posts()).toBe(postsBefore);
    expect([first.psp.outcomes.refunded, second.psp.outcomes.refunded, first.credit.outcomes.credited, second.credit.outcomes.credited]).toEqual([undefined, undefined, undefined, undefined]);
    expect(second.reconcile.differenceCount).toBe(0);
    refunds = await allRefunds();
    expect(f.map((x) => refunds.get(x.id)?.status)).toEqual([...cards.map(() => 'refunded'), 'credited', 'credited']);
    expect(rt.sandbox.stats().overRefundsRefused).toBe(0);
    await expectMoneyReturnedOnce(f);
    await assertConsistent(rt);
  });

  it('a back-office credit on a transaction is never taken for ours: the unknown refund is sent again and booked once; the report lists the credit', async () => {
    // prepare: a card refund of 3000 on a payment of 6500; the PSP answers 503 without booking; then the back office credits 3000
    const { from, to, createdAt } = range();
    const f = await pendingRefunds('backoffice', createdAt, [{ method: 'card', amount: 3000, paid: 6500 }]);
    const [r] = f;
    rt.sandbox.configureFaults({ rules: [{ transactionId: r!.transactionId!, times: 1, fault: { kind: 'http_5xx', status: 503 } }] });
    await rt.configure({ environment: { MASS_REFUND_PSP_TIMEOUT_MS: '2000' } });
    await rt.configure({ environment: { MASS_REFUND_RECONCILE_MARGIN_SECONDS: '0' } });
    const sim = await ok('DispatchRefunds', { mode: 'simulate', from, to });
    await ok('DispatchRefunds', { mode: 'psp', from, to, simulationRunId: sim.runId });
    const backOffice = rt.sandbox.adminCredit(r!.transactionId!, 3000);
    await new Promise((res) => setTimeout(res, 2100));

    // act
    const reconcile = await ok('ReconcileRefunds', {});
    const sim2 = await ok('DispatchRefunds', { mode: 'simulate', from, to });
    const pass = await ok('DispatchRefunds', { mode: 'psp', from, to, simulationRunId: sim2.runId });

    // assess
    expect(reconcile.outcomes.back_to_pending?.count).toBe(1);
    const d = (reconcile.differences as { transactionId: string; unexplainedCredits: { amount: number; date: string; source: string }[] }[]).find((x) => x.transactionId === r!.transactionId);
    expect(d?.unexplainedCredits).toEqual([{ amount: 3000, date: backOffice.at, source: 'admin' }]);
    expect(pass.outcomes.refunded?.count).toBe(1);
    expect((await allRefunds()).get(r!.id)?.status).toBe('refunded');
    expect(pspCredits(r!.transactionId)).toBe(3000);
    await assertConsistent(rt);
  });

  it('an over-refund refusal is never credited: unknown, then manual with the reason once a lookup shows the money went back by other means; the report lists the transaction\'s credits', async () => {
    // prepare: the back office already credited 2000 of a 5000 payment; our refund is the whole 5000
    const { from, to, createdAt } = range();
    const [r] = await pendingRefunds('overrefund', createdAt, [{ method: 'card', amount: 5000 }]);
    rt.sandbox.adminCredit(r!.transactionId!, 2000);
    await rt.configure({ environment: { MASS_REFUND_PSP_TIMEOUT_MS: '2000' } });
    await rt.configure({ environment: { MASS_REFUND_RECONCILE_MARGIN_SECONDS: '0' } });

    // act
    const sim = await ok('DispatchRefunds', { mode: 'simulate', from, to });
    const pass = await ok('DispatchRefunds', { mode: 'psp', from, to, simulationRunId: sim.runId });
    const credit = await ok('DispatchRefunds', { mode: 'credit', from, to, simulationRunId: sim.runId });
    const afterPass = (await allRefunds()).get(r!.id);
    await new Promise((res) => setTimeout(res, 2100));
    const reconcile = await ok('ReconcileRefunds', {});
    const round = await operatorRound(from, to);

    // assess
    expect(pass.outcomes.unknown?.count).toBe(1);
    expect(afterPass).toMatchObject({ status: 'unknown', pspCode: 'INVALID_PROPERTY', refusal: 'not_creditable' });
    expect(credit.outcomes.credited).toBeUndefined();
    expect(reconcile.outcomes.manual?.count).toBe(1);
    const final = (await allRefunds()).get(r!.id) as { status: string; manual?: { note: string } };
    expect(final.status).toBe('manual');
    expect(final.manual?.note).toContain('money may have gone back by other means');
    const d = (reconcile.differences as { transactionId: string; unexplainedCredits: { amount: number; source: string }[]; refundIds: string[] }[]).find((x) => x.transactionId === r!.transactionId);
    expect(d?.unexplainedCredits).toEqual([expect.objectContaining({ amount: 2000, source: 'admin' })]);
    expect(d?.refundIds).toEqual([`${r!.id}:manual`]);
    expect([round.psp.outcomes.refunded, round.credit.outcomes.credited]).toEqual([undefined, undefined]);
    expect((await creditEntries()).has(r!.id)).toBe(false);
    expect(pspCredits(r!.transactionId)).toBe(0);
    await assertConsistent(rt);
  });

  it('a slow booking is not reconciled too early: the refund stays unknown until the booking can show, then is found refunded', async () => {
    // prepare: the PSP books 4 s after the request, the client gives up after 2 s
    const { from, to, createdAt } = range();
    const [r] = await pendingRefunds('slow', createdAt, [{ method: 'card', amount: 2500, paid: 6000 }]);
    rt.sandbox.configureFaults({ rules: [{ transactionId: r!.transactionId!, times: 1, fault: { kind: 'slow_commit', ms: 4000 } }] });
    await rt.configure({ environment: { MASS_REFUND_PSP_TIMEOUT_MS: '2000' } });
    await rt.configure({ environment: { MASS_REFUND_RECONCILE_MARGIN_SECONDS: '60' } });
    const sim = await ok('DispatchRefunds', { mode: 'simulate', from, to });
    const pass = await ok('DispatchRefunds', { mode: 'psp', from, to, simulationRunId: sim.runId });
    expect(pass.outcomes.unknown?.count).toBe(1);

    // act 1: reconcile at once: the PSP shows no credit yet, but it is too early to say so
    const early = await ok('ReconcileRefunds', {});
    // assess 1
    expect(early.outcomes.too_recent?.count).toBe(1);
    expect(early.outcomes.back_to_pending).toBeUndefined();
    expect((await allRefunds()).get(r!.id)?.status).toBe('unknown');

    // act 2: later (the margin passed, which the test stands in for by lowering it once the booking landed)
    for (let i = 0; i < 100 && pspCredits(r!.transactionId) === 0; i++) await new Promise((res) => setTimeout(res, 100));
    await rt.configure({ environment: { MASS_REFUND_RECONCILE_MARGIN_SECONDS: '0' } });
    const later = await ok('ReconcileRefunds', {});
    // assess 2
    expect(later.outcomes.refunded?.count).toBe(1);
    expect((await allRefunds()).get(r!.id)?.status).toBe('refunded');
    expect(pspCredits(r!.transactionId)).toBe(2500);
    await assertConsistent(rt);
  });

  it('a released refund keeps its key until its attempt is proven: same key while Datatrans keeps it, a lookup first after 50 minutes; never a second credit', async () => {
    // prepare: two failed refunds as an older dispatch left them: released after a 502 that in fact booked (attempt 2), no proof.
    // Both payments would take a second credit.
    const { from, to, createdAt } = range();
    const f = await pendingRefunds('released', createdAt, [
      { method: 'card', amount: 1800, paid: 5000 },
      { method: 'card', amount: 1900, paid: 5000 },
    ]);
    const [recent, old] = f;
    const bookBehindA502 = async (x: FixtureRefund) => {
      rt.sandbox.configureFaults({ rules: [{ transactionId: x.transactionId!, times: 1, fault: { kind: 'booked_then_5xx', status: 502 } }] });
      expect((await psp().refund({ refundId: x.id, originalTransactionId: x.transactionId!, amount: { amount: x.amount, currency: 'CHF' }, attempt: 2 })).kind).toBe('unknown');
    };
    // The PSP's clock: the old request 61 minutes ago (its key forgotten), the recent one 16 minutes ago (kept).
    await bookBehindA502(old!);
    rt.sandbox.advanceClock(45 * 60_000);
    await bookBehindA502(recent!);
    rt.sandbox.advanceClock(16 * 60_000);
    rt.sandbox.configureFaults({ rules: [] });
    const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
    await asLeftBefore(recent!.id, { status: 'failed', attempt: 2, attemptSentAt: minutesAgo(10), attemptNotBooked: false, pspCode: 'EXPIRED_CARD', lastPspAt: minutesAgo(10) });
    await asLeftBefore(old!.id, { status: 'failed', attempt: 2, attemptSentAt: minutesAgo(55), attemptNotBooked: false, pspCode: 'EXPIRED_CARD', lastPspAt: minutesAgo(55) });

    // act: the credit pass first (would credit a failed refund), then the psp pass
    const sim = await ok('DispatchRefunds', { mode: 'simulate', from, to });
    const credit = await ok('DispatchRefunds', { mode: 'credit', from, to, simulationRunId: sim.runId });
    const postsBefore = posts();
    const pass = await ok('DispatchRefunds', { mode: 'psp', from, to, simulationRunId: sim.runId });

    // assess: nothing credited; the recent one resent under its same key (replayed), the old one settled by a lookup, not resent
    expect(credit.outcomes.credited).toBeUndefined();
    expect(posts() - postsBefore).toBe(1);
    expect(pass.outcomes.refunded?.count).toBe(2);
    const refunds = await allRefunds();
    expect([recent, old].map((x) => [refunds.get(x!.id)?.status, refunds.get(x!.id)?.attempt])).toEqual([
      ['refunded', 2],
      ['refunded', 2],
    ]);
    expect(rt.sandbox.ledger().filter((c) => [recent!.transactionId, old!.transactionId].includes(c.transactionId)).map((c) => c.idempotencyKey)).toEqual([
      idempotencyKeyFor(old!.id, 2),
      idempotencyKeyFor(recent!.id, 2),
    ]);
    await expectMoneyReturnedOnce(f);
    await assertConsistent(rt);
  });

  it('a credit that failed after booking while its answer was lost: failed (then a new attempt) when only ours can have failed; with a back-office credit of the same amount, unclear, then a person decides', async () => {
    // prepare: two card refunds whose credits the PSP booked and then reported failed, their answers lost (unknown);
    // the back office credited one payment with the same amount as ours
    const { from, to, createdAt } = range();
    const [twin, alone] = await pendingRefunds('latefail', createdAt, [
      { method: 'card', amount: 2400, paid: 4800 },
      { method: 'card', amount: 2600 },
    ]);
    rt.sandbox.adminCredit(twin!.transactionId!, 2400);
    for (const x of [twin!, alone!]) {
      rt.sandbox.configureFaults({ rules: [{ transactionId: x.transactionId!, times: 1, fault: { kind: 'late_failure' } }] });
      expect((await psp().refund({ refundId: x.id, originalTransactionId: x.transactionId!, amount: { amount: x.amount, currency: 'CHF' }, attempt: 1 })).kind).toBe('succeeded');
      const minuteAgo = new Date(Date.now() - 60_000).toISOString();
      await asLeftBefore(x.id, { status: 'unknown', attempt: 1, attemptSentAt: minuteAgo, lastPspAt: minuteAgo, attemptNotBooked: false, pspUnknownReason: 'answer lost' });
    }
    rt.sandbox.configureFaults({ rules: [] });
    await rt.configure({ environment: { MASS_REFUND_RECONCILE_MARGIN_SECONDS: '0' } });

    // act 1
    const first = await operatorRound(from, to);
    // assess 1: the lone one failed (its money did not move), so the psp pass tried a new attempt (new key), booked once;
    // the twin stays unknown, neither sent again nor credited
    expect(first.reconcile.outcomes).toMatchObject({ failed: { count: 1 }, still_unknown: { count: 1 } });
    expect(first.psp.outcomes.refunded?.count).toBe(1);
    expect(first.credit.outcomes.credited).toBeUndefined();
    let refunds = await allRefunds();
    expect([twin, alone].map((x) => refunds.get(x!.id)?.status)).toEqual(['unknown', 'refunded']);
    expect(refunds.get(alone!.id)).toMatchObject({ attempt: 2, failedCredits: [{ creditTransactionId: null, amount: 2600, at: expect.any(String) }] });
    expect(pspCredits(alone!.transactionId)).toBe(2600);

    // act 2: unclear for longer than a person is given (30 s here, a night in production)
    await rt.configure({ environment: { MASS_REFUND_UNCLEAR_TO_MANUAL_SECONDS: '30' } });
    const second = await operatorRound(from, to);
    await rt.configure({ environment: { MASS_REFUND_UNCLEAR_TO_MANUAL_SECONDS: undefined } });
    // assess 2
    expect(second.reconcile.outcomes.manual?.count).toBe(1);
    refunds = await allRefunds();
    const manual = refunds.get(twin!.id) as { status: string; manual?: { note: string } };
    expect(manual.status).toBe('manual');
    expect(manual.manual?.note).toContain('cannot tell');
    expect((await creditEntries()).has(twin!.id)).toBe(false);
    expect(pspCredits(twin!.transactionId)).toBe(0);
    await assertConsistent(rt);
  });

  it('DUPLICATE_REFNO is settled by a lookup: our credit found means refunded; none means failed for the credit pass, never resent in a loop', async () => {
    // prepare: merchant setting "unique refno"; one refund whose reference already carries our credit at the PSP
    // (its record lost), one for which the PSP answers DUPLICATE_REFNO without holding any credit of ours
    const { from, to, createdAt } = range();
    const [found, none] = await pendingRefunds('refno', createdAt, [
      { method: 'card', amount: 2100, paid: 5000 },
      { method: 'card', amount: 2200, paid: 5000 },
    ]);
    rt.sandbox.configure({ uniqueRefno: true });
    expect((await psp().refund({ refundId: found!.id, originalTransactionId: found!.transactionId!, amount: { amount: 2100, currency: 'CHF' }, attempt: 1 })).kind).toBe('succeeded');
    rt.sandbox.advanceClock(61 * 60_000); // that request's key is forgotten: the psp pass gets DUPLICATE_REFNO, not a replay
    rt.sandbox.configureFaults({ rules: [{ transactionId: none!.transactionId!, fault: { kind: 'decline', code: 'DUPLICATE_REFNO', message: 'a transaction with this refno exists already' } }] });
    await rt.configure({ environment: { MASS_REFUND_PSP_TIMEOUT_MS: '2000' } });
    await rt.configure({ environment: { MASS_REFUND_RECONCILE_MARGIN_SECONDS: '0' } });

    // act
    const sim = await ok('DispatchRefunds', { mode: 'simulate', from, to });
    const pass = await ok('DispatchRefunds', { mode: 'psp', from, to, simulationRunId: sim.runId });
    await new Promise((res) => setTimeout(res, 2100));
    const first = await operatorRound(from, to);
    const postsBefore = posts();
    const second = await operatorRound(from, to);

    // assess
    expect(pass.outcomes.unknown?.count).toBe(2);
    expect(first.reconcile.outcomes).toMatchObject({ refunded: { count: 1 }, failed: { count: 1 } });
    expect(first.credit.outcomes.credited?.count).toBe(1);
    expect(posts()).toBe(postsBefore);
    expect(second.psp.outcomes.refunded).toBeUndefined();
    const refunds = await allRefunds();
    expect([found, none].map((x) => refunds.get(x!.id)?.status)).toEqual(['refunded', 'credited']);
    await expectMoneyReturnedOnce([found!, none!]);
    await assertConsistent(rt);
  });
});
