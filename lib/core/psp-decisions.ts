import type { LifecycleState } from './refund-lifecycle.ts';

/**
 * The rules of money around the PSP, pure: what an answer proves, where a refund goes after the
 * tries of one attempt, when it may be sent again (same key, new key, or only after a status
 * lookup), and when a lookup may decide. The dispatch and the reconciliation only call these.
 *
 * The one principle: a refund is treated as "nothing booked" only when that is proven, either by
 * the answer itself (the request never reached the PSP, or the PSP documents the refusal as
 * booking nothing) or by a status lookup made late enough for a slow booking to show.
 */

/** One answer to one credit request, as the dispatch needs it (the port's outcome). */
export type PspRefundOutcome =
  | { kind: 'succeeded'; creditTransactionId: string }
  /** A documented final refusal that books nothing (card expired, blocked, validation…): proven not booked. */
  | { kind: 'declined'; code: string; message: string }
  /**
   * The transaction cannot be credited that much (over-refund, fully credited): money may already
   * have gone back by other means (a back-office credit, or an earlier booking of ours). Never
   * credited to the customer's account on this answer: a lookup decides.
   */
  | { kind: 'not_creditable'; code: string; message: string }
  /** Proven nothing booked (not sent, or 429 = `cause: rate_limited`): the same request, same key, may be sent again. */
  | { kind: 'retryable'; reason: string; retryAfterMs?: number; cause?: 'rate_limited' }
  /**
   * May have booked: any 5xx, a 409 (key in flight), a time-out after sending, an unparseable
   * answer, an unlisted code. `cause: refno_in_use` when the PSP says our reference is already
   * used (perhaps by our own earlier booking). Never resent, never credited until a lookup decides.
   */
  | { kind: 'unknown'; reason: string; code?: string; cause?: 'refno_in_use' }
  /** Credentials or merchant setup are wrong (401/403…): nothing booked, stop the whole run. */
  | { kind: 'configuration_error'; httpStatus: number; reason: string };

/** Why a refund sits in `unknown` (or `failed` after a lookup) beyond "the answer was unclear". */
export type PspRefusal = 'not_creditable' | 'refno_in_use';

/** What the tries of one attempt (one claim) prove, and where the refund goes. */
export type AttemptResult =
  | { to: 'refunded'; creditTransactionId: string }
  | { to: 'failed'; code: string; message: string }
  | { to: 'unknown'; reason: string; code: string | null; refusal: PspRefusal | null }
  /** Nothing booked by these tries: back where it came from; `provenNotBooked` if the attempt's earlier sends were proven too. */
  | { to: 'release'; reason: string; provenNotBooked: boolean }
  /** A configuration error: release as above and stop the run. */
  | { to: 'release_and_stop'; httpStatus: number; reason: string; provenNotBooked: boolean };

/** Only an answer proven to have booked nothing is tried again within the same claim. */
export function retriesAfter(outcome: PspRefundOutcome): boolean {
  return outcome.kind === 'retryable';
}

/**
 * The result of an attempt from ALL its tries, in order. A success wins (the money is at the card);
 * any unclear answer on any try makes the refund unknown, even if a later try was a 429 (a 409 on
 * try 1 means a request with this key was in flight and may still book); then a final refusal
 * (decline, configuration error) decides; else every try booked nothing: release. `fresh`: the attempt had no unproven send before this claim.
 */
