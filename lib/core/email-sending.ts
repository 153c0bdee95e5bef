import type { Money } from './money.ts';
import type { PaymentMethod, RefundReason } from './model.ts';
import type { EmailEvent, EmailRefund, MailSettings, NotificationKind, RefundEmailInput } from './refund-emails.ts';
import { BATCHES_PER_EXECUTION } from './continuation.ts';
import { CREDIT_POLICIES, type CreditPolicy } from './refund-lifecycle.ts';
import { MAX_CARRIED_ERRORS, tally, type ReportError, type Tallies } from './report.ts';
import type { Outcome } from './outcomes.ts';

/**
 * The rules of sending the outbox, without I/O: how marks group into emails, the pace that keeps
 * a sender under the account's SES sending rate, how a run sweeps the outbox shards, and what each
 * email adds to the run (its outcome, log line and reported error).
 */

/** What grouping needs of an outbox mark. */
export interface Groupable {
  orderId: string;
  ownerId: string;
  ownerKind: 'customer' | 'agency';
  kind: string;
}

/** The email a mark belongs to: one per order and kind; an agency's returns share one per agency. */
export function emailKeyOf(m: Groupable): string {
  return m.kind === 'returned_to_account' && m.ownerKind === 'agency' ? `agency|${m.ownerId}` : `order|${m.orderId}|${m.kind}`;
}

/**
 * Splits one outbox page (in key order, so the marks of one email are contiguous) into emails.
 * When more marks follow the page, the marks of its last order and kind may continue on the next
 * page: they are left for it (`kept` says how many marks this page uses), so no order ever gets two
 * emails of one kind. A page holding nothing but one order and kind keeps it whole.
 */
export function groupPage<T extends Groupable>(marks: readonly T[], more: boolean): { emails: T[][]; kept: number } {
  let kept = marks.length;
  if (more && marks.length > 0) {
    const last = marks[marks.length - 1] as T;
    const sameOrderKind = (m: T) => m.orderId === last.orderId && m.kind === last.kind;
    let first = marks.length - 1;
    while (first > 0 && sameOrderKind(marks[first - 1] as T)) first--;
    if (first > 0) kept = first;
  }
  const emails: T[][] = [];
  let key: string | null = null;
  for (const m of marks.slice(0, kept)) {
    const k = emailKeyOf(m);
    if (k === key) (emails[emails.length - 1] as T[]).push(m);
    else emails.push([m]);
    key = k;
  }
  return { emails, kept };
}

/**
 * Hands out send slots at most `ratePerSecond` a second, evenly spaced (no burst), to any number
 * of concurrent senders. `slowDown` lowers the rate after SES throttled us (never below `floor`).
 * The clock and sleep are injected so the rule is tested without waiting.
 */
export class Pacer {
  private nextSlot: number;
  private rate: number;

  constructor(
    ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    private readonly floor = 0.5,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`a sending rate must be positive, got ${ratePerSecond}`);
    this.rate = ratePerSecond;
    this.nextSlot = now();
  }

  get ratePerSecond(): number {
    return this.rate;
  }

  /** Resolves at the caller's slot; slots are 1000 / rate ms apart. */
  async slot(): Promise<number> {
    const at = Math.max(this.now(), this.nextSlot);
    // The gap rounded up to the microsecond: sums of 1000 / rate in floating point could otherwise
    // fit one slot too many into a second (3 a second: 1000 + 3 × 333.33… < 2000).
    this.nextSlot = at + Math.ceil(1_000_000 / this.rate) / 1000;
    const wait = at - this.now();
    if (wait > 0) await this.sleep(wait);
    return at;
  }

  slowDown(factor = 0.7): void {
    this.rate = Math.max(this.floor, this.rate * factor);
  }
}

// ---- a batch's pace and shape ------------------------------------------------------------

/** The outbox index is spread over this many shards (the marks' partition keys `OUTBOX#00`…`OUTBOX#15`). */
export const OUTBOX_SHARDS = 16;

