import type { SelectedRefund } from './dispatch.ts';
import type { PaymentMethod } from './model.ts';
import type { Money } from './money.ts';
import type { AttemptResult } from './psp-decisions.ts';
import { passFor, passSelects, type CreditPolicy, type LifecycleState, type SelectableRefund } from './refund-lifecycle.ts';
import { tally, type Tallies } from './report.ts';
import type { Outcome, ReconcileOutcome } from './outcomes.ts';

/**
 * The rules of one dispatch page, pure: what a simulation says of a refund, which refunds a real
 * pass takes and which of them its simulation approved, what the credit pass and the psp pass
 * tally and log for each, and how long the psp pass waits before trying a request again. The
 * services (lib/services/dispatch/) call these in order; the run-log lines and outcome names are
 * the operators' (CONTRACT.md), word for word.
 */

/** A refund as a dispatch page sees it (no personal data: ids, method, amount, status). */
export interface PageRefund extends SelectableRefund {
  id: string;
  orderId: string;
  method: PaymentMethod;
  amount: Money;
  status: LifecycleState;
}

/** One refund's outcome on a page and its run-log line: the page's tallies and log are folded from these, in order. */
export interface PageNote {
  outcome: Outcome;
  amount: Money;
  line: string;
}

/** The page's tallies (added to those the shard carried) and its run-log lines, in the order noted. */
export function foldNotes(tallies: Tallies, notes: readonly PageNote[]): { tallies: Tallies; lines: string[] } {
  let out = tallies;
  for (const n of notes) out = tally(out, n.outcome, n.amount);
  return { tallies: out, lines: notes.map((n) => n.line) };
}

const money = (r: PageRefund) => `${r.amount.amount} ${r.amount.currency}`;

// ---- simulate ----

/** What a simulation shows of one refund: the pass that will touch it (selected) or why none will. */
export function simulateRefund(r: PageRefund, policy: CreditPolicy): { note: PageNote; selected: SelectedRefund | null } {
  const pass = passFor(r, policy);
  const outcome: Outcome = pass ? (pass === 'psp' ? 'to_psp' : 'to_credit') : `skipped:${r.status === 'sending' ? 'in_flight' : r.status}`;
  const line = `${r.id} order=${r.orderId} ${r.method} ${money(r)} ${r.status} -> ${pass ?? 'none'}`;
  const selected = pass ? { id: r.id, amount: r.amount.amount, currency: r.amount.currency, status: r.status, pass } : null;
  return { note: { outcome, amount: r.amount, line }, selected };
}

// ---- a real pass ----

/** The refunds of a page a real pass looks at: those it selects, and the in-flight ones (never left out of the report). */
export function passCandidates<R extends PageRefund>(refunds: readonly R[], pass: 'psp' | 'credit', policy: CreditPolicy): R[] {
  const selects = passSelects(pass);
  return refunds.filter((r) => r.status === 'sending' || selects(r, policy));
}

/** Approved by the simulation: it showed this refund with the same amount and currency. */
export function approvedBy(simulated: Pick<SelectedRefund, 'amount' | 'currency'> | undefined, r: Pick<PageRefund, 'amount'>): boolean {
  return simulated !== undefined && simulated.amount === r.amount.amount && simulated.currency === r.amount.currency;
}

/**
 * The credit pass's verdict on a candidate before any write: in flight at the PSP (never
 * credited), not approved by the simulation (left as it is), or null: to credit.
 */
export function creditRefusal(r: PageRefund, approved: boolean, simulationRunId: string): PageNote | null {
  if (r.status === 'sending') {
    return { outcome: 'skipped:in_flight', amount: r.amount, line: `${r.id} ${money(r)}: in flight at the PSP, not credited; ReconcileRefunds settles it` };
  }
  if (!approved) {
    return { outcome: 'skipped:not_in_simulation', amount: r.amount, line: `${r.id} ${money(r)}: not in simulation ${simulationRunId} (or amount changed), left ${r.status}` };
  }
  return null;
}

