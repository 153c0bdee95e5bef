import { describe, expect, it } from 'vitest';
import type { OutboxEntry, OutboxPage, Recipient, SentMark } from '../../../lib/adapters/dynamodb/outbox.ts';
import { classifySendError, type MailerConfig, type OutgoingEmail } from '../../../lib/adapters/ses/mailer.ts';
import { LEASE_LOST, type SendingSettings } from '../../../lib/core/email-sending.ts';
import type { NotificationKind } from '../../../lib/core/refund-emails.ts';
import { sendBatch, type SenderRun } from '../../../lib/services/send-emails/batch.ts';
import { takeSenderLease } from '../../../lib/services/send-emails/lease.ts';
import type { InvocationClock } from '../../../lib/services/clock.ts';
import type { SenderPorts } from '../../../lib/services/send-emails/ports.ts';

/** An outbox in memory, paged by shard in key order as the index pages it. */
class FakeOutbox {
  readonly marks = new Map<string, { shard: number; sortKey: string; entry: OutboxEntry }>();

  add(shard: number, id: string, orderId: string, kind: NotificationKind, ownerId = `C-${orderId}`): void {
    const entry: OutboxEntry = {
      key: { pk: `REFUND#${id}`, sk: 'REFUND' },
      id,
      orderId,
      ownerId,
      ownerKind: 'customer',
      notification: { kind, status: 'unsent' },
      refund: { amount: { amount: 1000, currency: 'CHF' }, method: 'card', reason: 'cancellation', performanceId: null, percentHundredths: null, pspCode: null, runIds: [] },
    };
    this.marks.set(id, { shard, sortKey: `${orderId}#${kind}#${id}`, entry });
  }

  status(id: string) {
    return this.marks.get(id)?.entry.notification;
  }

  async page(shard: number, cursor: string | null, limit: number): Promise<OutboxPage> {
    const inShard = [...this.marks.values()]
      .filter((m) => m.shard === shard && (m.entry.notification.status === 'unsent' || m.entry.notification.status === 'sending'))
      .sort((a, b) => a.sortKey.localeCompare(b.sortKey))
      .filter((m) => cursor === null || m.sortKey > cursor);
    const page = inShard.slice(0, limit);
    return { entries: page.map((m) => structuredClone(m.entry)), keys: page.map((m) => ({ sortKey: m.sortKey })), cursor: inShard.length > limit ? (page.at(-1)?.sortKey ?? null) : null };
  }

  resumeAfter(page: OutboxPage, used: number): string | null {
    return used < page.entries.length ? (page.keys[used - 1]?.sortKey as string) : page.cursor;
  }

  async markSending(entries: readonly OutboxEntry[], runId: string): Promise<Set<OutboxEntry>> {
    const marked = new Set<OutboxEntry>();
    for (const e of entries) {
      const n = this.status(e.id);
      if (n?.status !== 'unsent') continue;
      Object.assign(n, { status: 'sending', runId });
      marked.add(e);
    }
    return marked;
  }

  async markSent(sent: readonly SentMark[]): Promise<void> {
    for (const m of sent) Object.assign(this.status(m.key.pk.slice('REFUND#'.length)) ?? {}, { status: 'sent', messageId: m.messageId });
  }

  async release(e: OutboxEntry, reason: string, countAttempt: boolean): Promise<'unsent' | 'failed'> {
    const n = this.status(e.id);
    const attempts = (n?.attempts ?? 0) + (countAttempt ? 1 : 0);
    const status = countAttempt && attempts >= 5 ? 'failed' : 'unsent';
    Object.assign(n ?? {}, { status, attempts, lastError: reason });
    return status;
  }

  async fail(e: OutboxEntry, reason: string): Promise<void> {
    Object.assign(this.status(e.id) ?? {}, { status: 'failed', lastError: reason });
  }
}

/** SES answering as told, one answer a call (then accepting everything). */
function fakeMailer(answers: ('ok' | 'throttled' | 'stop' | 'lost' | 'rejected')[] = []) {
  const sent: OutgoingEmail[] = [];
  const error = (name: string, message: string, status?: number) => Object.assign(new Error(message), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });
  return {
    sent,
    async send(email: OutgoingEmail) {
      const answer = answers.shift() ?? 'ok';
      if (answer === 'throttled') throw error('Throttling', 'Maximum sending rate exceeded.', 400);
      if (answer === 'stop') throw error('Throttling', 'Daily message quota exceeded.', 400);
      if (answer === 'rejected') throw error('MessageRejected', 'Address blacklisted.', 400);
      if (answer === 'lost') throw error('TimeoutError', 'socket hang up');
      sent.push(email);
      return { messageId: `m-${sent.length}` };
    },
    classify: classifySendError,
  };
}