/** A batch stops taking emails when its Lambda has this little time left: it must end with its marks written. */
export const END_MARGIN_MS = 20_000;

/** How a SendEmails run is tuned (the stage's environment), with the defaults of the stack. */
export interface SendingSettings {
  /** Length of one batch, in seconds. */
  batchSeconds: number;
  /** Largest outbox page a batch reads. */
  pageSize: number;
  /** Sweeps over every shard a run makes at most while emails are still deferred. */
  maxSweeps: number;
  /** Emails marked sending, sent and marked sent together. */
  chunkSize: number;
  /** Chunks sent at once, so the reads and marks of one overlap the sends of another. */
  chunksAtOnce: number;
  /** Batches one execution may run at most (fewer when the batches are long: see `batchesPerExecution`). */
  batchesPerExecution: number;
}

/** A batch's time: its configured length, within the Lambda's time left less 30 s. */
export function batchBudgetMs(batchSeconds: number, remainingMs: number): number {
  return Math.min(batchSeconds * 1000, remainingMs - 30_000);
}

/** A page is sent within about half a batch at the run's rate (at 1 email a second, 30 marks, not 200). */
export function pageSizeFor(sendRate: number, budgetMs: number, largest: number): number {
  return Math.max(5, Math.min(largest, Math.floor((sendRate * budgetMs) / 2000)));
}

/** Emails of one chunk in flight at once: about a quarter of the rate (2 to 32) shared by the chunks sent together. */
export function emailsInFlight(sendRate: number, chunksAtOnce: number): number {
  return Math.max(1, Math.ceil(Math.min(32, Math.max(2, Math.ceil(sendRate / 4))) / chunksAtOnce));
}

/** Batches one execution runs: about 400 minutes of sending whatever the batch length, fewer if `configured` says so. */
export function batchesPerExecution(batchSeconds: number, configured: number): number {
  const byTime = Math.floor((BATCHES_PER_EXECUTION * 60) / Math.max(1, batchSeconds));
  return Math.max(1, Math.min(byTime, BATCHES_PER_EXECUTION, configured));
}

/** Waits between tries of an email SES throttled: 500 ms, then 1 s; none when the tries are spent or the time is short. */
export function throttleRetryWaitMs(tries: number, msLeft: number): number | null {
  return tries < 3 && 2000 * tries < msLeft ? 500 * tries : null;
}

// ---- a run's sweep over the outbox ---------------------------------------------------------


/** Where a SendEmails run's sweep over the outbox shards stands, and what it counted. */
export interface SweepState {
  runId: string;
  /** Emails per second this run may send. */
  sendRate: number;
  shard: number;
  cursor: string | null;
  sweep: number;
  /** Emails sent and deferred in this sweep: a sweep that did either is followed by another. */
  sweepSent: number;
  sweepDeferred: number;
  batches: number;
  done: boolean;
  stopReason: string | null;
  tallies: Tallies;
  errors: ReportError[];
  moreErrors: number;
}

/** What one email's attempt adds to the run: an outcome (counted `count` times), a run-log line, a reported error. */
export interface EmailNote {
  outcome: Outcome;
  count?: number;
  line?: string;
  error?: ReportError;
}

/** The run's state with a note counted (the line goes to the batch's log, not here). */
export function noted<S extends SweepState>(s: S, note: EmailNote): S {
  let next: S = { ...s, tallies: tally(s.tallies, note.outcome, undefined, note.count ?? 1) };
  if (note.error) {
    if (next.errors.length < MAX_CARRIED_ERRORS) next = { ...next, errors: [...next.errors, note.error] };
    else next = { ...next, moreErrors: next.moreErrors + 1 };
  }
  return next;
}

/** What a page of the sweep did. */
export interface PageDone {
  /** Where the shard goes on (null: the shard is done). */
  cursor: string | null;
  sent: number;
  deferred: number;
  /** Why SES stopped the run, if it did. */
  stopped: string | null;
}

