import { REFUNDABLE_TO_SOURCE, type PaymentMethod, type RefundStatus } from './model.ts';

/**
 * The life of a pending refund, in one place: which moves are allowed, and which refunds each
 * dispatch pass selects. `sending` is internal (a claim with a lease while the PSP is asked);
 * exports show it as `pending` (or `unknown` once its lease expired, see exportedStatus).
 *
 *   pending ──claim──▶ sending ──succeeded──▶ refunded ──late failure──▶ failed
 *      ▲  │              │ ├──declined──────▶ failed ──claim (attempt+1)──▶ sending
 *      │  │              │ ├──unknown───────▶ unknown ──reconcile──▶ refunded | failed | pending
 *      │  │              │ └──retryable exhausted / configuration error: back where it came from
 *      │  └──credit / manual──▶ credited | manual            failed ──credit / manual──▶ …
 *      └──────────── reconcile not_credited (same attempt, same idempotency key)
 *
 * credited, returned_to_account and manual are final.
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
  | { type: 'reconcile_credited' }
  | { type: 'reconcile_not_credited' }
  | { type: 'reconcile_failed' }
  | { type: 'late_failure' }
  /** Created by a cancellation straight onto an unsettled intermediate account. */
  | { type: 'return_to_account' };

export const FINAL_STATES: ReadonlySet<LifecycleState> = new Set(['credited', 'returned_to_account', 'manual']);

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
      return from === 'unknown' || from === 'sending' ? 'refunded' : null;
    case 'reconcile_not_credited':
      return from === 'unknown' || from === 'sending' ? 'pending' : null;
    case 'reconcile_failed':
      return from === 'unknown' || from === 'sending' ? 'failed' : null;
    case 'late_failure':
      return from === 'refunded' ? 'failed' : null;
    case 'return_to_account':
      return from === 'pending' ? 'returned_to_account' : null;
  }
}

/** What a refund needs for selection: its method, status and, for intermediate accounts, settlement. */
export interface SelectableRefund {
  status: LifecycleState;
  method: PaymentMethod;
}

export function refundableToSource(method: PaymentMethod): boolean {
  return REFUNDABLE_TO_SOURCE.has(method);
}

/**
 * The PSP pass sends card and Amazon Pay refunds that are pending, or failed (a new attempt
 * after a final decline). Policy `always` sends nothing: everything goes to credit accounts.
 */
export function pspPassSelects(r: SelectableRefund, policy: CreditPolicy): boolean {
  if (policy === 'always') return false;
  return refundableToSource(r.method) && (r.status === 'pending' || r.status === 'failed');
}

/**
 * The credit pass: `fallback` credits PSP failures and pending refunds that cannot go back to
 * their source; `always` credits everything open that is not at (or possibly at) the PSP;
 * `never` leaves PSP failures failed. Unknown and in-flight refunds are never credited.
 */
export function creditPassSelects(r: SelectableRefund, policy: CreditPolicy): boolean {
  if (r.status !== 'pending' && r.status !== 'failed') return false;
  if (policy === 'always') return true;
  if (r.status === 'failed') return policy === 'fallback';
  return !refundableToSource(r.method);
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

/**
 * The idempotency attempt of the next PSP request: a new attempt (new key) only after a final
 * decline; a refund released after retryable trouble or found not credited by reconciliation
 * resends with the SAME attempt, so a request still alive at the PSP (keys live 60 minutes)
 * is answered by replay instead of being booked twice.
 */
export function nextAttempt(status: 'pending' | 'failed', lastAttempt: number | null | undefined): number {
  const last = lastAttempt ?? 0;
  if (status === 'failed') return last + 1;
  return Math.max(1, last);
}
