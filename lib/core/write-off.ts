import { createHash } from 'node:crypto';
import { ValidationError, type FieldIssue } from './errors.ts';
import { minorDigits, toDecimalString, type Money } from './money.ts';
import { VOUCHER_KINDS, type Voucher, type VoucherKind } from './model.ts';
import type { WriteOffSkip } from './outcomes.ts';
import { tally, tallyBy, type RunReport, type Tallies } from './report.ts';
import { getOrCreate } from './collections.ts';

/**
 * Bulk write-off of vouchers and tickets (seed 002, DOMAIN.md workflow 5). A voucher is written
 * off for its remaining value when all of these hold:
 * - it is not a gift card (never written off) and not on the exclusion list (always respected);
 * - it was not written off before, and its kind is selected (all kinds but gift cards by default);
 * - named by the run, when the run names codes (`codes`);
 * - issued up to the cut-off: issue date <= issuedUpTo (when given);
 * - already expired at the date: validUntil exists and validUntil < expiredBefore (when given);
 * - its last write-off was not reversed, unless the run names it: a reversal is an operator's
 *   decision about that code, which a bulk run by date must not silently undo;
 * - something remains on it.
 * Dates compare as calendar dates (the first 10 characters of the ISO value).
 */
export interface WriteOffCriteria {
  issuedUpTo?: string;
  expiredBefore?: string;
  kinds?: VoucherKind[];
  /** Only these codes; a reversed code is written off again only when named here. */
  codes?: readonly string[];
}

/** Codes one run may name: the input travels with every page of the run. */
export const MAX_NAMED_CODES = 100;

export type WriteOffDecision =
  | { eligible: true }
  | {
      eligible: false;
      reason: Exclude<WriteOffSkip, 'vanished'>;
    };

/** How many codes the simulation file lists (seed 002: "die ersten 1000 Codes"). */
export const WRITE_OFF_SAMPLE_SIZE = 1000;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isIsoDate(s: string): boolean {
  const m = ISO_DATE.exec(s);
  if (!m) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
}

const datePart = (iso: string): string => iso.slice(0, 10);

/** `today` (YYYY-MM-DD), when given, refuses dates after it: a write-off never looks into the future. */
export function validateWriteOffCriteria(c: WriteOffCriteria, today?: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (c.issuedUpTo === undefined && c.expiredBefore === undefined && c.codes === undefined) {
    issues.push({ field: 'issuedUpTo', reason: 'give issuedUpTo and/or expiredBefore (or name the codes in codes)' });
  }
  for (const field of ['issuedUpTo', 'expiredBefore'] as const) {
    const v = c[field];
    if (v !== undefined && !isIsoDate(v)) issues.push({ field, reason: `must be a date YYYY-MM-DD, got ${JSON.stringify(v)}` });
    else if (v !== undefined && today !== undefined && v > today) issues.push({ field, reason: `must not be in the future (today is ${today}), got ${v}` });
  }
  (c.kinds ?? []).forEach((k, i) => {
    if (!(VOUCHER_KINDS as readonly string[]).includes(k)) issues.push({ field: `kinds.${i}`, reason: `unknown kind ${JSON.stringify(k)}; kinds: ${VOUCHER_KINDS.join(', ')}` });
    else if (k === 'gift_card') issues.push({ field: `kinds.${i}`, reason: 'gift cards are never written off' });
  });
  if (c.codes !== undefined) {
    if (c.codes.length === 0) issues.push({ field: 'codes', reason: 'name at least one code, or leave codes out' });
    if (c.codes.length > MAX_NAMED_CODES) issues.push({ field: 'codes', reason: `name at most ${MAX_NAMED_CODES} codes per run, got ${c.codes.length}` });
    const seen = new Set<string>();
    c.codes.forEach((code, i) => {
      if (typeof code !== 'string' || code.trim() === '') issues.push({ field: `codes.${i}`, reason: 'must be a code' });
      else if (seen.has(code)) issues.push({ field: `codes.${i}`, reason: `names ${JSON.stringify(code)} twice` });
      seen.add(code);
    });
  }
  return issues;
}

// Runs decide thousands of vouchers against the same list of named codes.
const namedSets = new WeakMap<readonly string[], ReadonlySet<string>>();
/** A whole write-off request's issues: its criteria, and the comment a real run must give. */
export function writeOffRequestIssues(input: WriteOffCriteria & { simulate: boolean; comment?: string | undefined }, today?: string): FieldIssue[] {
  const issues = validateWriteOffCriteria({ issuedUpTo: input.issuedUpTo, expiredBefore: input.expiredBefore, kinds: input.kinds, codes: input.codes }, today);
  if (!input.simulate && !input.comment) issues.push({ field: 'comment', reason: 'is required for a real run (simulate: false); it is shown when a written-off code is looked up' });
  return issues;
}

