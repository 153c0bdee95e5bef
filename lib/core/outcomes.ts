import { REFUND_STATUSES, type RefundStatus } from './model.ts';

/**
 * The outcomes a run report counts (CONTRACT.md: counts and totals per currency for each outcome).
 * Operators and their exports read these names: add one here, never rename one. Every stage
 * tallies through `tally()` (report.ts), which takes only these.
 */

/** CancelPerformance, PartialRefund, CancelTickets: what the booking of each order did. */
export const BOOKING_OUTCOMES = [
  'tickets_cancelled',
  'tickets_exchanged',
  'replacement_tickets',
  'orders_cancelled',
  'orders_exchanged',
  'fees_refunded',
  'pending_refunds',
  'returned_to_account',
  'orders_booked_in_parts',
  'tickets_skipped_already_cancelled',
  'tickets_skipped_already_exchanged',
  'tickets_skipped_cancelled',
  'orders_skipped_already_cancelled',
  'orders_refused',
  'bookings_finished_for_other_runs',
] as const;

/** DispatchRefunds' passes: where a refund goes (simulation) and what became of it. */
export const DISPATCH_OUTCOMES = ['to_psp', 'to_credit', 'refunded', 'declined', 'unknown', 'deferred', 'conflict', 'credited'] as const;

/** ReconcileRefunds (and a status lookup before sending): what the PSP's records prove for a refund. */
export const RECONCILE_OUTCOMES = [
  'refunded',
  'back_to_pending',
  'proven_not_booked',
  'failed',
  'manual',
  'still_unknown',
  'too_recent',
  'confirmed',
  'late_failure',
  'unverified',
  'conflict',
] as const;

/** ReconcileRefunds' comparison of the ledger with the PSP's records. */
export const LEDGER_OUTCOMES = ['transactions_compared', 'difference'] as const;

/** SendEmails: what became of the customer emails. */
export const EMAIL_OUTCOMES = ['emails_sent', 'emails_deferred', 'emails_failed', 'emails_unconfirmed', 'ses_throttled'] as const;

/** WriteOff, ReverseWriteOff, SwitchRefundToManual. */
export const VOUCHER_AND_MANUAL_OUTCOMES = ['would_write_off', 'written_off', 'reversed', 'switched_to_manual'] as const;

/** Why a write-off left a voucher alone (lib/core/write-off.ts decides). */
export const WRITE_OFF_SKIPS = [
  'gift_card',
  'excluded',
  'nothing_remaining',
  'already_written_off',
  'not_named',
  'kind_not_selected',
  'issued_after_cutoff',
  'not_expired',
  'reversed',
  /** Gone between the page's read and its write. */
  'vanished',
] as const;

/** Why a dispatch pass left a refund alone: its status, or a reason of the pass. */
export const DISPATCH_SKIPS = ['in_flight', 'not_in_simulation', 'not_sendable', 'claimed_elsewhere', 'changed_concurrently', 'no_transaction'] as const;

export type ReconcileOutcome = (typeof RECONCILE_OUTCOMES)[number];
export type WriteOffSkip = (typeof WRITE_OFF_SKIPS)[number];
export type SkipReason = WriteOffSkip | (typeof DISPATCH_SKIPS)[number] | RefundStatus;

export type Outcome =
  | (typeof BOOKING_OUTCOMES)[number]
  | (typeof DISPATCH_OUTCOMES)[number]
  | ReconcileOutcome
  | (typeof LEDGER_OUTCOMES)[number]
  | (typeof EMAIL_OUTCOMES)[number]
  | (typeof VOUCHER_AND_MANUAL_OUTCOMES)[number]
  | `skipped:${SkipReason}`
  /** A run that stopped (PSP configuration error, SES stop): left for a later run. */
  | 'deferred:run_stopped'
  /** A status lookup before sending that did not settle the refund as refunded. */
  | `lookup:${Exclude<ReconcileOutcome, 'refunded'>}`;

const PLAIN = new Set<string>([
  ...BOOKING_OUTCOMES,
  ...DISPATCH_OUTCOMES,
  ...RECONCILE_OUTCOMES,
  ...LEDGER_OUTCOMES,
  ...EMAIL_OUTCOMES,
  ...VOUCHER_AND_MANUAL_OUTCOMES,
  'deferred:run_stopped',
]);
const SKIPS = new Set<string>([...WRITE_OFF_SKIPS, ...DISPATCH_SKIPS, ...REFUND_STATUSES]);
const LOOKUPS = new Set<string>(RECONCILE_OUTCOMES.filter((o) => o !== 'refunded'));

/** Whether a report key is an outcome of the vocabulary (reports read back from storage, tests). */
export function isOutcome(name: string): name is Outcome {
  if (PLAIN.has(name)) return true;
  const [prefix, rest] = name.split(/:(.*)/s, 2);
  if (rest === undefined) return false;
  if (prefix === 'skipped') return SKIPS.has(rest);
  if (prefix === 'lookup') return LOOKUPS.has(rest);
  return false;
}
