import { REFUND_STATUSES, type RefundStatus } from './model.ts';

/**
 * The outcomes a run report counts (CONTRACT.md: counts and totals per currency for each outcome),
 * each with what it means to an operator (docs/outcomes.md is generated from these). Operators
 * and their exports read these names: add one here, never rename one. Every stage tallies through
 * `tally()` (report.ts), which takes only these.
 */

/** CancelPerformance, PartialRefund, CancelTickets: what the booking of each order did. */
export const BOOKING_OUTCOMES = {
  tickets_cancelled: 'tickets cancelled by this run (amount: their price)',
  tickets_exchanged: 'tickets a partial refund exchanged for a ticket at the reduced price (amount: the old price)',
  replacement_tickets: 'the tickets a partial refund issued in their place (amount: the new price)',
  orders_cancelled: 'orders with a cancellation booked (amount: what they get back)',
  orders_exchanged: 'orders with a partial refund booked (amount: what they get back)',
  fees_refunded: 'fees refunded with the tickets (`refundFees: true`)',
  pending_refunds: 'refunds created for DispatchRefunds, one per payment drawn on',
  returned_to_account: "money an agency still owed, returned at once to its intermediate account (its open items shrink; the agency is emailed)",
  orders_booked_in_parts: 'orders too large for one DynamoDB transaction, booked in parts under a lease',
  tickets_skipped_already_cancelled: 'tickets already cancelled (by an earlier run or at the box office): left alone',
  tickets_skipped_already_exchanged: 'tickets another run already exchanged: left alone (amount: their price)',
  tickets_skipped_cancelled: 'cancelled tickets a partial refund does not exchange (amount: their price)',
  orders_skipped_already_cancelled: 'orders with nothing left to cancel',
  orders_refused: 'orders that could not be booked; each is listed in `errors` with the reason',
  bookings_finished_for_other_runs: "group orders whose booking in parts an earlier run left unfinished: finished first, as that run planned it",
} as const;

/** DispatchRefunds' passes: where a refund goes (simulation) and what became of it. */
export const DISPATCH_OUTCOMES = {
  to_psp: 'simulation: the psp pass will ask the PSP to refund it to the card',
  to_credit: "simulation: the credit pass will credit it to the owner's credit account",
  refunded: 'refunded to the card: the PSP booked the credit (or its records show it did)',
  declined: 'declined by the PSP: failed; the credit pass credits it (policy `fallback`), or a later psp pass tries the card again',
  unknown: 'the PSP\'s answer proves nothing (5xx, time-out, unreadable): never sent again nor credited before ReconcileRefunds reads the PSP\'s records',
  deferred: 'nothing booked (rate limit, not sent): back to its status for a later pass, the same key',
  conflict: 'changed by another run before this one wrote its outcome: left as the other run wrote it',
  credited: "credited to the owner's credit account",
} as const;

/** ReconcileRefunds (and a status lookup before resending): what the PSP's records prove for a refund. */
export const RECONCILE_OUTCOMES = {
  refunded: 'the PSP holds our credit: refunded (never sent again)',
  back_to_pending: 'not credited at the PSP and proven not booked: back for the next psp pass, the same idempotency key',
  proven_not_booked: 'not credited at the PSP: its last attempt is proven not booked (its status stays)',
  failed: 'the PSP refuses it (a reference in use that is not ours, or a refusal with room left): failed, for the credit pass',
  manual: 'money went back by other means (a back-office credit…) or it stayed unclear too long: handed to a person, with the reason',
  still_unknown: 'the PSP\'s records do not settle it yet (or could not be read): stays unknown, nothing paid on a guess',
  too_recent: 'last request too recent to judge (a slow booking may not show yet): a later run settles it',
  confirmed: 'a refund refunded earlier, confirmed by its credit at the PSP',
  late_failure: 'a credit the PSP failed after booking it: back to failed for the credit pass, the customer told',
  unverified: 'a refund refunded earlier whose credit could not be confirmed (not read, or not clearly ours)',
  conflict: 'changed by another run while it was being settled: left as the other run wrote it',
} as const;

