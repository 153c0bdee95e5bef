import * as z from 'zod';
import type { Money } from './money.ts';
import { attributeCredits, type Attribution, type PspCreditAction, type PspTransactionView } from './psp-attribution.ts';
import { awaitsLookup, lookupNotBefore, resolve, UNCLEAR_TO_MANUAL_MS, verdictOfKnownCredit, type KnownCredit, type LookupTiming, type LookupVerdict, type PspAttemptState, type PspRefusal } from './psp-decisions.ts';
import { tally, type Tallies, type ReportError } from './report.ts';
import type { ReconcileOutcome } from './outcomes.ts';

/**
 * Reconciliation, pure: which refunds a run covers and which page compares each original
 * transaction; what a PSP record proves for each refund of ours (the event it records and the
 * write that goes with it, never a new request); and what our ledger and the PSP's records
 * disagree on, in the run log's words. lib/services/reconcile/ reads the PSP and the store and
 * calls these.
 */

/** A refund of ours as reconciliation reads it: the fields of the refunds table's record these rules use. */
export interface ReconciledRefund extends PspAttemptState {
  id: string;
  orderId: string;
  amount: Money;
  createdAt?: string | null;
  lastPspAt?: string | null;
  settledAt?: string | null;
  pspCode?: string | null;
  pspTransactionId?: string | null;
  pspCreditTransactionId?: string | null;
  runIds?: readonly string[];
  sending?: { leaseUntil: string; from: 'pending' | 'failed' } | null;
  failedCredits?: readonly { amount: number }[];
}

/** What a run covers (functions/reconcile-refunds/validate.ts): one run's refunds, or all (null). */
export interface ReconcileScope {
  runId: string | null;
  /** Refunded refunds settled since then are confirmed by their credit id (late failures). */
  since: string;
}

/** The refunds table is compared in this many parallel scan segments (one Map item each). */
export const SCAN_SEGMENTS = 16;

/**
 * What a reconciliation covers: every transaction on which a refund was ever sent (or, with runId,
 * those of one run's refunds); `since`: refunded refunds settled since then are also confirmed by
 * their credit id (late failures), `windowDays` before the start.
 */
export function reconcileScope(startedAt: string, runId: string | null, windowDays: number): ReconcileScope {
  return { runId, since: new Date(Date.parse(startedAt) - windowDays * 86_400_000).toISOString() };
}

/** What reconciliation records for one refund: its tally (refunded, back_to_pending, proven_not_booked, failed, manual, still_unknown, too_recent, confirmed, late_failure, unverified, conflict) and its run-log words. */
export interface Note {
  outcome: ReconcileOutcome;
  what: string;
}

// ---- scope: each original transaction compared once per run ----

/** Sent to the PSP at least once (or in flight): its transaction is compared. */
export const everSent = (r: ReconciledRefund): boolean => (r.attempt ?? 0) > 0 || r.status === 'unknown' || r.status === 'sending' || r.status === 'refunded';

export const inScope = (r: ReconciledRefund, scope: { runId: string | null }): boolean => everSent(r) && (!scope.runId || (r.runIds ?? []).includes(scope.runId));

/** A page's refunds in scope on a transaction, and each transaction with its smallest-id refund among them. */
export function transactionsOnPage<R extends ReconciledRefund>(refunds: readonly R[], scope: { runId: string | null }): { onPage: R[]; transactions: Map<string, R> } {
  const onPage = refunds.filter((r) => inScope(r, scope) && r.pspTransactionId);
  const transactions = new Map<string, R>();
  for (const r of onPage) {
    const seen = transactions.get(r.pspTransactionId as string);
    if (!seen || r.id < seen.id) transactions.set(r.pspTransactionId as string, r);
  }
  return { onPage, transactions };
}

/** The page holding the transaction's smallest-id refund in scope compares it; any other page leaves it. */
export function pageOwnsTransaction(related: readonly ReconciledRefund[], onPage: readonly ReconciledRefund[], scope: { runId: string | null }): boolean {
  const owner = related.filter((r) => inScope(r, scope)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))[0];
  return !!owner && onPage.some((r) => r.id === owner.id);
}

