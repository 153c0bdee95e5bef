import type { MailerConfig } from '../../adapters/ses/mailer.ts';
import type { OutboxEntry, Recipient, SentMark } from '../../adapters/dynamodb/outbox.ts';
import { getOrCreate } from '../../core/collections.ts';
import { forEachConcurrently } from '../../core/concurrency.ts';
import {
  afterPage,
  batchBudgetMs,
  batchesPerExecution,
  claimingRunsNewestFirst,
  dispatchCreditPolicy,
  emailInputOf,
  emailsInFlight,
  END_MARGIN_MS,
  groupPage,
  LEASE_LOST,
  LEASE_MARGIN_MS,
  noAddressNote,
  noted,
  Pacer,
  pageSizeFor,
  performanceIdsOf,
  refusalNote,
  sendErrorReason,
  sentNote,
  sesStopReason,
  throttleRetryWaitMs,
  type EmailNote,
  type SendingSettings,
  type SweepState,
} from '../../core/email-sending.ts';
import { renderRefundEmail, type EmailEvent } from '../../core/refund-emails.ts';
import type { CreditPolicy } from '../../core/refund-lifecycle.ts';
import type { SenderPorts } from './ports.ts';

/** What a SendEmails run carries from batch to batch besides its sweep. */
export interface SenderRun extends SweepState {
  /** Time spent inside batches, for the run's throughput. */
  activeMs: number;
  /** Batches in the execution `batchesPart` of the run's chain: past the budget, the run goes on in the next. */
  executionBatches: number;
  batchesPart: number;
  continuation?: { part: number };
}

/**
 * One batch of a SendEmails run: renews the sender lease, then sweeps the outbox shards page by
 * page, one email per order and kind (an agency's returns: one email per agency and page), at most
 * `sendRate` emails a second, until the outbox is drained or the batch's time is up. Returns the
 * run's next state (its tallies and errors included) and whether its execution should pause.
 *
 * Each mark goes unsent -> sending before SES and sending -> sent after (both packed per chunk),
 * so no email goes out twice. SES refusing (throttling, a bad address) puts the mark back to
 * unsent; throttled marks wait for a later sweep, a mark refused 5 times ends `failed`. No answer
 * at all leaves it `sending` (it may have gone out): reported unconfirmed, never resent.
 */
export async function sendBatch<S extends SenderRun>(run: S, ports: SenderPorts, settings: SendingSettings, mail: MailerConfig): Promise<S & { pause: boolean }> {
  const { clock } = ports;
  const started = clock.now();
  const budgetMs = batchBudgetMs(settings.batchSeconds, clock.remainingMs());
  const deadline = started + Math.max(1000, budgetMs);
  // Batches counted per execution of the run: past the budget, the run goes on in the next one (its part resets the count).
  const part = run.continuation?.part ?? 1;
  const executionBatches = (run.batchesPart === part ? run.executionBatches : 0) + 1;
  const state: S = { ...run, batches: run.batches + 1, executionBatches, batchesPart: part };
  if (!(await ports.lease.renew(state.runId, budgetMs + LEASE_MARGIN_MS))) return { ...state, done: true, pause: false, stopReason: LEASE_LOST };
  const after = await new Batch(state, ports, settings, mail).run(deadline, budgetMs);
  const pause = !after.done && executionBatches >= batchesPerExecution(settings.batchSeconds, settings.batchesPerExecution);
  return { ...after, activeMs: state.activeMs + (clock.now() - started), pause };
}

/** A mark as grouped into an email (its kind beside it). */
type Mark = OutboxEntry & { kind: string };
/** The marks that make one email. */
type Email = Mark[];
type Facts = { recipients: Map<string, Recipient>; events: Map<string, EmailEvent> };
type EmailResult = 'sent' | 'deferred' | 'failed' | 'unknown' | 'stopped';

class Batch<S extends SweepState> {
  private readonly pacer: Pacer;
  private readonly lines: string[] = [];
  private readonly policies = new Map<string, Promise<CreditPolicy>>();
  private stopped: string | null = null;

  constructor(
    private state: S,
    private readonly ports: SenderPorts,
    private readonly settings: SendingSettings,
    private readonly mail: MailerConfig,
  ) {
    this.pacer = new Pacer(state.sendRate);
  }

  async run(deadline: number, budgetMs: number): Promise<S> {
    const { outbox, clock } = this.ports;
    const pageSize = pageSizeFor(this.state.sendRate, budgetMs, this.settings.pageSize);
    while (!this.state.done && clock.now() < deadline && clock.remainingMs() > END_MARGIN_MS) {
      const page = await outbox.page(this.state.shard, this.state.cursor, pageSize);
      const { emails, kept } = groupPage(
        page.entries.map((e) => ({ ...e, kind: e.notification.kind })),
        page.cursor !== null,
      );
      const { sent, deferred } = await this.sendAll(emails);
      const next = afterPage(this.state, { cursor: outbox.resumeAfter(page, kept), sent, deferred, stopped: this.stopped }, this.settings.maxSweeps);
      // Throttled marks only: give the quota a moment before trying them again.
      if (next.waitMs > 0) await clock.sleep(next.waitMs);
      this.state = next.state;
    }
    if (this.lines.length) await this.ports.runs.log(this.state.runId, `emails#batch${String(this.state.batches).padStart(5, '0')}`, this.lines);
    return this.state;
  }

  /** Counts what an email's attempt added to the run, when it happened, and logs its line. */
  private note<R extends EmailResult | undefined>(note: EmailNote, result?: R): R {
    this.state = noted(this.state, note);
    if (note.line) this.lines.push(note.line);
    return result as R;
  }