/** ReconcileRefunds' comparison of the ledger with the PSP's records. */
export const LEDGER_OUTCOMES = {
  transactions_compared: "original card transactions compared with the PSP's records",
  difference: "transactions on which our refunds and the PSP's credits disagree (each in the report's `differences` and the run log)",
} as const;

/** SendEmails: what became of the customer emails. */
export const EMAIL_OUTCOMES = {
  emails_sent: 'emails SES accepted',
  emails_deferred: 'emails not sent now (SES throttled or stopped the run): back in the outbox for a later run',
  emails_failed: 'emails refused for good (no address, or SES refused them); each is listed in `errors`',
  emails_unconfirmed: 'emails left "sending" (no answer from SES, or a run that stopped): they may have gone out, so they are never resent',
  ses_throttled: 'SES calls throttled and retried (a count of calls, not of emails)',
} as const;

/** WriteOff, ReverseWriteOff, SwitchRefundToManual. */
export const VOUCHER_AND_MANUAL_OUTCOMES = {
  would_write_off: 'simulation: vouchers the real run would write off (amount: their remaining value)',
  written_off: 'vouchers written off (amount: the value written off)',
  reversed: 'ReverseWriteOff: the write-off of one code undone (amount: the value restored)',
  switched_to_manual: 'SwitchRefundToManual: one refund taken out of automation for good',
} as const;

/** Why a write-off left a voucher alone (lib/core/write-off.ts decides): `skipped:<reason>`. */
export const WRITE_OFF_SKIPS = {
  gift_card: 'gift cards are never written off',
  excluded: 'on the imported exclusion list',
  nothing_remaining: 'nothing left on it',
  already_written_off: 'written off already',
  not_named: 'the run names codes and this is not one of them',
  kind_not_selected: 'its kind is not among `kinds`',
  issued_after_cutoff: 'issued after `issuedUpTo`',
  not_expired: 'not expired before `expiredBefore`',
  reversed: 'its write-off was reversed: written off again only by a run that names it',
  vanished: 'gone between the page\'s read and its write',
} as const;

/** Why a dispatch pass left a refund alone: `skipped:<reason>`. */
export const DISPATCH_SKIPS = {
  in_flight: 'being sent by another run, or its claim was left at the PSP: ReconcileRefunds settles it',
  not_in_simulation: 'not in the approved simulation, or its amount changed since: left as it is',
  not_sendable: 'the PSP must not be asked again (reason in the run log)',
  claimed_elsewhere: 'another run claimed it first',
  changed_concurrently: 'changed by another run during the credit pass',
  no_transaction: 'no PSP transaction to look its status up on',
} as const;

/** A simulation's refund that no pass of the run will touch, by its status: `skipped:<status>`. */
export const STATUS_SKIP = 'simulation: a refund in this status that no pass of the run touches (e.g. unknown until reconciled, manual)';

type Keys<T> = Extract<keyof T, string>;
export type ReconcileOutcome = Keys<typeof RECONCILE_OUTCOMES>;
export type WriteOffSkip = Keys<typeof WRITE_OFF_SKIPS>;
export type SkipReason = WriteOffSkip | Keys<typeof DISPATCH_SKIPS> | RefundStatus;

/** A run that stopped (a PSP configuration error): refunds it did not send, left for a later run. */
const RUN_STOPPED = { 'deferred:run_stopped': 'not sent: the run stopped on a PSP configuration error (401/403); a later run sends them' } as const;