// ---- what a PSP record proves for a refund of ours ----

/** A claim still leased: its request may be in flight, the dispatch settles it. */
export function liveClaim(r: ReconciledRefund, now: number): boolean {
  return r.status === 'sending' && !!r.sending && Date.parse(r.sending.leaseUntil) > now;
}

/** A refund's lookup window starts with its attempt's first send (or its creation, on records older than that field). */
function windowFrom(r: ReconciledRefund): string | null {
  return r.attemptSentAt ?? r.createdAt ?? null;
}

/** The PSP's status not read: a refund awaiting a lookup stays unknown (a live claim is left to the dispatch). */
export function notRead(r: ReconciledRefund, now: number, reason: string): Note | null {
  return liveClaim(r, now) ? null : { outcome: 'still_unknown', what: `PSP status not read: ${reason}` };
}

/** Our refunds held refunded, settled since `since`, with a credit id: that credit is read to confirm them. */
export function toConfirm<R extends ReconciledRefund>(refunds: readonly R[], since: string, only?: string): R[] {
  return refunds.filter((x) => x.status === 'refunded' && x.pspCreditTransactionId && (!only || x.id === only) && (x.settledAt ?? '') >= since);
}

export type Confirmation = Note & ({ outcome: 'confirmed' | 'unverified' } | { outcome: 'late_failure'; code: string; creditTransactionId: string });

/** What reading our credit by id proves: confirmed, failed after booking (a late failure, to write), or unverified. */
export function confirmationOf(creditTransactionId: string, read: { kind: 'unknown'; reason: string } | { kind: 'found'; credit: KnownCredit }, expectedRefno: string): Confirmation {
  if (read.kind === 'unknown') return { outcome: 'unverified', what: `credit ${creditTransactionId} not read: ${read.reason}` };
  const verdict = verdictOfKnownCredit(read.credit, expectedRefno);
  if (verdict.kind === 'credited') return { outcome: 'confirmed', what: `confirmed by credit ${verdict.creditTransactionId}` };
  if (verdict.kind === 'failed_after_credit') {
    const id = read.credit.creditTransactionId;
    return { outcome: 'late_failure', code: verdict.code, creditTransactionId: id, what: `late failure of credit ${id} (${verdict.code}): back to failed for the credit pass, customer told` };
  }
  return { outcome: 'unverified', what: verdict.kind === 'ambiguous' ? verdict.reason : 'not confirmed' };
}

/** The transaction's credits attributed to our refunds on it (lib/core/psp-attribution.ts). */
export function attributionOf(view: PspTransactionView, refunds: readonly ReconciledRefund[]): Attribution {
  return attributeCredits(
    view,
    refunds.map((r) => ({
      id: r.id,
      amount: r.amount.amount,
      holdsCredit: r.status === 'refunded',
      failedCredits: (r.failedCredits ?? []).map((c) => c.amount),
      awaitsLookup: awaitsLookup(r),
      windowFrom: windowFrom(r),
    })),
  );
}

/** A lookup's resolution as the refunds table records it (DispatchStore.settleClaim's outcome, without run and time). */
export type SettleWrite =
  | { to: 'refunded'; creditTransactionId: string | null }
  | { to: 'pending' | 'failed'; released: string; provenNotBooked: true }
  | { to: 'failed'; pspCode: string; pspMessage: string; refusal: PspRefusal | null; failedCredit?: { creditTransactionId: string | null; amount: number } }
  | { to: 'manual'; reason: string }
  | { to: 'unknown'; reason: string };

/** The event a lookup records for a refund, and the write that goes with it (null: nothing to write). */
export type Settlement = Note & { write: SettleWrite | null };

const fmtCredit = (c: PspCreditAction) => `${c.amount} on ${c.date ?? 'an unknown date'} (source ${c.source})`;

/**
 * What a lookup settles for a refund awaiting it (lib/core/psp-decisions.ts resolve), or null while
 * its claim is live. Too recent: nothing yet, a slow booking must have had time to show.
 */