/** What the credit write did to a refund: credited, or moved by another run first. */
export function creditNote(r: PageRefund & { ownerKind: string }, credited: boolean): PageNote {
  if (credited) return { outcome: 'credited', amount: r.amount, line: `${r.id} order=${r.orderId} ${r.method} ${money(r)} ${r.status} -> credited to ${r.ownerKind} account` };
  return { outcome: 'skipped:changed_concurrently', amount: r.amount, line: `${r.id}: changed by another run, left as it is` };
}

// ---- the psp pass ----

/** A psp-pass note: the refund, then what happened to it. */
export function pspNote(r: PageRefund, outcome: Outcome, what: string): PageNote {
  return { outcome, amount: r.amount, line: `${r.id} order=${r.orderId} ${r.method} ${money(r)}: ${what}` };
}

/** A claim another run holds and whose lease has not ended: that run is still asking the PSP. */
export function claimHeldElsewhere(claim: { runId: string; leaseUntil: string } | null | undefined, now: number, runId: string): boolean {
  return !!claim && Date.parse(claim.leaseUntil) > now && claim.runId !== runId;
}

/**
 * The outcome and the log's words for the result of an attempt once written (`written` false: the
 * claim was resolved elsewhere first). A configuration error stops the run whether or not the
 * release was written.
 */
export function attemptNote(result: AttemptResult, written: boolean, tries: number, from: 'pending' | 'failed'): { outcome: Outcome; what: string } {
  if (result.to === 'release_and_stop') return { outcome: 'deferred:run_stopped', what: `PSP configuration error (HTTP ${result.httpStatus}): run stopped` };
  if (!written) return { outcome: 'conflict', what: 'claim resolved elsewhere before the outcome was written' };
  switch (result.to) {
    case 'refunded':
      return { outcome: 'refunded', what: `refunded at the PSP (credit ${result.creditTransactionId})` };
    case 'failed':
      return { outcome: 'declined', what: `declined by the PSP: ${result.code}` };
    case 'unknown':
      return { outcome: 'unknown', what: `outcome unknown after ${tries} request(s) (${result.reason}): never sent again nor credited before a status lookup (ReconcileRefunds)` };
    case 'release':
      return { outcome: 'deferred', what: `nothing booked (${result.reason}): back to ${from} for a later pass` };
  }
}

/** The tally of a status lookup's event about the refund the pass was about to send. */
export function lookupOutcome(event: { outcome: ReconcileOutcome }): Outcome {
  return event.outcome === 'refunded' ? 'refunded' : `lookup:${event.outcome}`;
}

/** A lookup that decided nothing yet: no event, the request too recent to judge, or the refund moved meanwhile. */
export function lookupUndecided(event: { outcome: ReconcileOutcome } | undefined): boolean {
  return !event || event.outcome === 'too_recent' || event.outcome === 'conflict';
}

/** After a lookup decided: the refund may be sent now only if it is pending or failed and its attempt is proven not booked. */
export function sendableAfterLookup(fresh: { status: LifecycleState; attemptNotBooked?: boolean | null }): boolean {
  return (fresh.status === 'pending' || fresh.status === 'failed') && fresh.attemptNotBooked === true;
}

/** Left before the Lambda's own time-out so the outcome of an attempt is written. */
export const WRITE_MARGIN_MS = 30_000;

/**
 * The wait before try n + 1 of a request proven to have booked nothing: the PSP's Retry-After,
 * else 200 ms doubling, at most 10 s, plus a jitter (`random` in [0, 1)).
 */
export function retryWait(n: number, retryAfterMs: number | undefined, random: number): number {
  const backoff = Math.min(10_000, retryAfterMs ?? 200 * 2 ** (n - 1));
  return backoff + Math.floor(random * Math.max(100, backoff / 2));
}

/** Another try fits only if the outcome can still be written after the wait. */
export function timeForRetry(remainingMs: number, waitMs: number): boolean {
  return remainingMs >= waitMs + WRITE_MARGIN_MS;
}

/** A 429 from the PSP (for the rate-limited metric): the adapter says so in the outcome's `cause`. */
export function rateLimited(outcome: { kind: string; reason?: string; cause?: string }): boolean {
  return outcome.kind === 'retryable' && outcome.cause === 'rate_limited';
}