export type Outcome =
  | Keys<typeof BOOKING_OUTCOMES>
  | Keys<typeof DISPATCH_OUTCOMES>
  | ReconcileOutcome
  | Keys<typeof LEDGER_OUTCOMES>
  | Keys<typeof EMAIL_OUTCOMES>
  | Keys<typeof VOUCHER_AND_MANUAL_OUTCOMES>
  | `skipped:${SkipReason}`
  | Keys<typeof RUN_STOPPED>
  /** A status lookup before resending (psp pass) that did not show the refund refunded. */
  | `lookup:${Exclude<ReconcileOutcome, 'refunded'>}`;

/** Every outcome with its meaning, grouped as the docs show them (a name may mean the same in two groups). */
export const OUTCOME_GROUPS: readonly { title: string; prefix: string; meanings: Readonly<Record<string, string>> }[] = [
  { title: 'Cancelling, partial refunds, cancelling tickets (CancelPerformance, PartialRefund, CancelTickets)', prefix: '', meanings: BOOKING_OUTCOMES },
  { title: 'Dispatching refunds (DispatchRefunds: simulate, psp, credit)', prefix: '', meanings: { ...DISPATCH_OUTCOMES, ...RUN_STOPPED } },
  { title: 'Refunds left alone by a dispatch pass', prefix: 'skipped:', meanings: { ...DISPATCH_SKIPS, ...Object.fromEntries(REFUND_STATUSES.map((s) => [s, STATUS_SKIP])) } },
  { title: "Reconciling with the PSP's records (ReconcileRefunds; as `lookup:<name>` when the psp pass looks a refund up before resending it, except refunded)", prefix: '', meanings: { ...RECONCILE_OUTCOMES, ...LEDGER_OUTCOMES } },
  { title: 'Customer emails (SendEmails)', prefix: '', meanings: EMAIL_OUTCOMES },
  { title: 'Vouchers and manual refunds (WriteOff, ReverseWriteOff, SwitchRefundToManual)', prefix: '', meanings: VOUCHER_AND_MANUAL_OUTCOMES },
  { title: 'Vouchers left alone by a write-off', prefix: 'skipped:', meanings: WRITE_OFF_SKIPS },
];

const PLAIN = new Set<string>(OUTCOME_GROUPS.filter((g) => g.prefix === '').flatMap((g) => Object.keys(g.meanings)));
const SKIPS = new Set<string>(OUTCOME_GROUPS.filter((g) => g.prefix === 'skipped:').flatMap((g) => Object.keys(g.meanings)));
const LOOKUPS = new Set<string>(Object.keys(RECONCILE_OUTCOMES).filter((o) => o !== 'refunded'));

/** Whether a report key is an outcome of the vocabulary (reports read back from storage, tests). */
export function isOutcome(name: string): name is Outcome {
  if (PLAIN.has(name)) return true;
  const [prefix, rest] = name.split(/:(.*)/s, 2);
  if (rest === undefined) return false;
  if (prefix === 'skipped') return SKIPS.has(rest);
  if (prefix === 'lookup') return LOOKUPS.has(rest);
  return false;
}

/** docs/outcomes.md: every outcome a run report may count, and what it means. */
export function renderOutcomeDocs(): string {
  const lines = [
    '# What a run report counts',
    '',
    '<!-- Generated from lib/core/outcomes.ts by `npm run inputs`; test/core/outcomes.test.ts fails when it is stale. -->',
    '',
    'Every run report (`mass-refund start …`, `mass-refund status RUN_ID`, the console output) has `outcomes`:',
    'for each outcome below that the run met, a `count` and `totals` per currency in minor units. The',
    "detail, one line per item, is in the run log (`mass-refund report RUN_ID`).",
  ];
  for (const group of OUTCOME_GROUPS) {
    lines.push('', `## ${group.title}`, '', '| outcome | meaning |', '| --- | --- |');
    for (const [name, meaning] of Object.entries(group.meanings)) lines.push(`| \`${group.prefix}${name}\` | ${meaning.replaceAll('|', '\\|')} |`);
  }
  return `${lines.join('\n')}\n`;
}