export function settlementOf(r: ReconciledRefund, attribution: Attribution, view: PspTransactionView, now: number, timing: LookupTiming & { unclearToManualMs?: number }): Settlement | null {
  if (liveClaim(r, now)) return null;
  const notBefore = lookupNotBefore(r, timing);
  if (now < notBefore) return { outcome: 'too_recent', what: `last request too recent to settle (a slow booking may not show yet): reconcile after ${new Date(notBefore).toISOString()}`, write: null };
  const verdict: LookupVerdict = attribution.verdicts.get(r.id) ?? { kind: 'ambiguous', reason: 'no verdict' };
  const lastOutcome = Date.parse(r.lastPspAt ?? r.attemptSentAt ?? r.createdAt ?? '');
  const resolution = resolve(
    { ...r, amount: r.amount.amount, sendingFrom: r.sending?.from ?? null },
    verdict,
    { remaining: attribution.remaining, otherCredits: attribution.otherCredits },
    { forMs: Number.isFinite(lastOutcome) ? now - lastOutcome : 0, manualAfterMs: timing.unclearToManualMs ?? UNCLEAR_TO_MANUAL_MS },
  );
  switch (resolution.to) {
    case 'refunded':
      return { outcome: 'refunded', what: 'the PSP holds its credit: refunded (not sent again)', write: { to: 'refunded', creditTransactionId: resolution.creditTransactionId } };
    case 'proven': {
      const write: SettleWrite = { to: resolution.status, released: 'status lookup: not credited at the PSP', provenNotBooked: true };
      return r.status === 'unknown' || r.status === 'sending'
        ? { outcome: 'back_to_pending', what: `not credited at the PSP: back to ${resolution.status} for the next psp pass, same idempotency key`, write }
        : { outcome: 'proven_not_booked', what: `not credited at the PSP: its last attempt is proven not booked (stays ${resolution.status})`, write };
    }
    case 'failed': {
      const failedCredit = resolution.failedCredit ? { failedCredit: { creditTransactionId: resolution.failedCredit.creditTransactionId, amount: r.amount.amount } } : {};
      const write: SettleWrite = { to: 'failed', pspCode: resolution.code, pspMessage: resolution.message, refusal: resolution.refusal, ...failedCredit };
      return { outcome: 'failed', what: `${resolution.message} (${resolution.code}): failed, for the credit pass`, write };
    }
    case 'manual':
      return { outcome: 'manual', what: `${resolution.reason}; PSP credits on the transaction: ${view.credits.map(fmtCredit).join('; ') || 'none'}`, write: { to: 'manual', reason: resolution.reason } };
    case 'unknown':
      // Already unknown: nothing to write.
      return { outcome: 'still_unknown', what: `still unknown: ${resolution.reason}`, write: r.status === 'unknown' ? null : { to: 'unknown', reason: resolution.reason } };
  }
}

// ---- our ledger against the PSP's ----

export const Difference = z.object({
  transactionId: z.string(),
  currency: z.string(),
  /** What we hold refunded on it. */
  ours: z.number(),
  /** What the PSP reports credited on it (every source, late failures excluded); null when not read. */
  psp: z.number().nullable(),
  refundIds: z.array(z.string()),
  /** PSP credits no refunded refund of ours explains: back-office credits, credits of refunds still unknown, credits beyond ours. */
  unexplainedCredits: z.array(z.object({ amount: z.number(), date: z.string().nullable(), source: z.string() })).default([]),
  /** Refunds we hold refunded whose credit the PSP does not show. */
  missing: z.array(z.string()).default([]),
  note: z.string(),
});
export type Difference = z.infer<typeof Difference>;

const refundedSum = (refunds: readonly ReconciledRefund[]) => refunds.filter((r) => r.status === 'refunded').reduce((s, r) => s + r.amount.amount, 0);

/** The PSP's status not read: the transaction is listed as a difference, nothing compared. */
export function unreadDifference(transactionId: string, refunds: readonly ReconciledRefund[], reason: string): Difference {
  const currency = refunds[0]?.amount.currency ?? '';
  return { transactionId, currency, ours: refundedSum(refunds), psp: null, refundIds: refunds.map((r) => `${r.id}:${r.status}`), unexplainedCredits: [], missing: [], note: `PSP status not read: ${reason}` };
}