/** The named codes the store does not know, one issue each. */
export function unknownCodeIssues(codes: readonly string[], known: ReadonlySet<string>): FieldIssue[] {
  return codes.flatMap((code, i) => (known.has(code) ? [] : [{ field: `codes.${i}`, reason: `no voucher or ticket ${JSON.stringify(code)}` }]));
}

function isNamed(code: string, codes: readonly string[] | undefined): boolean {
  if (codes === undefined) return false;
  const set = getOrCreate(namedSets, codes, () => new Set(codes));
  return set.has(code);
}

export function decideWriteOff(v: Voucher, c: WriteOffCriteria, excluded: ReadonlySet<string>): WriteOffDecision {
  const issues = validateWriteOffCriteria(c);
  if (issues.length) throw new ValidationError(issues);
  if (v.kind === 'gift_card') return { eligible: false, reason: 'gift_card' };
  if (excluded.has(v.code)) return { eligible: false, reason: 'excluded' };
  if (v.writtenOff) return { eligible: false, reason: 'already_written_off' };
  const named = isNamed(v.code, c.codes);
  if (c.codes !== undefined && !named) return { eligible: false, reason: 'not_named' };
  if (c.kinds && !c.kinds.includes(v.kind)) return { eligible: false, reason: 'kind_not_selected' };
  if (c.issuedUpTo !== undefined && datePart(v.issuedAt) > c.issuedUpTo) return { eligible: false, reason: 'issued_after_cutoff' };
  if (c.expiredBefore !== undefined && !(v.validUntil && datePart(v.validUntil) < c.expiredBefore)) return { eligible: false, reason: 'not_expired' };
  if (v.lastReversal && !named) return { eligible: false, reason: 'reversed' };
  if (v.remaining.amount <= 0) return { eligible: false, reason: 'nothing_remaining' };
  return { eligible: true };
}

/** A voucher as a write-off run sees it: the stored amount a write-off took, when written off. */
export type WriteOffCandidate = Voucher & { writtenOffAmount?: number | null };

export interface WriteOffPageContext {
  runId: string;
  simulate: boolean;
  criteria: WriteOffCriteria;
  excluded: ReadonlySet<string>;
}

/** What a page decides before writing: its tallies so far, the codes selected, the vouchers to write off. */
export interface WriteOffPagePlan<V extends WriteOffCandidate> {
  tallies: Tallies;
  selected: string[];
  toWrite: V[];
}

/**
 * Decides a page of vouchers: skipped ones tallied with their reason, a simulation's eligible ones
 * selected, a real run's eligible ones to write. A voucher this very run already wrote off (a
 * retried page) is counted again, never written again.
 */
export function planWriteOffPage<V extends WriteOffCandidate>(vouchers: readonly V[], ctx: WriteOffPageContext, tallies: Tallies): WriteOffPagePlan<V> {
  const outcome = writeOffOutcome(ctx.simulate);
  const plan: WriteOffPagePlan<V> = { tallies, selected: [], toWrite: [] };
  for (const v of vouchers) {
    if (!ctx.simulate && v.writtenOff?.runId === ctx.runId) {
      plan.selected.push(v.code);
      plan.tallies = tally(plan.tallies, outcome, { amount: v.writtenOffAmount ?? 0, currency: v.remaining.currency });
      continue;
    }
    const decision = decideWriteOff(v, ctx.criteria, ctx.excluded);
    if (!decision.eligible) plan.tallies = tally(plan.tallies, `skipped:${decision.reason}`, v.remaining);
    else if (ctx.simulate) {
      plan.selected.push(v.code);
      plan.tallies = tally(plan.tallies, outcome, v.remaining);
    } else plan.toWrite.push(v);
  }
  return plan;
}

/** The outcome a selected voucher counts under. */
export function writeOffOutcome(simulate: boolean): 'would_write_off' | 'written_off' {
  return simulate ? 'would_write_off' : 'written_off';
}

/** How writing off one voucher ended. */
export type WriteOffResult = { written: true; amount: number } | { written: false; reason: WriteOffSkip; remaining: Money };

/**
 * A voucher whose write-off failed a condition, read again: settled (gone, written off by this
 * run, no longer eligible), or `retry` to write it off as it is now.
 */
export function recheckWriteOff(fresh: WriteOffCandidate | undefined, decided: WriteOffCandidate, ctx: WriteOffPageContext): WriteOffResult | 'retry' {
  if (!fresh) return { written: false, reason: 'vanished', remaining: decided.remaining };
  if (fresh.writtenOff?.runId === ctx.runId) return { written: true, amount: fresh.writtenOffAmount ?? 0 };
  const decision = decideWriteOff(fresh, ctx.criteria, ctx.excluded);
  if (!decision.eligible) return { written: false, reason: decision.reason, remaining: fresh.remaining };
  return 'retry';
}