export function resultOfTries(tries: readonly PspRefundOutcome[], fresh: boolean): AttemptResult {
  if (tries.length === 0) return { to: 'release', reason: 'not sent', provenNotBooked: fresh };
  const success = tries.find((t) => t.kind === 'succeeded');
  if (success) return { to: 'refunded', creditTransactionId: success.creditTransactionId };
  const unclear = tries.find((t) => t.kind === 'unknown' || t.kind === 'not_creditable');
  if (unclear?.kind === 'not_creditable') return { to: 'unknown', reason: `the PSP refused: ${unclear.code} (${unclear.message})`, code: unclear.code, refusal: 'not_creditable' };
  if (unclear?.kind === 'unknown') return { to: 'unknown', reason: unclear.reason, code: unclear.code ?? null, refusal: unclear.cause ?? null };
  const final = tries.find((t) => t.kind === 'declined' || t.kind === 'configuration_error');
  if (final?.kind === 'declined') return { to: 'failed', code: final.code, message: final.message };
  if (final?.kind === 'configuration_error') return { to: 'release_and_stop', httpStatus: final.httpStatus, reason: final.reason, provenNotBooked: fresh };
  const last = tries[tries.length - 1] as PspRefundOutcome;
  return { to: 'release', reason: last.kind === 'retryable' ? last.reason : last.kind, provenNotBooked: fresh };
}

/** Datatrans keeps an Idempotency-Key 60 minutes; we trust it 50, leaving room for clock drift and slow requests. */
export const KEY_TRUST_MS = 50 * 60_000;

/** What the PSP side of a refund record holds. */
export interface PspAttemptState {
  status: LifecycleState;
  /** The attempt of the last request (0/absent: never sent). The key is derived from (refund, attempt). */
  attempt?: number | null;
  /** When the current attempt was first sent since it was last proven not booked (null: not sent since). */
  attemptSentAt?: string | null;
  /** True once the current attempt is proven not to have booked; absent on records older than this rule. */
  attemptNotBooked?: boolean | null;
  refusal?: PspRefusal | null;
}

/** Nothing of this refund can be booked at the PSP: never sent, or its last attempt proven not booked. */
export function provenNothingAtPsp(r: PspAttemptState): boolean {
  return !(r.attempt && r.attempt > 0) || r.attemptNotBooked === true;
}

export type SendPlan =
  /** fresh: no unproven request under this key; the key's trust window starts with this send. */
  | { kind: 'send'; attempt: number; fresh: boolean }
  /** Sent before and not proven not booked, and the PSP may have forgotten the key: ask it first. */
  | { kind: 'lookup_first'; reason: string }
  | { kind: 'none'; reason: string };

/**
 * The next request of a pending or failed refund. A new attempt (new key) only after the previous
 * one is proven not booked (a final decline, or a lookup); the same key again when the attempt is
 * proven clean, or while the PSP still remembers the key (first sent less than KEY_TRUST_MS ago):
 * then a booked request is answered by its replay instead of booked twice.
 */
export function planSend(r: PspAttemptState, now: number, keyTrustMs = KEY_TRUST_MS): SendPlan {
  if (r.status !== 'pending' && r.status !== 'failed') return { kind: 'none', reason: `status ${r.status}` };
  if (r.status === 'failed' && r.refusal === 'refno_in_use') return { kind: 'none', reason: 'the PSP refuses our reference for this refund: credit pass' };
  const attempt = r.attempt ?? 0;
  if (attempt < 1) return { kind: 'send', attempt: 1, fresh: true };
  if (r.attemptNotBooked === true) return r.status === 'failed' ? { kind: 'send', attempt: attempt + 1, fresh: true } : { kind: 'send', attempt, fresh: true };
  const sentAt = r.attemptSentAt ? Date.parse(r.attemptSentAt) : Number.NaN;
  if (Number.isFinite(sentAt) && now - sentAt < keyTrustMs) return { kind: 'send', attempt, fresh: false };
  return { kind: 'lookup_first', reason: Number.isFinite(sentAt) ? `attempt ${attempt} first sent more than ${Math.round(keyTrustMs / 60_000)} minutes ago and not proven not booked` : `attempt ${attempt} not proven not booked` };
}

/** Refunds whose PSP outcome only a status lookup can settle. */
export function awaitsLookup(r: PspAttemptState): boolean {
  if (r.status === 'unknown' || r.status === 'sending') return true;
  return (r.status === 'pending' || r.status === 'failed') && !provenNothingAtPsp(r);
}

