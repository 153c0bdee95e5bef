import type { LookupVerdict } from './psp-decisions.ts';

/**
 * Reconciliation's attribution, pure: which of the PSP's credits on one original transaction are
 * ours, from what its status shows (each successful credit action: amount, date, source) and what
 * we hold. Only `source: api` credits can be ours; back-office (`admin`) and any other source never
 * are. A credit is ours only when our records force it: dated inside the window of an unproven
 * request, and no other refund of ours could own it. Anything else is "ambiguous", for a person.
 */

/** One successful credit action in the original transaction's history. */
export interface PspCreditAction {
  amount: number;
  /** ISO date-time of the action; null when the PSP did not give one. */
  date: string | null;
  source: string;
}

export interface PspTransactionView {
  currency: string | null;
  /** Settled (captured) amount; null when the status does not show it. */
  settledAmount: number | null;
  /** Net amount the PSP reports credited (credits that failed after booking excluded). */
  creditedAmount: number;
  /** Successful credit actions, every source. */
  credits: readonly PspCreditAction[];
}

export interface OurRefundOnTransaction {
  id: string;
  amount: number;
  /** We hold it refunded at the PSP: one credit of its amount must be in the history. */
  holdsCredit: boolean;
  /** Amounts of our credits the PSP reported failed after booking (the history still lists them as successful). */
  failedCredits: readonly number[];
  /** Awaiting a lookup: decide whether its unproven request(s) booked. */
  awaitsLookup: boolean;
  /** From when its request(s) may have booked (its attempt's first send); null = any time. */
  windowFrom: string | null;
}

export interface Attribution {
  /** For every refund awaiting a lookup. */
  verdicts: Map<string, LookupVerdict>;
  /** Credits no refund of ours explains: every non-api credit, and api credits beyond ours. */
  unexplained: PspCreditAction[];
  /** Refunds we hold refunded whose credit the history does not show. */
  missing: string[];
  /** The credit taken by each refund holding one, or found credited. */
  attributed: Map<string, PspCreditAction>;
  /** Settled minus credited: what the PSP would still accept; null when the settled amount is not shown. */
  remaining: number | null;
  /** Sum of the credits from other sources (back office…). */
  otherCredits: number;
}

/** Allowance for clocks: a credit dated this much before our send can still be that send's. */
export const CLOCK_SKEW_MS = 5 * 60_000;

interface Slot {
  action: PspCreditAction;
  at: number;
  used: boolean;
}

const time = (d: string | null): number => (d ? Date.parse(d) : Number.NaN);
/** Undated credits sort first and fit every window. */
const byDate = (a: Slot, b: Slot) => (Number.isFinite(a.at) ? a.at : -Infinity) - (Number.isFinite(b.at) ? b.at : -Infinity);

function fits(slot: Slot, amount: number, windowFrom: string | null, skewMs: number): boolean {
  if (slot.used || slot.action.amount !== amount) return false;
  const from = time(windowFrom);
  return !Number.isFinite(from) || !Number.isFinite(slot.at) || slot.at >= from - skewMs;
}

/** Latest window first (fewest fitting credits), undated windows last. */
const latestWindowFirst = (a: OurRefundOnTransaction, b: OurRefundOnTransaction) => {
  const ta = time(a.windowFrom);
  const tb = time(b.windowFrom);
  return (Number.isFinite(tb) ? tb : -Infinity) - (Number.isFinite(ta) ? ta : -Infinity);
};