/** A real page's writes added to its plan: each voucher written off selected and tallied, each settled otherwise skipped with its reason. */
export function tallyWritten<V extends WriteOffCandidate>(plan: Pick<WriteOffPagePlan<V>, 'tallies' | 'selected'>, written: readonly { voucher: V; result: WriteOffResult }[]): { tallies: Tallies; selected: string[] } {
  let tallies = plan.tallies;
  const selected = [...plan.selected];
  for (const { voucher: v, result } of written) {
    if (result.written) {
      selected.push(v.code);
      tallies = tally(tallies, writeOffOutcome(false), { amount: result.amount, currency: v.remaining.currency });
    } else tallies = tally(tallies, `skipped:${result.reason}`, result.remaining);
  }
  return { tallies, selected };
}

/** The report of a write-off run that went to its end: its tallies, and the file it stored (count, checksum, where). */
export function writeOffRunReport(
  run: { runId: string; workflow: string; startedAt: string; requestedBy: string; input: unknown; simulate: boolean },
  outcomes: Tallies,
  file: { count: number; checksum: string; location: unknown; note?: string | undefined },
  pages: number,
  finishedAt: string,
): RunReport {
  return {
    runId: run.runId,
    workflow: run.workflow,
    status: 'succeeded',
    startedAt: run.startedAt,
    finishedAt,
    requestedBy: run.requestedBy,
    input: run.input,
    simulate: run.simulate,
    outcomes,
    errors: [],
    file: { count: file.count, checksum: file.checksum, location: file.location, ...(file.note ? { note: file.note } : {}) },
    pages,
  };
}

/** The codes in the file's order: plain string sort (UTF-16 code units), as the checksum uses. */
export function sortCodes(codes: readonly string[]): string[] {
  return [...codes].sort();
}

/** SHA-256 hex over all selected codes, sorted, joined by '\n'. */
export function writeOffChecksum(codes: readonly string[]): string {
  return createHash('sha256').update(sortCodes(codes).join('\n'), 'utf8').digest('hex');
}

/**
 * The simulation text file: header, the first 1000 codes in sorted order, one a line,
 * then the count, the total per currency (exact decimal and minor units), and the checksum.
 */
export function renderWriteOffFile(input: {
  runId: string;
  criteria: WriteOffCriteria;
  simulate: boolean;
  sampleCodes: string[];
  count: number;
  totals: Record<string, number>;
  checksum: string;
}): string {
  const { runId, criteria, simulate, count, totals, checksum } = input;
  const listed = sortCodes(input.sampleCodes).slice(0, WRITE_OFF_SAMPLE_SIZE);
  const currencies = Object.keys(totals).sort();
  const lines = [
    `Write-off ${simulate ? 'simulation (nothing written off)' : 'run'} ${runId}`,
    `Criteria: issuedUpTo=${criteria.issuedUpTo ?? '-'} expiredBefore=${criteria.expiredBefore ?? '-'} kinds=${criteria.kinds?.join(',') ?? 'all but gift_card'}${criteria.codes ? ` codes=${criteria.codes.length} named` : ''}`,
    `Codes (first ${listed.length} of ${count}, sorted):`,
    ...listed,
    `Count: ${count}`,
    ...(currencies.length
      ? currencies.map((cur) => {
          const minor = totals[cur] ?? 0;
          return `Total ${cur}: ${cur} ${toDecimalString(minor, minorDigits(cur))} (${minor} minor units)`;
        })
      : ['Total: none']),
    `SHA-256: ${checksum}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** One written-off voucher, as the statistics need it. */
export interface WrittenOffVoucher {
  kind: VoucherKind;
  issuedAt: string;
  /** The amount written off (the remaining value at the time). */
  amount: { amount: number; currency: string };
}

export interface WriteOffStatistics {
  count: number;
  totals: Record<string, number>;
  byKind: Tallies;
  /** Keyed by month of issue, YYYY-MM. */
  byIssueMonth: Tallies;
  byCurrency: Tallies;
}

/** Counts and totals per kind, per month of issue and per currency (seed 002: write-offs are filterable in statistics). */
export function writeOffStatistics(vouchers: Iterable<WrittenOffVoucher>): WriteOffStatistics {
  let all: Tallies = {};
  let byKind: Tallies = {};
  let byIssueMonth: Tallies = {};
  let byCurrency: Tallies = {};
  for (const v of vouchers) {
    all = tally(all, 'written_off', v.amount);
    byKind = tallyBy(byKind, v.kind, v.amount);
    byIssueMonth = tallyBy(byIssueMonth, v.issuedAt.slice(0, 7), v.amount);
    byCurrency = tallyBy(byCurrency, v.amount.currency, v.amount);
  }
  const sortKeys = (t: Tallies): Tallies => Object.fromEntries(Object.entries(t).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    count: all.written_off?.count ?? 0,
    totals: all.written_off?.totals ?? {},
    byKind: sortKeys(byKind),
    byIssueMonth: sortKeys(byIssueMonth),
    byCurrency: sortKeys(byCurrency),
  };
}
