import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaErrorMessage } from '../../lib/core/errors.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { allRefunds, assertConsistent, pendingRefunds, sesEmails, type Report } from '../support/dispatch-fixtures.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());
beforeEach(() => rt.ses.setQuota({}));

let day = 0;
/** Card refunds refunded at the PSP (each owes one email), not sent yet: the passes run without the sender. */
async function owedCardEmails(scenario: string, count: number): Promise<{ ids: string[] }> {
  day += 1;
  const from = `2026-04-${String(day).padStart(2, '0')}`;
  const to = `2026-04-${String(day + 1).padStart(2, '0')}`;
  const f = await pendingRefunds(scenario, `${from}T09:00:00Z`, Array.from({ length: count }, () => ({ method: 'card' as const })));
  const sim = await rt.start('DispatchRefunds', { mode: 'simulate', from, to, requestedBy: 'op' }, undefined, { emails: false });
  const psp = await rt.start('DispatchRefunds', { mode: 'psp', from, to, simulationRunId: (sim.output as Report).runId, requestedBy: 'op' }, undefined, { emails: false });
  expect((psp.output as Report).outcomes.refunded?.count).toBe(count);
  return { ids: f.map((x) => x.id) };
}

async function send(input: Record<string, unknown> = {}, name?: string): Promise<Report> {
  const result = await rt.start('SendEmails', { requestedBy: 'op', ...input }, name);
  expect(result.status, `${result.error} ${result.cause}`).toBe('SUCCEEDED');
  return result.output as Report;
}

/** Most sends accepted in any one second (a half-open window starting at each send). */
function busiestSecond(times: readonly number[]): number {
  let best = 0;
  for (let i = 0; i < times.length; i++) {
    let n = 0;
    while (i + n < times.length && (times[i + n] as number) < (times[i] as number) + 1000) n++;
    best = Math.max(best, n);
  }
  return best;
}