export function attributeCredits(view: PspTransactionView, refunds: readonly OurRefundOnTransaction[], skewMs = CLOCK_SKEW_MS): Attribution {
  const api: Slot[] = view.credits.filter((c) => c.source === 'api').map((action) => ({ action, at: time(action.date), used: false }));
  api.sort(byDate);
  const others = view.credits.filter((c) => c.source !== 'api');
  const verdicts = new Map<string, LookupVerdict>();
  const missing: string[] = [];
  const attributed = new Map<string, PspCreditAction>();

  // 1. Credits we know we hold: each takes the earliest credit that fits it (leaving later ones, which fit more windows).
  for (const r of refunds.filter((x) => x.holdsCredit).sort(latestWindowFirst)) {
    const slot = api.find((s) => fits(s, r.amount, r.windowFrom, skewMs));
    if (slot) {
      slot.used = true;
      attributed.set(r.id, slot.action);
    } else missing.push(r.id);
  }
  // 2. Our credits that failed after booking are still listed as successful: each takes the earliest of its amount.
  let knownFailed = 0;
  for (const amount of refunds.flatMap((r) => r.failedCredits)) {
    const slot = api.find((s) => fits(s, amount, null, skewMs));
    if (slot) {
      slot.used = true;
      knownFailed += amount;
    }
  }
  const listed = view.credits.reduce((s, c) => s + c.amount, 0);
  const unexplainedFailure = listed - view.creditedAmount - knownFailed;
  // The credits that may have failed after booking without our knowing: what is not yet explained.
  const unusedApi = api.filter((s) => !s.used);
  const undecided = [...unusedApi.map((s) => ({ amount: s.action.amount, api: true })), ...others.map((c) => ({ amount: c.amount, api: false }))];

  // 3. Refunds awaiting a lookup, per amount: credited only when every fitting credit must be theirs.
  const awaiting = refunds.filter((r) => r.awaitsLookup && !r.holdsCredit);
  const amounts = [...new Set(awaiting.map((r) => r.amount))];
  for (const amount of amounts) {
    const group = awaiting.filter((r) => r.amount === amount);
    const fitting = new Map(group.map((r) => [r.id, api.filter((s) => fits(s, amount, r.windowFrom, skewMs))]));
    const candidates = group.filter((r) => (fitting.get(r.id) ?? []).length > 0);
    // No credit of its amount in its window: it never booked (a credit that failed later is still listed).
    for (const r of group) if (!candidates.includes(r)) verdicts.set(r.id, { kind: 'not_credited' });
    if (candidates.length === 0) continue;
    const union = new Set(candidates.flatMap((r) => fitting.get(r.id) ?? []));
    // Windows are suffixes of time, so the fitting sets nest: each refund can get its own credit iff the i-th latest window fits at least i.
    const ordered = [...candidates].sort(latestWindowFirst);
    const matchable = ordered.every((r, i) => (fitting.get(r.id) ?? []).length >= i + 1);
    // How many credits of this amount failed after booking: one answer only if every combination adding up to the failure agrees.
    const failedOfAmount = unexplainedFailure === 0 ? new Set([0]) : failedCountsOfAmount(undecided, unexplainedFailure, amount);
    const failed = failedOfAmount.size === 1 ? ([...failedOfAmount][0] as number) : -1;
    const allOfAmount = unusedApi.filter((s) => s.action.amount === amount);
    const everyCreditOurs = union.size === candidates.length && matchable;
    if (everyCreditOurs && failed === 0) {
      for (const r of ordered) {
        const slot = api.find((s) => fits(s, amount, r.windowFrom, skewMs));
        if (slot) {
          slot.used = true;
          attributed.set(r.id, slot.action);
        }
        verdicts.set(r.id, { kind: 'credited', creditTransactionId: null });
      }
    } else if (everyCreditOurs && failed === union.size && allOfAmount.every((s) => union.has(s))) {
      // Each of these credits is ours and each failed after booking: the money did not move.
      for (const r of ordered) verdicts.set(r.id, { kind: 'failed_after_credit', creditTransactionId: null, code: 'failed_after_booking' });
      for (const s of union) s.used = true;
    } else {
      const reason =
        failed !== 0
          ? `the PSP's history and credited amount disagree by ${unexplainedFailure} minor units (a credit failed after booking) and cannot say whose`
          : `${union.size} credit(s) of ${amount} minor units at the PSP could be any of ${candidates.length} refund(s) of ours: ${candidates.map((r) => r.id).join(', ')}`;
      for (const r of candidates) verdicts.set(r.id, { kind: 'ambiguous', reason });
    }
  }

  return {
    verdicts,
    unexplained: [...others, ...api.filter((s) => !s.used).map((s) => s.action)],
    missing,
    attributed,
    remaining: view.settledAmount === null ? null : view.settledAmount - view.creditedAmount,
    otherCredits: others.reduce((s, c) => s + c.amount, 0),
  };
}

/**
 * For the credits not yet explained and the amount that failed after booking: the possible counts of
 * failed API credits of `amount`, over every combination adding up to the failure. One element: the
 * history is clear for that amount. Beyond 16 credits it answers "unclear" (an empty set).
 */
export function failedCountsOfAmount(credits: readonly { amount: number; api: boolean }[], failed: number, amount: number): Set<number> {
  const counts = new Set<number>();
  if (failed <= 0 || credits.length > 16) return counts;
  const n = credits.length;
  for (let mask = 1; mask < 1 << n; mask++) {
    let total = 0;
    let ofAmount = 0;
    for (let i = 0; i < n; i++) {
      if (mask & (1 << i)) {
        const c = credits[i] as { amount: number; api: boolean };
        total += c.amount;
        if (c.api && c.amount === amount) ofAmount++;
      }
    }
    if (total === failed) counts.add(ofAmount);
  }
  return counts;
}