/**
 * The sweep after a page: on to the next shard; at the end of a sweep, another sweep while the
 * last one sent or deferred anything (at most `maxSweeps`); a sweep of throttled marks only first
 * gives the quota `waitMs`. The run is done when it was stopped or a sweep found nothing to do.
 */
export function afterPage<S extends SweepState>(before: S, page: PageDone, maxSweeps: number): { state: S; waitMs: number } {
  const s: S = { ...before, sweepSent: before.sweepSent + page.sent, sweepDeferred: before.sweepDeferred + page.deferred, cursor: page.cursor };
  if (page.stopped) return { state: { ...s, done: true, stopReason: page.stopped }, waitMs: 0 };
  if (page.cursor !== null) return { state: s, waitMs: 0 };
  if (s.shard + 1 < OUTBOX_SHARDS) return { state: { ...s, shard: s.shard + 1 }, waitMs: 0 };
  if ((s.sweepSent > 0 || s.sweepDeferred > 0) && s.sweep < maxSweeps) {
    const waitMs = s.sweepSent === 0 ? Math.min(5000, 250 * 2 ** Math.min(s.sweep, 5)) : 0;
    return { state: { ...s, shard: 0, sweep: s.sweep + 1, sweepSent: 0, sweepDeferred: 0 }, waitMs };
  }
  const stopReason = s.sweepDeferred > 0 ? `emails still throttled after ${s.sweep} sweeps: they stay in the outbox for the next run` : null;
  return { state: { ...s, done: true, stopReason }, waitMs: 0 };
}

/** The lease of a running sender outlives a batch by this much (a crashed run frees it after). */
export const LEASE_MARGIN_MS = 5 * 60_000;

/** Why a run stops when another took its sender lease over. */
export const LEASE_LOST = 'another SendEmails run took over the sender lease (this one had expired)';

// ---- one email ---------------------------------------------------------------------------------

/** What an email needs of an outbox mark (lib/adapters/dynamodb/outbox.ts `OutboxEntry`). */
export interface EmailMark {
  id: string;
  orderId: string;
  ownerId: string;
  ownerKind: 'customer' | 'agency';
  notification: { kind: NotificationKind };
  /** A refund's facts (absent on a notice). */
  refund?: { amount: Money; method: PaymentMethod; reason: RefundReason; performanceId: string | null; percentHundredths: number | null; pspCode: string | null; runIds: string[] };
  notice?: { performanceId: string; tickets: number; refund: Money[] };
}

/** Who gets an email, as the catalog holds them. */
export interface EmailRecipient {
  email: string;
  language: string;
  name: string;
}

/** The run-log line of an email: its kind, orders and marks (ids only, no personal data). */
export function emailLine(marks: readonly EmailMark[]): string {
  const kind = (marks[0] as EmailMark).notification.kind;
  return `${kind} order=${[...new Set(marks.map((m) => m.orderId))].join(',')} marks=${marks.map((m) => m.id).join(',')}`;
}

/** The performances an email's marks are about, to read before rendering. */
export function performanceIdsOf(marks: readonly EmailMark[]): string[] {
  return marks.flatMap((e) => [e.refund?.performanceId, e.notice?.performanceId]).filter((p): p is string => !!p);
}

/**
 * What an email says, from its marks (one order and kind, or an agency's returns) and what the
 * catalog holds; a late failure also says what the credit policy of the run that refunded it does.
 */
export function emailInputOf(marks: readonly EmailMark[], recipient: EmailRecipient, events: ReadonlyMap<string, EmailEvent>, settings: MailSettings, creditPolicy?: CreditPolicy): RefundEmailInput {
  const first = marks[0] as EmailMark;
  const kind = first.notification.kind;
  const base = { kind, language: recipient.language, recipientName: recipient.name, recipientKind: first.ownerKind, orderId: first.orderId, settings };
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
  // No psp dispatch found among the refund's runs: the default policy.
  return { ...base, refunds, creditPolicy: creditPolicy ?? 'fallback' };
}