/** A clock that moves only when someone waits; the Lambda has plenty of time left. */
function fakeClock(): InvocationClock & { slept: number[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  return { slept, now: () => now, remainingMs: () => 600_000, sleep: async (ms) => void (slept.push(ms), (now += ms)) };
}

const mail: MailerConfig = { sender: 'refunds@example.ch', senderName: 'Example Tickets', replyTo: [], brand: 'Example Tickets', supportEmail: 'help@example.ch', shopUrl: 'https://tickets.example.ch' };
const settings: SendingSettings = { batchSeconds: 60, pageSize: 200, maxSweeps: 20, chunkSize: 24, chunksAtOnce: 3, batchesPerExecution: 400 };

function startOf(): SenderRun {
  return { runId: 'S1', sendRate: 1000, shard: 0, cursor: null, sweep: 1, sweepSent: 0, sweepDeferred: 0, batches: 0, done: false, stopReason: null, tallies: {}, errors: [], moreErrors: 0, activeMs: 0, executionBatches: 0, batchesPart: 1 };
}

function portsOf(outbox: FakeOutbox, mailer: ReturnType<typeof fakeMailer>, over: Partial<SenderPorts> = {}) {
  const log: { key: string; lines: string[] }[] = [];
  const recipients = (owners: readonly { ownerId: string; ownerKind: 'customer' | 'agency' }[]) =>
    Promise.resolve(new Map<string, Recipient>(owners.filter((o) => o.ownerId !== 'C-nobody').map((o) => [`${o.ownerKind}:${o.ownerId}`, { email: `${o.ownerId}@example.ch`, language: 'en', name: o.ownerId }])));
  const ports: SenderPorts = {
    outbox,
    catalog: { recipientsOf: recipients, performancesOf: async () => new Map() },
    mailer,
    runs: { get: async () => undefined, log: async (_runId, key, lines) => void log.push({ key, lines }) },
    lease: { acquire: async () => ({ acquired: true }), renew: async () => true },
    clock: fakeClock(),
    warn: () => {},
    ...over,
  };
  return { ports, log };
}

describe('sendBatch', () => {
  it('sends one email per order and kind across the shards, marks them sent and logs each line', async () => {
    // prepare: two marks of one order and kind, a mark of another kind, a mark in the last shard
    const outbox = new FakeOutbox();
    outbox.add(0, 'R1', 'O1', 'refunded_to_card');
    outbox.add(0, 'R2', 'O1', 'refunded_to_card');
    outbox.add(0, 'R3', 'O1', 'credited');
    outbox.add(15, 'R4', 'O9', 'refunded_to_card');
    const mailer = fakeMailer();
    const { ports, log } = portsOf(outbox, mailer);
    // act
    const after = await sendBatch(startOf(), ports, settings, mail);
    // assess: three emails, every mark sent; a second sweep found nothing, the run is done
    expect(mailer.sent.map((e) => e.to).sort()).toEqual(['C-O1@example.ch', 'C-O1@example.ch', 'C-O9@example.ch']);
    expect(after).toMatchObject({ done: true, stopReason: null, pause: false, batches: 1, sweep: 2, executionBatches: 1, tallies: { emails_sent: { count: 3, totals: {} } }, errors: [] });
    for (const id of ['R1', 'R2', 'R3', 'R4']) expect(outbox.status(id)?.status).toBe('sent');
    expect(log.map((l) => l.key)).toEqual(['emails#batch00001']);
    expect(log[0]?.lines.map((l) => l.replace(/\(m-\d\)/, '(m)')).sort()).toEqual(['credited order=O1 marks=R3: sent (m)', 'refunded_to_card order=O1 marks=R1,R2: sent (m)', 'refunded_to_card order=O9 marks=R4: sent (m)']);
  });

  it('stops without sending when another run took the sender lease over', async () => {
    // prepare
    const outbox = new FakeOutbox();
    outbox.add(0, 'R1', 'O1', 'refunded_to_card');
    const mailer = fakeMailer();
    const { ports } = portsOf(outbox, mailer, { lease: { acquire: async () => ({ acquired: true }), renew: async () => false } });
    // act
    const after = await sendBatch(startOf(), ports, settings, mail);
    // assess
    expect(after).toMatchObject({ done: true, pause: false, stopReason: LEASE_LOST, batches: 1 });
    expect(mailer.sent).toHaveLength(0);
    expect(outbox.status('R1')?.status).toBe('unsent');
  });

  it('tries a throttled email again, then leaves it for the next sweep, which waits for the quota first', async () => {
    // prepare: SES throttles the first three tries
    const outbox = new FakeOutbox();
    outbox.add(3, 'R1', 'O1', 'refunded_to_card');
    const mailer = fakeMailer(['throttled', 'throttled', 'throttled']);
    const { ports } = portsOf(outbox, mailer);
    // act
    const after = await sendBatch(startOf(), ports, settings, mail);
    // assess: three throttles (waits of 500 ms and 1 s), deferred, a back-off of 500 ms, sent on sweep 2
    expect(after.tallies).toEqual({ ses_throttled: { count: 3, totals: {} }, emails_deferred: { count: 1, totals: {} }, emails_sent: { count: 1, totals: {} } });
    expect((ports.clock as ReturnType<typeof fakeClock>).slept).toEqual([500, 1000, 500]);
    expect(after).toMatchObject({ done: true, stopReason: null, sweep: 3 });
    expect(outbox.status('R1')).toMatchObject({ status: 'sent', attempts: 0 });
  });

  it('stops the run when SES stops sending: the emails not sent stay in the outbox', async () => {
    // prepare: the daily quota is reached at the first email
    const outbox = new FakeOutbox();
    outbox.add(0, 'R1', 'O1', 'refunded_to_card');
    outbox.add(0, 'R2', 'O2', 'refunded_to_card');
    const mailer = fakeMailer(['stop']);
    const { ports } = portsOf(outbox, mailer);
    // act
    const after = await sendBatch({ ...startOf(), sendRate: 1 }, ports, settings, mail);
    // assess: the refused email deferred; the one after it not tried, back in the outbox with the run's reason
    const reason = 'SES stopped sending: Throttling: Daily message quota exceeded.';
    expect(after).toMatchObject({ done: true, stopReason: reason, errors: [{ code: 'SendingStopped', message: reason }] });
    expect(after.tallies).toEqual({ emails_deferred: { count: 1, totals: {} } });
    expect(mailer.sent).toHaveLength(0);
    expect(outbox.status('R1')).toMatchObject({ status: 'unsent', lastError: 'Throttling: Daily message quota exceeded.' });
    expect(outbox.status('R2')).toMatchObject({ status: 'unsent', lastError: `not sent: ${reason}` });
  });

  it('never resends an email whose answer was lost, fails one with no address, gives a refused one back', async () => {
    // prepare
    const outbox = new FakeOutbox();
    outbox.add(0, 'R1', 'O1', 'refunded_to_card');
    outbox.add(0, 'R2', 'O2', 'refunded_to_card');
    outbox.add(0, 'R3', 'O3', 'credited', 'C-nobody');
    const mailer = fakeMailer(['lost', 'rejected']);
    const warnings: string[] = [];
    const { ports } = portsOf(outbox, mailer, { warn: (message) => void warnings.push(message) });
    // act
    const after = await sendBatch({ ...startOf(), sendRate: 1 }, ports, { ...settings, chunksAtOnce: 1 }, mail);
    // assess: R1 stays sending, R3 failed, R2 refused once is left for a later run (the sweep sent nothing)
    expect(outbox.status('R1')?.status).toBe('sending');
    expect(outbox.status('R3')).toMatchObject({ status: 'failed', lastError: 'no email address for customer C-nobody' });
    expect(outbox.status('R2')).toMatchObject({ status: 'unsent', attempts: 1 });
    expect(after.errors.map((e) => e.code).sort()).toEqual(['EmailRejected', 'EmailUnconfirmed', 'NoEmailAddress']);
    expect(after.tallies).toMatchObject({ emails_unconfirmed: { count: 1 }, emails_failed: { count: 2 } });
    expect(warnings).toEqual(['SES gave no answer: the email may have gone out, it is not resent']);
  });

  it('pauses the execution once it ran its batches, counting them afresh in a new part of the run', async () => {
    // prepare: a Lambda too close to its time-out to send; an execution allowed 2 batches
    const { ports } = portsOf(new FakeOutbox(), fakeMailer(), { clock: { ...fakeClock(), remainingMs: () => 15_000 } });
    const small = { ...settings, batchesPerExecution: 2 };
    // act
    const first = await sendBatch(startOf(), ports, small, mail);
    const second = await sendBatch(first, ports, small, mail);
    const nextPart = await sendBatch({ ...second, continuation: { part: 2 } }, ports, small, mail);
    // assess: the second batch of the execution pauses it; the next part counts from one
    expect(first).toMatchObject({ batches: 1, executionBatches: 1, pause: false, done: false });
    expect(second).toMatchObject({ batches: 2, executionBatches: 2, pause: true, done: false });
    expect(nextPart).toMatchObject({ batches: 3, executionBatches: 1, batchesPart: 2, pause: false });
  });
});

describe('takeSenderLease', () => {
  it('waits for the run that holds the lease, then leaves the outbox to it', async () => {
    // prepare: the lease is held for good
    const clock = fakeClock();
    let asked = 0;
    const lease = { acquire: async () => (asked++, { acquired: false as const, holder: 'S0' }), renew: async () => true };
    // act
    const taken = await takeSenderLease('S1', lease, clock, 60_000, 1000);
    // assess: asked every 250 ms for a second
    expect(taken).toEqual({ acquired: false, holder: 'S0' });
    expect(asked).toBe(5);
  });
});
