import { MoneyRuleError, ValidationError } from './errors.ts';

/**
 * Money is an integer count of minor units plus an ISO 4217 currency.
 * No floats: amounts are safe integers and every operation checks it.
 */
export interface Money {
  readonly amount: number;
  readonly currency: string;
}

const KNOWN_CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));
const minorDigitsCache = new Map<string, number>();

export function isKnownCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && KNOWN_CURRENCIES.has(code);
}

/** Number of minor digits of a currency per ISO 4217 (CHF 2, JPY 0, KWD 3), from ICU. */
export function minorDigits(currency: string): number {
  assertCurrency(currency);
  let digits = minorDigitsCache.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    minorDigitsCache.set(currency, digits);
  }
  return digits;
}

export function assertCurrency(code: string): void {
  if (!isKnownCurrency(code)) throw new ValidationError([{ field: 'currency', reason: `"${code}" is not an ISO 4217 currency code` }]);
}

function assertMinorUnits(amount: number, what = 'amount'): void {
  if (!Number.isSafeInteger(amount)) {
    throw new MoneyRuleError(`${what} must be a safe integer count of minor units, got ${amount}`);
  }
}

export function money(amount: number, currency: string): Money {
  assertMinorUnits(amount);
  assertCurrency(currency);
  return { amount, currency };
}

export function zero(currency: string): Money {
  return money(0, currency);
}

function sameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) throw new MoneyRuleError(`currency mismatch: ${a.currency} vs ${b.currency}`);
}

export function add(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(a.amount + b.amount, a.currency);
}

export function subtract(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(a.amount - b.amount, a.currency);
}

export function min(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return a.amount <= b.amount ? a : b;
}

export function isZero(m: Money): boolean {
  return m.amount === 0;
}

export function sum(items: readonly Money[], currency: string): Money {
  return items.reduce((acc, m) => add(acc, m), zero(currency));
}

/** Totals per currency, sorted by currency code: the shape of every report total. */
export type Totals = Record<string, number>;

export function addToTotals(totals: Totals, m: Money): Totals {
  assertMinorUnits(m.amount);
  totals[m.currency] = (totals[m.currency] ?? 0) + m.amount;
  return totals;
}

export function mergeTotals(a: Totals, b: Totals): Totals {
  const out: Totals = { ...a };
  for (const [cur, amount] of Object.entries(b)) out[cur] = (out[cur] ?? 0) + amount;
  return out;
}

export function totalsToMoneyList(totals: Totals): Money[] {
  return Object.keys(totals)
    .sort()
    .map((currency) => ({ amount: totals[currency] as number, currency }));
}

/**
 * Exact percentage of an amount, half up to the minor unit:
 * `percentHundredths` is the percent times 100 (60 % = 6000, 12.5 % = 1250).
 * BigInt keeps the product exact for any safe amount.
 */
export function percentOf(amount: number, percentHundredths: number): number {
  assertMinorUnits(amount);
  if (!Number.isSafeInteger(percentHundredths) || percentHundredths < 0 || percentHundredths > 10000) {
    throw new MoneyRuleError(`percent (hundredths) must be an integer in [0, 10000], got ${percentHundredths}`);
  }
  const sign = amount < 0 ? -1n : 1n;
  const abs = BigInt(Math.abs(amount));
  const scaled = abs * BigInt(percentHundredths);
  const rounded = (scaled + 5000n) / 10000n; // half up (away from zero for the magnitude)
  return Number(sign * rounded);
}

/**
 * Parses a decimal percent (a JSON number or string such as 60, "12.5", 33.33)
 * into hundredths without going through float arithmetic.
 */
export function parsePercentHundredths(value: unknown, field = 'percent'): number {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? numberToPlainString(value) : '') : typeof value === 'string' ? value.trim() : '';
  if (typeof value !== 'number' && typeof value !== 'string') {
    throw new ValidationError([{ field, reason: `must be a number, got ${value === null ? 'null' : typeof value}` }]);
  }
  const match = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) {
    const reason = /^\d+\.\d{3,}$/.test(text) ? 'must have at most 2 decimals' : 'must be a number greater than 0 and less than 100';
    throw new ValidationError([{ field, reason: `${reason} (got ${JSON.stringify(value)})` }]);
  }
  const whole = Number(match[1]);
  const frac = Number((match[2] ?? '').padEnd(2, '0'));
  const hundredths = whole * 100 + frac;
  if (hundredths <= 0 || hundredths >= 10000) {
    throw new ValidationError([{ field, reason: `must be greater than 0 and less than 100 (got ${JSON.stringify(value)})` }]);
  }
  return hundredths;
}

function numberToPlainString(n: number): string {
  // JSON numbers like 1e-7 would print in exponent form; those are invalid percents anyway.
  const s = String(n);
  return /e/i.test(s) ? '' : s;
}

/** Formats minor units for humans in a locale, e.g. 10000 CHF -> "CHF 100.00". */
export function formatMoney(m: Money, locale = 'en'): string {
  const digits = minorDigits(m.currency);
  const formatter = new Intl.NumberFormat(locale, { style: 'currency', currency: m.currency, minimumFractionDigits: digits, maximumFractionDigits: digits });
  // A decimal string keeps formatting exact (Intl accepts strings as exact decimals).
  return formatter.format(toDecimalString(m.amount, digits) as unknown as number);
}

/** 10050 with 2 digits -> "100.50"; exact, no float division. */
export function toDecimalString(amount: number, digits: number): string {
  assertMinorUnits(amount);
  const negative = amount < 0;
  const s = String(Math.abs(amount)).padStart(digits + 1, '0');
  const whole = digits === 0 ? s : s.slice(0, -digits);
  const frac = digits === 0 ? '' : `.${s.slice(-digits)}`;
  return (negative ? '-' : '') + whole + frac;
}