/**
 * What the PSP holds that our ledger does not explain, and what we hold that it does not, from our
 * refunds after the writes; `settledManual`: a refund went to a person in this reconciliation.
 */
export function differenceOf(transactionId: string, refunds: readonly ReconciledRefund[], attribution: Attribution, view: PspTransactionView, settledManual: boolean): Difference | null {
  const refundedNow = new Set(refunds.filter((r) => r.status === 'refunded').map((r) => r.id));
  const unexplained = [...attribution.unexplained, ...[...attribution.attributed].filter(([id]) => !refundedNow.has(id)).map(([, c]) => c)];
  const refused = refunds.some((r) => r.refusal === 'not_creditable') || settledManual;
  if (unexplained.length === 0 && attribution.missing.length === 0 && !refused) return null;
  const notes: string[] = [];
  if (unexplained.length > 0) notes.push(`${unexplained.length} PSP credit(s) not explained by a refunded refund of ours: ${unexplained.map(fmtCredit).join('; ')}`);
  if (attribution.missing.length > 0) notes.push(`we hold refunded but the PSP shows no such credit: ${attribution.missing.join(', ')}`);
  if (refused) notes.push(`the PSP refused a credit as exceeding what the transaction allows; its credits: ${view.credits.map(fmtCredit).join('; ') || 'none'}`);
  return {
    transactionId,
    currency: view.currency ?? refunds[0]?.amount.currency ?? '',
    ours: refundedSum(refunds),
    psp: view.creditedAmount,
    refundIds: refunds.map((r) => `${r.id}:${r.status}`),
    unexplainedCredits: refused ? [...view.credits] : unexplained,
    missing: attribution.missing,
    note: notes.join('; '),
  };
}

// ---- a page's record: tallies, run-log lines, the differences its state carries ----

/** The differences a segment's state carries (the run log has them all). */
export const MAX_DIFFERENCES_IN_STATE = 20;

export interface ComparedTransaction {
  transactionId: string;
  events: readonly (Note & { refund: ReconciledRefund })[];
  difference: Difference | null;
}

export interface SegmentRecord {
  tallies: Tallies;
  differences: Difference[];
  differenceCount: number;
}

/** Adds the page's compared transactions (in the order they finished) to the segment's record; the run-log lines for the page. */
export function recordPage(before: SegmentRecord, compared: readonly ComparedTransaction[]): SegmentRecord & { lines: string[] } {
  let tallies = before.tallies;
  const lines: string[] = [];
  const differences: Difference[] = [];
  for (const { transactionId, events, difference: d } of compared) {
    tallies = tally(tallies, 'transactions_compared');
    for (const e of events) {
      tallies = tally(tallies, e.outcome, e.refund.amount);
      lines.push(`${e.refund.id} order=${e.refund.orderId} ${e.refund.amount.amount} ${e.refund.amount.currency}: ${e.what}`);
    }
    if (d) {
      differences.push(d);
      tallies = tally(tallies, 'difference');
      lines.push(`DIFFERENCE transaction ${transactionId}: ours ${d.ours} ${d.currency}, PSP ${d.psp ?? 'unread'}; ${d.note}; refunds ${d.refundIds.join(', ')}`);
      for (const c of d.unexplainedCredits) lines.push(`PSP CREDIT transaction ${transactionId}: ${c.amount} ${d.currency} on ${c.date ?? 'unknown date'}, source ${c.source}`);
    }
  }
  return {
    tallies,
    differences: [...before.differences, ...differences].slice(0, MAX_DIFFERENCES_IN_STATE),
    differenceCount: before.differenceCount + differences.length,
    lines,
  };
}

/** The report's errors: any difference is left for a person to settle. */
export function ledgerErrors(differenceCount: number): ReportError[] {
  return differenceCount > 0 ? [{ code: 'LedgerDifference', message: `${differenceCount} transaction(s) where our refunds and the PSP's credits differ; see the run log` }] : [];
}
