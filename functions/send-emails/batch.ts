import { OUTBOX_SHARDS, OutboxStore, performancesOf, recipientsOf, type OutboxEntry, type Recipient, type SentMark } from '../../lib/adapters/dynamodb/outbox.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { SenderLock } from '../../lib/adapters/dynamodb/sender-lock.ts';
import { classifySendError, mailerConfigFromEnv, SesMailer, type Mailer, type MailerConfig } from '../../lib/adapters/ses/mailer.ts';
import { groupPage, Pacer } from '../../lib/core/email-sending.ts';
import { renderRefundEmail, type EmailEvent, type EmailRefund, type NotificationKind, type RefundEmailInput } from '../../lib/core/refund-emails.ts';
import { CREDIT_POLICIES, type CreditPolicy } from '../../lib/core/refund-lifecycle.ts';
import { tally, type Tallies } from '../../lib/core/report.ts';
import { forEachConcurrently } from '../../lib/core/concurrency.ts';
import { BATCHES_PER_EXECUTION } from '../../lib/core/continuation.ts';
import { envInt } from '../commons/bookings.ts';
import { stage, type StageContext } from '../commons/handler.ts';
import { logger } from '../commons/powertools.ts';
import { LEASE_MARGIN_MS, OpenedSenderState, type SenderState } from './shared.ts';

const MAX_CARRIED_ERRORS = 20;

/**
 * 3. One batch of a SendEmails run: sweeps the outbox shards page by page, one email per order and
 * kind (an agency's returns: one email per agency and page), at most `sendRate` emails a second,
 * until the outbox is drained or the batch's time is up; the state machine loops.
 *
 * Each mark goes unsent -> sending before SES and sending -> sent after (both packed per chunk),
 * so no email goes out twice. SES refusing (throttling, a bad address) puts the mark back to
 * unsent; throttled marks wait for a later sweep, a mark refused 5 times ends `failed`. No answer
 * at all leaves it `sending` (it may have gone out): reported unconfirmed, never resent.
 */
export const handler = stage(OpenedSenderState, async ({ opened, ...input }, ctx) => {
  const started = Date.now();
  const batchSeconds = envInt('EMAIL_BATCH_SECONDS', 60);
  const budgetMs = Math.min(batchSeconds * 1000, ctx.lambda.getRemainingTimeInMillis() - 30_000);
  const deadline = started + Math.max(1000, budgetMs);
  // Batches counted per execution of the run: past the budget, the run goes on in the next one (its part resets the count).
  const part = input.continuation?.part ?? 1;
  const executionBatches = (input.batchesPart === part ? input.executionBatches : 0) + 1;
  const state: SenderState = { ...input, batches: input.batches + 1, executionBatches, batchesPart: part };
  if (!(await new SenderLock().renew(state.runId, budgetMs + LEASE_MARGIN_MS))) {
    return { ...state, opened, done: true, pause: false, stopReason: 'another SendEmails run took over the sender lease (this one had expired)' };
  }
  const batch = new Batch(state, new OutboxStore(), new SesMailer(), mailerConfigFromEnv(), ctx);
  await batch.run(deadline, budgetMs);
  const pause = !batch.state.done && executionBatches >= batchesPerExecution(batchSeconds);
  return { ...batch.state, opened, activeMs: state.activeMs + (Date.now() - started), pause };
});

/** Batches one execution runs: about 400 minutes of sending whatever the batch length, fewer if the environment says so. */
function batchesPerExecution(batchSeconds: number): number {
  const byTime = Math.floor((BATCHES_PER_EXECUTION * 60) / Math.max(1, batchSeconds));
  return Math.max(1, Math.min(byTime, BATCHES_PER_EXECUTION, envInt('MASS_REFUND_BATCHES_PER_EXECUTION', BATCHES_PER_EXECUTION)));
}

/** A group of marks that make one email. */
type Email = OutboxEntry[];

class Batch {
  private readonly pacer: Pacer;
  private readonly lines: string[] = [];
  private readonly policies = new Map<string, Promise<CreditPolicy>>();
  private stopped: string | null = null;