/** The runs that claimed a refund, the last first: the one whose dispatch refunded it comes first. */
export function claimingRunsNewestFirst(mark: EmailMark): string[] {
  return [...(mark.refund?.runIds ?? [])].reverse();
}

/**
 * The credit policy a run gives a late-failed refund it had refunded: a psp DispatchRefunds run's
 * `creditPolicy` (fallback when its input has none known); null for any other run.
 */
export function dispatchCreditPolicy(run: { workflow?: string; input?: unknown } | undefined): CreditPolicy | null {
  const input = (run?.input ?? {}) as { mode?: string; creditPolicy?: string };
  if (run?.workflow !== 'DispatchRefunds' || input.mode !== 'psp') return null;
  return (CREDIT_POLICIES as readonly string[]).includes(input.creditPolicy ?? '') ? (input.creditPolicy as CreditPolicy) : 'fallback';
}

/**
 * What SES's error means for the email (lib/adapters/ses/mailer.ts `classifySendError`):
 * throttled (send later), stop (nothing more goes out now), rejected (this email refused, an
 * attempt counted), unknown (no answer: it may have gone out, never resent).
 */
export type SendErrorClass = 'throttled' | 'stop' | 'rejected' | 'unknown';

/** The note of an email SES took. */
export function sentNote(marks: readonly EmailMark[], messageId: string): EmailNote {
  return { outcome: 'emails_sent', line: `${emailLine(marks)}: sent (${messageId})` };
}

/** The note of an email with no address to send it to: its marks fail. */
export function noAddressNote(marks: readonly EmailMark[]): EmailNote {
  const first = marks[0] as EmailMark;
  return {
    outcome: 'emails_failed',
    line: `${emailLine(marks)}: not sent, no email address on record`,
    error: { code: 'NoEmailAddress', message: `${first.ownerKind} ${first.ownerId} (order ${first.orderId}) has no email address: ${first.notification.kind} not sent` },
  };
}

/** The reason a mark keeps of an SES error (300 characters at most). */
export function sendErrorReason(error: unknown): string {
  return `${(error as Error).name}: ${(error as Error).message}`.slice(0, 300);
}

/** Why a run stops when SES stops sending. */
export function sesStopReason(reason: string): string {
  return `SES stopped sending: ${reason}`;
}

/**
 * The note of an email SES did not take (throttled with no try left, stopped, no answer, refused).
 * `stopReason`: the run's (the first stop of the batch); `givenUp`: a refusal ended its marks.
 */
export function refusalNote(verdict: SendErrorClass, marks: readonly EmailMark[], reason: string, facts: { stopReason?: string | null; givenUp?: boolean } = {}): EmailNote {
  const first = marks[0] as EmailMark;
  const kind = first.notification.kind;
  const line = emailLine(marks);
  switch (verdict) {
    case 'throttled':
      return { outcome: 'emails_deferred', line: `${line}: throttled by SES, back in the outbox (${reason})` };
    case 'stop':
      return { outcome: 'emails_deferred', line: `${line}: not sent, SES stopped the run (${reason})`, error: { code: 'SendingStopped', message: facts.stopReason ?? sesStopReason(reason) } };
    case 'unknown':
      return {
        outcome: 'emails_unconfirmed',
        line: `${line}: no answer from SES (${reason}); left "sending", never resent`,
        error: { code: 'EmailUnconfirmed', message: `order ${first.orderId} ${kind}: no answer from SES; it may have been sent and is not resent` },
      };
    case 'rejected':
      return {
        outcome: 'emails_failed',
        line: `${line}: refused by SES (${reason})${facts.givenUp ? ', given up' : ', retried by a later run'}`,
        error: { code: 'EmailRejected', message: `order ${first.orderId} ${kind}: ${reason}${facts.givenUp ? ' (given up after repeated refusals)' : ''}` },
      };
  }
}