export interface LookupTiming {
  /** The PSP client time-out: a request may still be processed that long after it was sent. */
  timeoutMs: number;
  /** Beyond it, for a slow booking to show in the PSP's records. */
  marginMs: number;
}

export const RECONCILE_MARGIN_MS = 5 * 60_000;

/**
 * The earliest instant a lookup may decide a refund: its last possible request, plus the client
 * time-out, plus a margin. Before that a booking still in progress may not show, and "not credited"
 * would be a guess. The last request was sent at latest when the outcome was written (lastPspAt),
 * or, for an abandoned claim, before its lease ended.
 */
export function lookupNotBefore(
  r: { status: LifecycleState; lastPspAt?: string | null; attemptSentAt?: string | null; createdAt?: string | null; sending?: { leaseUntil: string } | null },
  timing: LookupTiming,
): number {
  const candidates = [r.status === 'sending' ? r.sending?.leaseUntil : null, r.lastPspAt, r.attemptSentAt, r.createdAt]
    .map((t) => (t ? Date.parse(t) : Number.NaN))
    .filter((t) => Number.isFinite(t));
  const latest = candidates.length > 0 ? Math.max(...candidates) : 0;
  return latest + timing.timeoutMs + timing.marginMs;
}

/** What a lookup says about one refund's request(s) (from the attribution of the transaction's credits). */
export type LookupVerdict =
  | { kind: 'credited'; creditTransactionId: string | null }
  | { kind: 'not_credited' }
  /** Our credit (known by id, or the only one the history allows) was reported failed after booking: the money did not move. */
  | { kind: 'failed_after_credit'; creditTransactionId: string | null; code: string }
  | { kind: 'ambiguous'; reason: string };

/** A credit we know by id (from a success answer), as the PSP's status shows it. */
export interface KnownCredit {
  creditTransactionId: string;
  type: string;
  refno: string | null;
  state: 'booked' | 'failed' | 'in_progress';
  failReason: string | null;
}

/** Ours only if it is a credit carrying this refund's reference; booked, or failed after booking (a late failure). */
export function verdictOfKnownCredit(credit: KnownCredit, expectedRefno: string): LookupVerdict {
  if (credit.type !== 'credit' || credit.refno !== expectedRefno) return { kind: 'ambiguous', reason: `credit ${credit.creditTransactionId} does not carry this refund's reference` };
  if (credit.state === 'booked') return { kind: 'credited', creditTransactionId: credit.creditTransactionId };
  if (credit.state === 'failed') return { kind: 'failed_after_credit', creditTransactionId: credit.creditTransactionId, code: credit.failReason ?? 'failed' };
  return { kind: 'ambiguous', reason: `credit ${credit.creditTransactionId} still in progress at the PSP` };
}

/** Where a refund awaiting a lookup goes. */
export type Resolution =
  | { to: 'refunded'; creditTransactionId: string | null }
  /** Proven not booked: unknown or an abandoned claim back to pending (same key); pending/failed keep their status. */
  | { to: 'proven'; status: 'pending' | 'failed' }
  /** failedCredit: our credit that failed after booking (its id when known), to be recorded on the refund. */
  | { to: 'failed'; code: string; message: string; refusal: PspRefusal | null; failedCredit?: { creditTransactionId: string | null } }
  | { to: 'manual'; reason: string }
  | { to: 'unknown'; reason: string };

export interface ResolutionInput extends PspAttemptState {
  amount: number;
  pspCode?: string | null;
  /** For an abandoned claim: where it was claimed from. */
  sendingFrom?: 'pending' | 'failed' | null;
}

/** How long a refund may stay unclear (the PSP's records cannot tell) before a person must decide: a night. */
export const UNCLEAR_TO_MANUAL_MS = 24 * 3600_000;