  constructor(
    public state: SenderState,
    private readonly outbox: OutboxStore,
    private readonly mailer: Mailer,
    private readonly config: MailerConfig,
    private readonly ctx: StageContext,
  ) {
    this.pacer = new Pacer(state.sendRate);
  }

  async run(deadline: number, budgetMs: number): Promise<void> {
    // A page is sent within about half a batch at the run's rate (at 1 email a second, 30 marks, not 200).
    const pageSize = Math.max(5, Math.min(envInt('EMAIL_PAGE_SIZE', 200), Math.floor((this.state.sendRate * budgetMs) / 2000)));
    const maxSweeps = envInt('EMAIL_MAX_SWEEPS', 20);
    let s = this.state;
    while (!s.done && Date.now() < deadline && this.ctx.lambda.getRemainingTimeInMillis() > 20_000) {
      const page = await this.outbox.page(s.shard, s.cursor, pageSize);
      const { emails, kept } = groupPage(
        page.entries.map((e) => ({ ...e, kind: e.notification.kind })),
        page.cursor !== null,
      );
      const cursor = kept < page.entries.length ? JSON.stringify(page.keys[kept - 1]) : page.cursor;
      const outcome = await this.sendAll(emails as Email[]);
      s = this.state;
      s = { ...s, sweepSent: s.sweepSent + outcome.sent, sweepDeferred: s.sweepDeferred + outcome.deferred, cursor };
      if (this.stopped) {
        s = { ...s, done: true, stopReason: this.stopped };
      } else if (cursor === null) {
        // This shard is done; at the end of a sweep, sweep again while it sent or deferred anything.
        if (s.shard + 1 < OUTBOX_SHARDS) s = { ...s, shard: s.shard + 1 };
        else if ((s.sweepSent > 0 || s.sweepDeferred > 0) && s.sweep < maxSweeps) {
          // Throttled marks only: give the quota a moment before trying them again.
          if (s.sweepSent === 0) await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(s.sweep, 5))));
          s = { ...s, shard: 0, sweep: s.sweep + 1, sweepSent: 0, sweepDeferred: 0 };
        } else {
          s = { ...s, done: true, stopReason: s.sweepDeferred > 0 ? `emails still throttled after ${s.sweep} sweeps: they stay in the outbox for the next run` : null };
        }
      }
      this.state = s;
    }
    if (this.lines.length) await new RunRepository().log(s.runId, `emails#batch${String(s.batches).padStart(5, '0')}`, this.lines);
  }

  private count(outcome: string, n = 1): void {
    this.state = { ...this.state, tallies: tally(this.state.tallies, outcome, undefined, n) };
  }

  private error(code: string, message: string): void {
    if (this.state.errors.length < MAX_CARRIED_ERRORS) this.state = { ...this.state, errors: [...this.state.errors, { code, message }] };
    else this.state = { ...this.state, moreErrors: this.state.moreErrors + 1 };
  }

  /**
   * Sends the emails of one page, a chunk at a time: marked sending together, sent, marked sent
   * together. A few chunks run at once so the reads and marks of one overlap the sends of
   * another; the one pacer keeps the rate whatever the overlap.
   */
  private async sendAll(emails: Email[]): Promise<{ sent: number; deferred: number }> {
    let sent = 0;
    let deferred = 0;
    const chunkSize = envInt('EMAIL_CHUNK', 24);
    const chunksAtOnce = envInt('EMAIL_CHUNKS_AT_ONCE', 3);
    const inFlight = Math.max(1, Math.ceil(Math.min(32, Math.max(2, Math.ceil(this.state.sendRate / 4))) / chunksAtOnce));
    const chunks: Email[][] = [];
    for (let i = 0; i < emails.length; i += chunkSize) chunks.push(emails.slice(i, i + chunkSize));
    await forEachConcurrently(chunks, chunksAtOnce, async (chunk) => {
      if (this.stopped) return;
      const unsent = chunk.flatMap((email) => email.filter((e) => e.notification.status === 'unsent'));
      const pendingElsewhere = chunk.flat().length - unsent.length;
      // Marks left `sending` (by a run that stopped, or no answer from SES) are counted once a run, on its first sweep.
      if (pendingElsewhere > 0 && this.state.sweep === 1) this.count('emails_unconfirmed', pendingElsewhere);
      if (unsent.length === 0) return;
      const facts = await this.factsOf(chunk);
      const marked = await this.outbox.markSending(unsent, this.state.runId);
      const done: SentMark[] = [];
      try {
        await forEachConcurrently(chunk, inFlight, async (email) => {
          const mine = email.filter((e) => marked.has(e));
          if (mine.length === 0) return;
          const result = await this.sendOne(mine, facts, done);
          if (result === 'sent') sent++;
          if (result === 'deferred') deferred++;
        });
      } finally {
        await this.outbox.markSent(done);
      }
    });
    return { sent, deferred };
  }

  /** Recipients and performances of a chunk, read at once. */
  private async factsOf(chunk: Email[]): Promise<{ recipients: Map<string, Recipient>; events: Map<string, EmailEvent> }> {
    const all = chunk.flat();
    const performanceIds = all.flatMap((e) => [e.refund?.performanceId, e.notice?.performanceId]).filter((p): p is string => !!p);
    const [recipients, events] = await Promise.all([recipientsOf(all), performanceIds.length ? performancesOf(performanceIds) : Promise.resolve(new Map<string, EmailEvent>())]);
    return { recipients, events };
  }

  private async sendOne(marks: OutboxEntry[], facts: { recipients: Map<string, Recipient>; events: Map<string, EmailEvent> }, done: SentMark[]): Promise<'sent' | 'deferred' | 'failed' | 'unknown' | 'stopped'> {
    const first = marks[0] as OutboxEntry;
    const kind = first.notification.kind;
    const line = `${kind} order=${[...new Set(marks.map((m) => m.orderId))].join(',')} marks=${marks.map((m) => m.id).join(',')}`;
    const recipient = facts.recipients.get(`${first.ownerKind}:${first.ownerId}`);
    if (!recipient?.email) {
      for (const m of marks) await this.outbox.fail(m, `no email address for ${first.ownerKind} ${first.ownerId}`);
      this.count('emails_failed');
      this.lines.push(`${line}: not sent, no email address on record`);
      this.error('NoEmailAddress', `${first.ownerKind} ${first.ownerId} (order ${first.orderId}) has no email address: ${kind} not sent`);
      return 'failed';
    }
    const email = renderRefundEmail(await this.emailInput(kind, marks, recipient, facts.events));
    for (let tries = 1; ; tries++) {
      if (this.stopped) {
        for (const m of marks) await this.outbox.release(m, `not sent: ${this.stopped}`, false);
        return 'stopped';
      }
      // The Lambda must end with its marks written: near its time-out, the email waits for the next batch.
      if (this.ctx.lambda.getRemainingTimeInMillis() < 20_000) {
        for (const m of marks) await this.outbox.release(m, 'not sent: the batch ran out of time', false);
        this.count('emails_deferred');
        return 'deferred';
      }
      await this.pacer.slot();
      try {
        const { messageId } = await this.mailer.send({ ...email, to: recipient.email, tags: { kind, workflow: 'mass-refund' } });
        const at = new Date().toISOString();
        for (const m of marks) done.push({ key: m.key, kind, messageId, at });
        this.count('emails_sent');
        this.lines.push(`${line}: sent (${messageId})`);
        return 'sent';
      } catch (error) {
        const reason = `${(error as Error).name}: ${(error as Error).message}`.slice(0, 300);
        const verdict = classifySendError(error);
        if (verdict === 'throttled') {
          this.count('ses_throttled');
          this.pacer.slowDown();
          // Keep the mark (still ours, nothing sent) and try again a little later, a few times.
          if (tries < 3 && Date.now() + 2000 * tries < this.deadlineGuard()) {
            await new Promise((r) => setTimeout(r, 500 * tries));
            continue;
          }
          for (const m of marks) await this.outbox.release(m, reason, false);
          this.count('emails_deferred');
          this.lines.push(`${line}: throttled by SES, back in the outbox (${reason})`);
          return 'deferred';
        }
        if (verdict === 'stop') {
          this.stopped ??= `SES stopped sending: ${reason}`;
          for (const m of marks) await this.outbox.release(m, reason, false);
          this.count('emails_deferred');
          this.lines.push(`${line}: not sent, SES stopped the run (${reason})`);
          this.error('SendingStopped', this.stopped);
          return 'stopped';
        }
        if (verdict === 'unknown') {
          logger.warn('SES gave no answer: the email may have gone out, it is not resent', { kind, orderId: first.orderId, errorName: (error as Error).name });
          this.count('emails_unconfirmed');
          this.lines.push(`${line}: no answer from SES (${reason}); left "sending", never resent`);
          this.error('EmailUnconfirmed', `order ${first.orderId} ${kind}: no answer from SES; it may have been sent and is not resent`);
          return 'unknown';
        }
        let ended = false;
        for (const m of marks) ended = (await this.outbox.release(m, reason, true)) === 'failed' || ended;
        this.count('emails_failed');
        this.lines.push(`${line}: refused by SES (${reason})${ended ? ', given up' : ', retried by a later run'}`);
        this.error('EmailRejected', `order ${first.orderId} ${kind}: ${reason}${ended ? ' (given up after repeated refusals)' : ''}`);
        return 'failed';
      }
    }
  }

  private deadlineGuard(): number {
    return Date.now() + this.ctx.lambda.getRemainingTimeInMillis() - 20_000;
  }

  private async emailInput(kind: NotificationKind, marks: OutboxEntry[], recipient: Recipient, events: Map<string, EmailEvent>): Promise<RefundEmailInput> {
    const first = marks[0] as OutboxEntry;
    const base = { kind, language: recipient.language, recipientName: recipient.name, recipientKind: first.ownerKind, orderId: first.orderId, settings: this.config };
    if (kind === 'cancellation_notice') {
      const notices = marks.flatMap((m) => (m.notice ? [m.notice] : []));
      const performanceId = notices[0]?.performanceId;
      return {
        ...base,
        refunds: [],
        notice: { event: (performanceId && events.get(performanceId)) || null, tickets: notices.reduce((n, x) => n + x.tickets, 0), refund: notices.flatMap((x) => x.refund) },
      };
    }
    const refunds: EmailRefund[] = marks.flatMap((m) =>
      m.refund
        ? [
            {
              orderId: m.orderId,
              amount: m.refund.amount,
              method: m.refund.method,
              reason: m.refund.reason,
              event: (m.refund.performanceId && events.get(m.refund.performanceId)) || null,
              percentHundredths: m.refund.percentHundredths,
              pspFailed: m.refund.pspCode !== null,
            },
          ]
        : [],
    );
    if (kind !== 'late_failure') return { ...base, refunds };
    return { ...base, refunds, creditPolicy: await this.policyOf(first) };
  }

  /**
   * What happens to a late-failed refund depends on the credit policy of the dispatch that had
   * refunded it: the last psp run that claimed it (its runIds), as that run's input says.
   */
  private policyOf(mark: OutboxEntry): Promise<CreditPolicy> {
    const runIds = [...(mark.refund?.runIds ?? [])].reverse();
    const key = runIds.join('|');
    let found = this.policies.get(key);
    if (!found) {
      found = (async () => {
        const runs = new RunRepository();
        for (const runId of runIds) {
          const run = await runs.get(runId);
          const input = (run?.input ?? {}) as { mode?: string; creditPolicy?: string };
          if (run?.workflow === 'DispatchRefunds' && input.mode === 'psp') {
            return (CREDIT_POLICIES as readonly string[]).includes(input.creditPolicy ?? '') ? (input.creditPolicy as CreditPolicy) : 'fallback';
          }
        }
        return 'fallback';
      })();
      this.policies.set(key, found);
    }
    return found;
  }
}

export type { Tallies };
