import { minorDigits, toDecimalString, type Money } from '../money.ts';

/**
 * How amounts, dates and percentages are written in each email language. The operator is Swiss:
 * Swiss francs are written the Swiss way in German, French and Italian (CHF 1'234.50,
 * 1 234.50 CHF); euros the way the euro countries of that language write them (1.234,50 €,
 * 1 234,50 €), since a performance priced in euros sells to that market. Spanish follows Spain,
 * English follows British usage. Amounts go to Intl as exact decimal strings built from the
 * integer minor units, never as floats.
 */
export const EMAIL_LANGUAGES = ['de', 'fr', 'it', 'es', 'en'] as const;
export type EmailLanguage = (typeof EMAIL_LANGUAGES)[number];

const SWISS: Record<EmailLanguage, string> = { de: 'de-CH', fr: 'fr-CH', it: 'it-CH', es: 'es-ES', en: 'en-GB' };
const EURO: Record<EmailLanguage, string> = { de: 'de-DE', fr: 'fr-FR', it: 'it-IT', es: 'es-ES', en: 'en-GB' };

/** The recipient's language, or English when we do not write theirs ("de-CH" is German). */
export function emailLanguage(language: string | null | undefined): EmailLanguage {
  const base = String(language ?? '').toLowerCase().slice(0, 2);
  return (EMAIL_LANGUAGES as readonly string[]).includes(base) ? (base as EmailLanguage) : 'en';
}

/** The locale text (dates, lists, percentages) is written in. */
export function textLocale(lang: EmailLanguage): string {
  return SWISS[lang];
}

export function moneyLocale(lang: EmailLanguage, currency: string): string {
  return currency === 'EUR' ? EURO[lang] : SWISS[lang];
}

/** One amount as people write it in that language and currency (Swiss francs grouped from 1'000 on in every Swiss locale). */
export function formatAmount(m: Money, lang: EmailLanguage): string {
  const digits = minorDigits(m.currency);
  const format = new Intl.NumberFormat(moneyLocale(lang, m.currency), {
    style: 'currency',
    currency: m.currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    ...(m.currency === 'CHF' ? { useGrouping: 'always' as const } : {}),
  });
  // An exact decimal string: Intl formats it digit for digit, no float in between.
  return format.format(toDecimalString(m.amount, digits) as unknown as number);
}

/** Sums per currency (integer addition), each written out, joined as a list ("CHF 10.00 and EUR 5.00"). */
export function formatAmounts(amounts: readonly Money[], lang: EmailLanguage): string {
  const totals = sumByCurrency(amounts);
  return formatList(totals.map((m) => formatAmount(m, lang)), lang);
}

export function sumByCurrency(amounts: readonly Money[]): Money[] {
  const totals = new Map<string, number>();
  for (const m of amounts) totals.set(m.currency, (totals.get(m.currency) ?? 0) + m.amount);
  return [...totals.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([currency, amount]) => ({ amount, currency }));
}

export function formatList(items: readonly string[], lang: EmailLanguage): string {
  return new Intl.ListFormat(textLocale(lang), { type: 'conjunction' }).format(items);
}

/** 6000 hundredths -> "60%" / "60 %"; exact (the decimal string is built from integers). */
export function formatPercent(hundredths: number, lang: EmailLanguage): string {
  const whole = Math.trunc(hundredths / 100);
  const frac = hundredths % 100;
  const decimal = frac === 0 ? String(whole) : `${whole}.${String(frac).padStart(2, '0').replace(/0$/, '')}`;
  return new Intl.NumberFormat(textLocale(lang), { style: 'unit', unit: 'percent', maximumFractionDigits: 2 }).format(decimal as unknown as number);
}

/**
 * The date and time of a performance as its `startsAt` writes them: the wall clock at the
 * offset the operator gave (the venue's), whatever the time zone of the machine sending.
 * Returns null for a value that is not an ISO date-time with an offset.
 */
export function performanceDateParts(startsAt: string, lang: EmailLanguage): { date: string; time: string } | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|([+-])(\d{2}):(\d{2}))$/.exec(startsAt);
  if (!m) return null;
  const instant = Date.parse(startsAt);
  if (Number.isNaN(instant)) return null;
  const offsetMinutes = m[2] === 'Z' ? 0 : (m[3] === '-' ? -1 : 1) * (Number(m[4]) * 60 + Number(m[5]));
  const wallClock = new Date(instant + offsetMinutes * 60_000);
  const locale = textLocale(lang);
  return {
    date: new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeZone: 'UTC' }).format(wallClock),
    time: new Intl.DateTimeFormat(locale, { timeStyle: 'short', timeZone: 'UTC' }).format(wallClock),
  };
}

export function pluralCategory(count: number, lang: EmailLanguage): 'one' | 'other' {
  return new Intl.PluralRules(textLocale(lang)).select(count) === 'one' ? 'one' : 'other';
}
