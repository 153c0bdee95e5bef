import * as z from 'zod';
import { MoneyRuleError } from './errors.ts';
import { money, type Money } from './money.ts';
import type { Outcome } from './outcomes.ts';

/**
 * The run report every workflow returns (CONTRACT.md): counts and totals per currency for
 * each outcome of the vocabulary (outcomes.ts: "refunded", "credited", "tickets_cancelled"…).
 * Detail lines go to the run log, not here.
 */
export interface OutcomeTally {
  count: number;
  /** Totals per currency in minor units, keys sorted by currency code. */
  totals: Record<string, number>;
}

export type Tallies = Record<string, OutcomeTally>;

/** The tallies as they travel between stages (one schema for every stage and report). */
export const OutcomeTallySchema = z.object({ count: z.number().int(), totals: z.record(z.string(), z.number().int()) });
export const TalliesSchema = z.record(z.string(), OutcomeTallySchema);

/** An error a run report lists (CONTRACT.md `errors`): what was left undone, and why; `field` names the item. */
export const ReportErrorSchema = z.object({ code: z.string(), message: z.string(), field: z.string().optional() });
export type ReportError = z.infer<typeof ReportErrorSchema>;

/** Errors a run carries in its state from page to page (the payload stays small); past them, only their number. */
export const MAX_CARRIED_ERRORS = 20;

/**
 * How a run ended (CONTRACT.md): `succeeded`; `completed_with_errors` when it went to its end but
 * left something undone for a reason listed in `errors` (the CLI then exits 1); `failed`; and
 * `awaiting_approval` for a scheduled dispatch that stopped after simulating.
 */
export type RunOutcomeStatus = 'succeeded' | 'completed_with_errors' | 'failed' | 'awaiting_approval';

export interface RunReport {
  runId: string;
  workflow: string;
  status: RunOutcomeStatus;
  startedAt: string;
  finishedAt: string;
  requestedBy: string;
  input: unknown;
  outcomes: Tallies;
  errors: ReportError[];
  [extra: string]: unknown;
}

function sortedTotals(totals: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(totals).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Adds `n` items (default 1) and, when given, their amount `m` to an outcome of the vocabulary (outcomes.ts). Pure. */
export function tally(t: Tallies, outcome: Outcome, m?: Money, n = 1): Tallies {
  return tallyBy(t, outcome, m, n);
}

/** The same for a breakdown that is not an outcome (a write-off's totals by kind, month, currency). */
export function tallyBy(t: Tallies, key: string, m?: Money, n = 1): Tallies {
  if (!Number.isSafeInteger(n) || n < 0) throw new MoneyRuleError(`tally count must be a non-negative integer, got ${n}`);
  const before = t[key] ?? { count: 0, totals: {} };
  const totals = { ...before.totals };
  if (m) {
    money(m.amount, m.currency); // integer minor units, known currency
    totals[m.currency] = (totals[m.currency] ?? 0) + m.amount;
  }
  return { ...t, [key]: { count: before.count + n, totals: sortedTotals(totals) } };
}

export function mergeTallies(...list: Tallies[]): Tallies {
  let out: Tallies = {};
  for (const t of list) {
    for (const [outcome, { count, totals }] of Object.entries(t)) {
      out = tallyBy(out, outcome, undefined, count);
      for (const [currency, amount] of Object.entries(totals)) out = tallyBy(out, outcome, { amount, currency }, 0);
    }
  }
  return out;
}

/** The status of a run that went to its end: any error listed means something was left undone. */
export function finishedStatus(errors: readonly unknown[]): 'succeeded' | 'completed_with_errors' {
  return errors.length > 0 ? 'completed_with_errors' : 'succeeded';
}

/** The report of a run that ended well: the contract's fields, finished now, no errors. */
export function succeededReport(
  run: { runId: string; workflow: string; startedAt: string; requestedBy: string; input: unknown },
  outcomes: Tallies,
  extra: Record<string, unknown> = {},
): RunReport {
  return { ...run, status: 'succeeded', finishedAt: new Date().toISOString(), outcomes, errors: [], ...extra };
}
