/**
 * What people read: money as they write it (CHF 1,234.50), outcomes as a table, run reports as
 * a short summary. Integer arithmetic only: amounts stay minor units until they become text.
 */
import { isKnownCurrency, minorDigits, toDecimalString, type Money } from '../core/money.ts';

function digitsOf(currency: string): number {
  return isKnownCurrency(currency) ? minorDigits(currency) : 2;
}

/** 123450 CHF -> "1234.50" (exact; no grouping): the decimal column of an export. */
export function decimalAmount(amount: number, currency: string): string {
  return toDecimalString(amount, digitsOf(currency));
}

/** 123450 CHF -> "CHF 1,234.50"; -5 JPY -> "JPY -5"; grouping by thousands, from the digits of the integer. */
export function formatMoney(m: Money): string {
  const decimal = decimalAmount(m.amount, m.currency);
  const negative = decimal.startsWith('-');
  const [whole = '0', frac] = (negative ? decimal.slice(1) : decimal).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${m.currency} ${negative ? '-' : ''}${grouped}${frac !== undefined ? `.${frac}` : ''}`;
}

/** 1234567 -> "1,234,567". */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Totals {CHF: 100, EUR: 5} -> "CHF 1.00, EUR 0.05" (currencies sorted). */
export function formatTotals(totals: Record<string, number> | undefined): string {
  return Object.keys(totals ?? {})
    .sort()
    .map((c) => formatMoney({ amount: (totals as Record<string, number>)[c] as number, currency: c }))
    .join(', ');
}

/** "running 12 s", "4 min 05 s", "2 h 03 min". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** A plain text table: the first row is the header; columns listed in `right` are right-aligned. */
export function table(rows: string[][], right: ReadonlySet<number> = new Set()): string {
  const widths: number[] = [];
  for (const row of rows) for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  const line = (row: string[]) =>
    row
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const [header, ...body] = rows;
  if (!header) return '';
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

interface Outcome {
  count: number;
  totals: Record<string, number>;
}

/** Outcomes as a table: one row per outcome, a count, one money column per currency. */
export function outcomesTable(outcomes: Record<string, Outcome> | undefined): string {
  const entries = Object.entries(outcomes ?? {});
  if (entries.length === 0) return '(no outcomes)';
  const currencies = [...new Set(entries.flatMap(([, o]) => Object.keys(o.totals ?? {})))].sort();
  const rows = [['outcome', 'count', ...currencies]];
  for (const [name, o] of entries) {
    rows.push([name, formatCount(o.count), ...currencies.map((c) => (o.totals?.[c] !== undefined ? formatMoney({ amount: o.totals[c] as number, currency: c }) : ''))]);
  }
  return table(rows, new Set(rows[0]!.map((_, i) => i).filter((i) => i > 0)));
}

export interface ReportLike {
  runId?: string;
  workflow?: string;
  status?: string;
  startedAt?: string;
  finishedAt?: string;
  requestedBy?: string;
  outcomes?: Record<string, Outcome>;
  errors?: { code?: string; message?: string; field?: string }[];
  [extra: string]: unknown;
}

/** The human summary of a run report. */
export function reportSummary(report: ReportLike): string {
  const lines: string[] = [];
  lines.push(`${report.workflow ?? 'run'} ${report.runId ?? ''}: ${report.status ?? 'unknown'}`.trim());
  const when = [report.requestedBy ? `requested by ${report.requestedBy}` : '', report.startedAt ? `started ${report.startedAt}` : ''];
  if (report.startedAt && report.finishedAt) when.push(`took ${formatDuration(Date.parse(report.finishedAt) - Date.parse(report.startedAt))}`);
  const header = when.filter(Boolean).join(', ');
  if (header) lines.push(header);
  const selection = report['selection'] as { count?: number; totals?: Record<string, number>; fingerprint?: string } | undefined;
  if (selection && typeof selection.count === 'number') {
    lines.push(`selection: ${formatCount(selection.count)} refund(s), ${formatTotals(selection.totals) || 'nothing'}${selection.fingerprint ? ` (fingerprint ${selection.fingerprint.slice(0, 16)}…)` : ''}`);
  }
  lines.push('', outcomesTable(report.outcomes));
  const errors = report.errors ?? [];
  if (errors.length) {
    lines.push('', `${errors.length} error(s):`);
    for (const e of errors) lines.push(`  ${e.code ?? 'error'}: ${e.message ?? ''}`);
  }
  return lines.join('\n');
}

const asMoney = (match: string, amount: string, currency: string) =>
  isKnownCurrency(currency) && Number.isSafeInteger(Number(amount)) ? formatMoney({ amount: Number(amount), currency }) : match;

/**
 * Amounts in a run log line, written by the stages as minor units ("10000 CHF", "10000 CHF minor
 * units", "CHF: 10000 minor units"), as people write them: "CHF 100.00".
 */
export function humanizeMinorUnits(line: string): string {
  return line
    .replace(/(-?\d+) ([A-Z]{3}) minor units/g, (m, amount: string, currency: string) => asMoney(m, amount, currency))
    .replace(/\b([A-Z]{3}): (-?\d+) minor units/g, (m, currency: string, amount: string) => asMoney(m, amount, currency))
    .replace(/(?<![\w.,-])(-?\d+) ([A-Z]{3})\b/g, (m, amount: string, currency: string) => asMoney(m, amount, currency));
}