describe('SendEmails through the synthesized state machine', () => {
  it('drains the outbox at no more than its sending rate, each email once, from the configured sender with a Reply-To', async () => {
    // prepare: 24 card refunds owe 24 emails
    const { ids } = await owedCardEmails('rate', 24);
    rt.ses.setQuota({ maxSendRate: 8 }); // an account allowed 8 a second (SES takes a second's worth in a burst)
    const throttledBefore = rt.ses.throttled();
    const before = rt.ses.accepted.length;
    // act
    const report = await send({ sendRate: 8 }, 'send-rate');
    // assess: never over the quota, spread over the time the rate needs, and the run says what it kept
    const times = rt.ses.accepted.slice(before);
    expect(times).toHaveLength(24);
    expect(rt.ses.throttled() - throttledBefore).toBe(0);
    // Slots are 1/8 s apart: 24 sends span at least 23/8 s (a late first request may shorten it a little).
    expect((times.at(-1)! - times[0]!) / 1000).toBeGreaterThan(2.5);
    expect(busiestSecond(times)).toBeLessThanOrEqual(8 + 2); // two of slack for requests the machine delayed into the next second
    expect(report.outcomes.emails_sent?.count).toBe(24);
    expect(report.sendRate).toBe(8);
    expect(report.sentPerSecond as number).toBeLessThanOrEqual(8.5);
    const refunds = await allRefunds();
    for (const id of ids) expect(refunds.get(id)?.notification).toMatchObject({ kind: 'refunded_to_card', status: 'sent', runId: 'send-rate' });
    const mails = (await sesEmails(rt)) as unknown as { from: string; replyTo: string[]; subject: string }[];
    const mine = mails.slice(-24);
    expect(new Set(mine.map((m) => m.from))).toEqual(new Set(['"Example Tickets" <refunds@mass-refund.example>']));
    expect(mine[0]!.replyTo).toEqual(['support@mass-refund.example']);
    // act 2: a second run finds nothing owed
    const again = await send({}, 'send-rate-again');
    expect(again.outcomes.emails_sent).toBeUndefined();
    expect(rt.ses.accepted.length - before).toBe(24);
    await assertConsistent(rt);
  });

  it('waits when SES throttles: every email still goes out exactly once', async () => {
    // prepare: the account allows 2 emails a second, the run tries 40 (a low quota, so a
    // loaded machine still sends faster than SES allows)
    const { ids } = await owedCardEmails('throttled', 12);
    rt.ses.setQuota({ maxSendRate: 2 });
    const throttledBefore = rt.ses.throttled();
    const before = rt.ses.accepted.length;
    // act
    const report = await send({ sendRate: 40 }, 'send-throttled');
    // assess
    expect(rt.ses.throttled()).toBeGreaterThan(throttledBefore);
    expect(report.outcomes.ses_throttled?.count).toBeGreaterThan(0);
    expect(rt.ses.accepted.length - before).toBe(12);
    expect(report.outcomes.emails_sent?.count).toBe(12);
    const refunds = await allRefunds();
    for (const id of ids) expect(refunds.get(id)?.sentEmails, id).toHaveLength(1);
    await assertConsistent(rt);
  });

  it('stops when the daily quota is reached, keeps the rest for the next run, and sends nothing twice', async () => {
    // prepare: 8 emails owed, SES will take 3 more today
    const { ids } = await owedCardEmails('quota', 8);
    rt.ses.setQuota({ max24HourSend: 3 });
    // act 1
    const first = await send({}, 'send-quota-1');
    // assess 1
    expect(first.outcomes.emails_sent?.count).toBe(3);
    expect(first.errors.map((e) => e.code)).toContain('SendingStopped');
    expect(first.errors.find((e) => e.code === 'SendingStopped')?.message).toMatch(/Daily message quota exceeded/);
    let refunds = await allRefunds();
    expect(ids.filter((id) => refunds.get(id)?.notification?.status === 'unsent')).toHaveLength(5);
    // act 2: the next day
    rt.ses.setQuota({});
    const second = await send({}, 'send-quota-2');
    // assess 2
    expect(second.outcomes.emails_sent?.count).toBe(5);
    refunds = await allRefunds();
    for (const id of ids) expect(refunds.get(id)?.sentEmails, id).toHaveLength(1);
    await assertConsistent(rt);
  });

  it('never resends an email whose answer was lost: it stays unconfirmed, the others go out', async () => {
    // prepare: 6 emails owed; SES takes the second one but its answer never arrives
    const { ids } = await owedCardEmails('lost', 6);
    const before = rt.ses.accepted.length;
    // act: a slow rate so the sends go one at a time, then a second run
    const send1 = send({ sendRate: 1 }, 'send-lost-1');
    await new Promise((r) => setTimeout(r, 1200));
    rt.ses.loseAnswers(1);
    const first = await send1;
    const second = await send({}, 'send-lost-2');
    // assess: 6 taken by SES, one of them unconfirmed and never sent again
    expect(rt.ses.accepted.length - before).toBe(6);
    expect(first.outcomes.emails_sent?.count).toBe(5);
    expect(first.outcomes.emails_unconfirmed?.count).toBe(1);
    expect(first.errors.map((e) => e.code)).toContain('EmailUnconfirmed');
    expect(second.outcomes.emails_sent).toBeUndefined();
    expect(second.outcomes.emails_unconfirmed?.count).toBe(1);
    const refunds = await allRefunds();
    expect(ids.filter((id) => refunds.get(id)?.notification?.status === 'sending')).toHaveLength(1);
    expect(ids.filter((id) => refunds.get(id)?.notification?.status === 'sent')).toHaveLength(5);
  });

  it('tells a late failure what the credit policy of the run that refunded it will do: under never, no new refund is promised', async () => {
    // prepare: one card refund per policy, each refunded by a psp run of that policy, then failed late at the PSP
    day += 1;
    const from = `2026-04-${String(day).padStart(2, '0')}`;
    const to = `2026-04-${String(day + 1).padStart(2, '0')}`;
    const [never] = await pendingRefunds('late-never', `${from}T09:00:00Z`, [{ method: 'card', language: 'de' }]);
    rt.sandbox.configureFaults({ rules: [{ transactionId: never!.transactionId!, fault: { kind: 'late_failure' } }] });
    const sim = await rt.start('DispatchRefunds', { mode: 'simulate', from, to, creditPolicy: 'never', requestedBy: 'op' });
    const psp = await rt.start('DispatchRefunds', { mode: 'psp', from, to, creditPolicy: 'never', simulationRunId: (sim.output as Report).runId, requestedBy: 'op' });
    expect((psp.output as Report).outcomes.refunded?.count).toBe(1);
    // act: reconciliation finds the late failure; SendEmails follows it
    const reconcile = await rt.start('ReconcileRefunds', { requestedBy: 'op' });
    rt.sandbox.configureFaults({ rules: [] });
    // assess
    expect((reconcile.output as Report).outcomes.late_failure?.count).toBe(1);
    const late = (await sesEmails(rt)).filter((m) => m.body.text?.includes(never!.orderId) && m.subject.includes('nicht ausgeführt'));
    expect(late).toHaveLength(1);
    expect(late[0]!.body.text).toContain('damit wir mit Ihnen vereinbaren können, wie Sie den Betrag erhalten');
    expect(late[0]!.body.text).not.toContain('Guthabenkonto');
  });

  it('lets one run send at a time: two started together send each email once', async () => {
    // prepare
    const { ids } = await owedCardEmails('twice', 12);
    const before = rt.ses.accepted.length;
    // act
    const [a, b] = await Promise.all([send({ sendRate: 20 }, 'send-a'), send({ sendRate: 20 }, 'send-b')]);
    // assess
    expect((a.outcomes.emails_sent?.count ?? 0) + (b.outcomes.emails_sent?.count ?? 0)).toBe(12);
    expect(rt.ses.accepted.length - before).toBe(12);
    const refunds = await allRefunds();
    for (const id of ids) expect(refunds.get(id)?.sentEmails, id).toHaveLength(1);
    expect((await new RunRepository().get('send-b'))?.status).toBe('succeeded');
  });

  it('rejects bad input at the first state', async () => {
    const result = await rt.start('SendEmails', { sendRate: -1, color: 'blue' }, 'send-bad');
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ValidationError');
    const message = lambdaErrorMessage(result.cause) as string;
    expect(message).toContain('sendRate: must be a positive number of emails per second');
    expect(message).toContain('unknown field(s): color');
    expect(await new RunRepository().get('send-bad')).toBeUndefined();
  });
});