/**
 * From the settings (the environment): the client time-out the dispatch used (as configured now),
 * the margin for slow bookings (0 allowed: tests, chaos), and how long a refund may stay unclear
 * before it goes to a person. An unset or invalid setting takes its default.
 */
export function lookupTimingOf(env: Readonly<Record<string, string | undefined>>): LookupTiming & { unclearToManualMs: number } {
  const positive = (name: string, fallback: number) => {
    const n = Number(env[name]);
    return Number.isSafeInteger(n) && n > 0 ? n : fallback;
  };
  // A blank setting is no setting: Number('') is 0, and a margin of 0 would judge slow bookings too early.
  const raw = env['MASS_REFUND_RECONCILE_MARGIN_SECONDS']?.trim();
  const margin = Number(raw);
  const marginMs = raw && Number.isSafeInteger(margin) && margin >= 0 ? margin * 1000 : RECONCILE_MARGIN_MS;
  return { timeoutMs: positive('MASS_REFUND_PSP_TIMEOUT_MS', 20_000), marginMs, unclearToManualMs: positive('MASS_REFUND_UNCLEAR_TO_MANUAL_SECONDS', UNCLEAR_TO_MANUAL_MS / 1000) * 1000 };
}

/**
 * Settles a refund from a lookup. Not credited and the transaction has no room left for it: money
 * went back by other means (a back-office credit…), so neither the PSP nor the credit account pays
 * it again; an operator decides (manual, with the reason). A reference the PSP refuses as in use
 * and not ours: failed, for the credit pass, never resent. A refusal for another reason with room
 * left: failed. Otherwise proven not booked: back to pending for the next psp pass. Unclear: stays
 * unknown, and goes to a person (manual) once it has been unclear for `unclear.manualAfterMs`:
 * nothing stays open forever, and nothing is paid on a guess.
 */
export function resolve(
  r: ResolutionInput,
  verdict: LookupVerdict,
  transaction: { remaining: number | null; otherCredits: number },
  unclear: { forMs: number; manualAfterMs: number } = { forMs: 0, manualAfterMs: UNCLEAR_TO_MANUAL_MS },
): Resolution {
  switch (verdict.kind) {
    case 'credited':
      return { to: 'refunded', creditTransactionId: verdict.creditTransactionId };
    case 'failed_after_credit':
      return { to: 'failed', code: verdict.code, message: 'the PSP reports the credit failed after booking it', refusal: null, failedCredit: { creditTransactionId: verdict.creditTransactionId } };
    case 'ambiguous':
      if (unclear.forMs >= unclear.manualAfterMs) return { to: 'manual', reason: `the PSP's records cannot tell whether this refund was paid (${verdict.reason}); check with the PSP and pay by hand only if it was not` };
      return { to: 'unknown', reason: verdict.reason };
    case 'not_credited': {
      const noRoom = transaction.remaining !== null ? transaction.remaining < r.amount : r.refusal === 'not_creditable' && transaction.otherCredits > 0;
      if (noRoom) {
        const left = transaction.remaining === null ? 'the PSP refuses it' : `only ${transaction.remaining} minor units left on the transaction`;
        return { to: 'manual', reason: `not credited by us and the transaction cannot take ${r.amount} minor units (${left}): money may have gone back by other means; decide by hand` };
      }
      if (r.refusal === 'refno_in_use') return { to: 'failed', code: r.pspCode ?? 'DUPLICATE_REFNO', message: 'the PSP refuses our reference and holds no credit of ours: never resent, credit pass', refusal: 'refno_in_use' };
      if (r.refusal === 'not_creditable') return { to: 'failed', code: r.pspCode ?? 'NOT_CREDITABLE', message: 'the PSP refused the credit and holds no credit of ours', refusal: null };
      const status = r.status === 'sending' ? (r.sendingFrom ?? 'pending') : r.status === 'failed' ? 'failed' : 'pending';
      return { to: 'proven', status };
    }
  }
}