  /**
   * Sends the emails of one page, a chunk at a time: marked sending together, sent, marked sent
   * together. A few chunks run at once so the reads and marks of one overlap the sends of
   * another; the one pacer keeps the rate whatever the overlap.
   */
  private async sendAll(emails: Email[]): Promise<{ sent: number; deferred: number }> {
    let sent = 0;
    let deferred = 0;
    const { chunkSize, chunksAtOnce } = this.settings;
    const inFlight = emailsInFlight(this.state.sendRate, chunksAtOnce);
    const chunks: Email[][] = [];
    for (let i = 0; i < emails.length; i += chunkSize) chunks.push(emails.slice(i, i + chunkSize));
    await forEachConcurrently(chunks, chunksAtOnce, async (chunk) => {
      if (this.stopped) return;
      const unsent = chunk.flatMap((email) => email.filter((e) => e.notification.status === 'unsent'));
      const pendingElsewhere = chunk.flat().length - unsent.length;
      // Marks left `sending` (by a run that stopped, or no answer from SES) are counted once a run, on its first sweep.
      if (pendingElsewhere > 0 && this.state.sweep === 1) this.note({ outcome: 'emails_unconfirmed', count: pendingElsewhere });
      if (unsent.length === 0) return;
      const facts = await this.factsOf(chunk);
      const marked = await this.ports.outbox.markSending(unsent, this.state.runId);
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
        await this.ports.outbox.markSent(done);
      }
    });
    return { sent, deferred };
  }

  /** Recipients and performances of a chunk, read at once. */
  private async factsOf(chunk: Email[]): Promise<Facts> {
    const all = chunk.flat();
    const performanceIds = performanceIdsOf(all);
    const { catalog } = this.ports;
    const [recipients, events] = await Promise.all([catalog.recipientsOf(all), performanceIds.length ? catalog.performancesOf(performanceIds) : Promise.resolve(new Map<string, EmailEvent>())]);
    return { recipients, events };
  }

  private async sendOne(marks: Mark[], facts: Facts, done: SentMark[]): Promise<EmailResult> {
    const { outbox, mailer, clock } = this.ports;
    const first = marks[0] as Mark;
    const kind = first.notification.kind;
    const recipient = facts.recipients.get(`${first.ownerKind}:${first.ownerId}`);
    if (!recipient?.email) {
      for (const m of marks) await outbox.fail(m, `no email address for ${first.ownerKind} ${first.ownerId}`);
      return this.note(noAddressNote(marks), 'failed');
    }
    const policy = kind === 'late_failure' ? await this.policyOf(first) : undefined;
    const email = renderRefundEmail(emailInputOf(marks, recipient, facts.events, this.mail, policy));
    for (let tries = 1; ; tries++) {
      if (this.stopped) {
        await this.releaseAll(marks, `not sent: ${this.stopped}`, false);
        return 'stopped';
      }
      // The Lambda must end with its marks written: near its time-out, the email waits for the next batch.
      if (clock.remainingMs() < END_MARGIN_MS) {
        await this.releaseAll(marks, 'not sent: the batch ran out of time', false);
        return this.note({ outcome: 'emails_deferred' }, 'deferred');
      }
      await this.pacer.slot();
      try {
        const { messageId } = await mailer.send({ ...email, to: recipient.email, tags: { kind, workflow: 'mass-refund' } });
        const at = new Date(clock.now()).toISOString();
        for (const m of marks) done.push({ key: m.key, kind, messageId, at });
        return this.note(sentNote(marks, messageId), 'sent');
      } catch (error) {
        const reason = sendErrorReason(error);
        const verdict = mailer.classify(error);
        if (verdict === 'throttled') {
          this.note({ outcome: 'ses_throttled' });
          this.pacer.slowDown();
          // Keep the mark (still ours, nothing sent) and try again a little later, a few times.
          const waitMs = throttleRetryWaitMs(tries, clock.remainingMs() - END_MARGIN_MS);
          if (waitMs !== null) {
            await clock.sleep(waitMs);
            continue;
          }
          await this.releaseAll(marks, reason, false);
          return this.note(refusalNote(verdict, marks, reason), 'deferred');
        }
        if (verdict === 'stop') {
          this.stopped ??= sesStopReason(reason);
          await this.releaseAll(marks, reason, false);
          return this.note(refusalNote(verdict, marks, reason, { stopReason: this.stopped }), 'stopped');
        }
        if (verdict === 'unknown') {
          this.ports.warn('SES gave no answer: the email may have gone out, it is not resent', { kind, orderId: first.orderId, errorName: (error as Error).name });
          return this.note(refusalNote(verdict, marks, reason), 'unknown');
        }
        const givenUp = await this.releaseAll(marks, reason, true);
        return this.note(refusalNote(verdict, marks, reason, { givenUp }), 'failed');
      }
    }
  }

  /** Puts an email's marks back in the outbox; true when a counted refusal ended one of them `failed`. */
  private async releaseAll(marks: Mark[], reason: string, countAttempt: boolean): Promise<boolean> {
    let ended = false;
    for (const m of marks) ended = (await this.ports.outbox.release(m, reason, countAttempt)) === 'failed' || ended;
    return ended;
  }

  /**
   * What happens to a late-failed refund depends on the credit policy of the dispatch that had
   * refunded it: the last psp run that claimed it (its runIds), as that run's input says.
   */
  private policyOf(mark: Mark): Promise<CreditPolicy> {
    const runIds = claimingRunsNewestFirst(mark);
    return getOrCreate(this.policies, runIds.join('|'), async () => {
      for (const runId of runIds) {
        const policy = dispatchCreditPolicy(await this.ports.runs.get(runId));
        if (policy) return policy;
      }
      return 'fallback';
    });
  }
}
