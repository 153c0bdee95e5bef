import { REFUNDABLE_TO_SOURCE, type PaymentMethod, type RefundStatus } from './model.ts';
import { provenNothingAtPsp, type PspRefusal } from './psp-decisions.ts';

/**
 * The life of a pending refund, in one place: which moves are allowed, and which refunds each
 * dispatch pass selects. `sending` is internal (a claim with a lease while the PSP is asked);
 * exports show it as `pending` (or `unknown` once its lease expired, see exportedStatus).
 *
 *   pending ──claim──▶ sending ──succeeded──▶ refunded ──late failure──▶ failed
 *      ▲  │              │ ├──declined──────▶ failed ──claim──▶ sending (new key only once proven not booked)
 *      │  │              │ ├──unclear───────▶ unknown ──lookup──▶ refunded | pending | failed | manual
 *      │  │              │ └──nothing booked (429, not sent, 401): back where it came from
 *      │  └──credit / manual──▶ credited | manual            failed ──credit / manual──▶ …
 *      └──────────── lookup: not credited (same key, proven clean)
 *
 * credited, returned_to_account and manual are final. What the PSP's answers prove, and when a
 * refund may be sent again or credited, is in psp-decisions.ts.
 */
export type LifecycleState = RefundStatus | 'sending';

export type CreditPolicy = 'fallback' | 'always' | 'never';
export const CREDIT_POLICIES = ['fallback', 'always', 'never'] as const;

export type LifecycleEvent =
  | { type: 'claim' }
  | { type: 'psp_succeeded' }
  | { type: 'psp_declined' }
  | { type: 'psp_unknown' }
  /** Retryable outcome exhausted, or the run stopped (configuration error): nothing booked, release the claim. */
  | { type: 'release'; to: 'pending' | 'failed' }
  | { type: 'credit' }
  | { type: 'switch_manual' }
  /** A status lookup found our credit (also for a pending or failed refund whose last attempt was not proven). */
  | { type: 'reconcile_credited' }
  /** A status lookup proved the request(s) did not book: unknown / abandoned claims back to pending; pending and failed stay. */
  | { type: 'reconcile_not_credited' }
  | { type: 'reconcile_failed' }
  /** Not booked by us and the transaction cannot take it: money went back by other means, a person decides. */
  | { type: 'reconcile_manual' }
  /** The lookup could not tell: the refund waits as unknown. */
  | { type: 'reconcile_unclear' }
  | { type: 'late_failure' }
  /** Created by a cancellation straight onto an unsettled intermediate account. */
  | { type: 'return_to_account' };

export const FINAL_STATES: ReadonlySet<LifecycleState> = new Set(['credited', 'returned_to_account', 'manual']);
/** States a status lookup may settle (pending and failed only when their last attempt is not proven, see awaitsLookup). */
const AWAITING_LOOKUP: ReadonlySet<LifecycleState> = new Set(['unknown', 'sending', 'pending', 'failed']);

/** Where a refund goes on an event, or null when the move is not allowed (the store's condition refuses it too). */
export function transition(from: LifecycleState, event: LifecycleEvent): LifecycleState | null {
  switch (event.type) {
    case 'claim':
      return from === 'pending' || from === 'failed' ? 'sending' : null;
    case 'psp_succeeded':
      return from === 'sending' ? 'refunded' : null;
    case 'psp_declined':
      return from === 'sending' ? 'failed' : null;
    case 'psp_unknown':
      return from === 'sending' ? 'unknown' : null;
    case 'release':
      return from === 'sending' ? event.to : null;
    case 'credit':
    case 'switch_manual':
      if (from !== 'pending' && from !== 'failed') return null;
      return event.type === 'credit' ? 'credited' : 'manual';
    case 'reconcile_credited':
      return AWAITING_LOOKUP.has(from) ? 'refunded' : null;
    case 'reconcile_not_credited':
      if (from === 'unknown' || from === 'sending') return 'pending';
      return from === 'pending' || from === 'failed' ? from : null;
    case 'reconcile_failed':
      return from === 'unknown' || from === 'sending' ? 'failed' : null;
    case 'reconcile_manual':
      return AWAITING_LOOKUP.has(from) ? 'manual' : null;
    case 'reconcile_unclear':
      return AWAITING_LOOKUP.has(from) ? 'unknown' : null;
    case 'late_failure':
      return from === 'refunded' ? 'failed' : null;
    case 'return_to_account':
      return from === 'pending' ? 'returned_to_account' : null;
  }
}

/** What a refund needs for selection: its method and status, and what the PSP may hold of it. */
export interface SelectableRefund {
  status: LifecycleState;
  method: PaymentMethod;
  attempt?: number | null;
  attemptNotBooked?: boolean | null;
  refusal?: PspRefusal | null;
}

export function refundableToSource(method: PaymentMethod): boolean {
  return REFUNDABLE_TO_SOURCE.has(method);
}

/**
 * The PSP pass sends card and Amazon Pay refunds that are pending, or failed (a new attempt
 * after a final decline), except a failure whose reference the PSP refuses as in use (sending it
 * again cannot succeed). Policy `always` sends nothing: everything goes to credit accounts.
 * Whether a refund is sent at once, or only after a status lookup, is planSend's to say.
 */
export function pspPassSelects(r: SelectableRefund, policy: CreditPolicy): boolean {
  if (policy === 'always') return false;
  if (r.status === 'failed' && r.refusal === 'refno_in_use') return false;
  return refundableToSource(r.method) && (r.status === 'pending' || r.status === 'failed');
}

/**
 * The credit pass: `fallback` credits PSP failures and pending refunds that cannot go back to
 * their source; `always` credits everything open that is not at (or possibly at) the PSP;
 * `never` leaves PSP failures failed. Unknown and in-flight refunds are never credited, nor a
 * refund whose last PSP attempt is not proven not booked (a lookup must decide first).
 */
export function creditPassSelects(r: SelectableRefund, policy: CreditPolicy): boolean {
  if (r.status !== 'pending' && r.status !== 'failed') return false;
  if (!provenNothingAtPsp(r)) return false;
  if (policy === 'always') return true;
  if (r.status === 'failed') return policy === 'fallback';
  return !refundableToSource(r.method);
}

/** The selection rule of a real pass. */
export function passSelects(pass: 'psp' | 'credit'): (r: SelectableRefund, policy: CreditPolicy) => boolean {
  return pass === 'psp' ? pspPassSelects : creditPassSelects;
}

/** The pass a simulation says will touch a refund (psp first), or null when none will. */
export function passFor(r: SelectableRefund, policy: CreditPolicy): 'psp' | 'credit' | null {
  if (pspPassSelects(r, policy)) return 'psp';
  if (creditPassSelects(r, policy)) return 'credit';
  return null;
}

/** The contract status of a stored one: an in-flight claim is pending, or unknown once its lease expired. */
export function exportedStatus(status: LifecycleState, leaseUntil: string | null | undefined, now: Date): RefundStatus {
  if (status !== 'sending') return status;
  return leaseUntil && Date.parse(leaseUntil) <= now.getTime() ? 'unknown' : 'pending';
}
