import * as z from 'zod';
import { isKnownCurrency } from './money.ts';
import { PAYMENT_METHODS, VOUCHER_KINDS } from './model.ts';

/**
 * Shapes of the import format's records (../shared/CONTRACT.md, "Import format").
 * Every schema carries its own reason so an issue reads `field: reason` without zod's wording.
 * Unknown fields are stripped here; import.ts refuses those that would be misinterpreted.
 */

export const RECORD_TYPES = ['performance', 'customer', 'agency', 'order', 'resale', 'voucher', 'write_off_exclusion'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

export const TICKET_STATES = ['valid', 'controlled', 'cancelled'] as const;

/** Ids end up in database keys: bounded, never blank. */
export const ID_MAX_LENGTH = 200;
/**
 * What joins the parts of a database key (`ORDER#<id>`, `<orderId>#<ticketId>`…): an id holding one
 * could be read back as another id (an order "A#B" paged as order "A"), so ids may not contain it.
 */
export const KEY_SEPARATOR = '#';
export const TEXT_MAX_LENGTH = 2000;

/** A value as a reason may show it: short, and strings quoted. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

/** The error of a schema: "is required" when absent, else what it must be and what it got. */
function expected(what: string): (issue: { input?: unknown }) => string {
  return (issue) => (issue.input === undefined ? 'is required' : `must be ${what}, got ${describeValue(issue.input)}`);
}

const notBlank = (s: string): boolean => s.trim().length > 0;

export const idSchema = z
  .string({ error: expected('a string id') })
  .refine(notBlank, { error: 'must not be empty', abort: true })
  .refine((s) => s.length <= ID_MAX_LENGTH, { error: `must be at most ${ID_MAX_LENGTH} characters`, abort: true })
  .refine((s) => !s.includes(KEY_SEPARATOR), { error: (issue) => `must not contain "${KEY_SEPARATOR}" (it separates the parts of database keys), got ${describeValue(issue.input)}` });

const textSchema = z
  .string({ error: expected('a string') })
  .refine(notBlank, { error: 'must not be empty', abort: true })
  .refine((s) => s.length <= TEXT_MAX_LENGTH, { error: `must be at most ${TEXT_MAX_LENGTH} characters` });

// Personal data: the reason does not echo the value.
const emailSchema = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
  .refine((s) => s.length <= 254 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s), { error: 'must be an email address' });

const languageSchema = z
  .string({ error: expected('a language code such as "de"') })
  .refine((s) => /^[a-z]{2,3}(-[A-Z]{2})?$/.test(s), { error: (issue) => `must be a language code such as "de" or "fr-CH", got ${describeValue(issue.input)}` });

export const amountSchema = z
  .number({ error: expected('an integer count of minor units') })
  .refine(Number.isSafeInteger, { error: (issue) => `must be an integer count of minor units, got ${describeValue(issue.input)}`, abort: true })
  .refine((n) => n >= 0, { error: (issue) => `must not be negative, got ${describeValue(issue.input)}` });

export const currencySchema = z
  .string({ error: expected('an ISO 4217 currency code') })
  .refine(isKnownCurrency, { error: (issue) => `must be a known ISO 4217 currency code, got ${describeValue(issue.input)}` });

export const moneySchema = z.object({ amount: amountSchema, currency: currencySchema }, { error: expected('money {"amount", "currency"}') });

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

function isCalendarDay(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

export function isIsoDate(s: string): boolean {
  const m = DATE.exec(s);
  return m !== null && isCalendarDay(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** ISO 8601 date-time with an explicit offset or Z (a local time is ambiguous). */
export function isIsoDateTime(s: string): boolean {
  const m = DATE_TIME.exec(s);
  if (m === null || !isCalendarDay(Number(m[1]), Number(m[2]), Number(m[3]))) return false;
  const [hh, mm, ss, oh, om] = [m[4], m[5], m[6] ?? '0', m[7] ?? '0', m[8] ?? '0'].map(Number) as [number, number, number, number, number];
  return hh < 24 && mm < 60 && ss < 60 && oh <= 18 && om < 60;
}

export const dateTimeSchema = z
  .string({ error: expected('an ISO 8601 date-time') })
  .refine(isIsoDateTime, { error: (issue) => `must be an ISO 8601 date-time with offset or Z (e.g. 2026-07-12T18:00:00+02:00), got ${describeValue(issue.input)}` });

const dateOrDateTimeSchema = z
  .string({ error: expected('an ISO 8601 date') })
  .refine((s) => isIsoDate(s) || isIsoDateTime(s), { error: (issue) => `must be an ISO 8601 date (YYYY-MM-DD) or date-time with offset, got ${describeValue(issue.input)}` });

/** A JSON number cannot carry an 18-digit id: above 2^53 its last digits are already lost. */
const pspTransactionIdSchema = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? 'is required'
        : typeof issue.input === 'number'
          ? `must be a string of digits, got the JSON number ${describeValue(issue.input)} (a number loses precision beyond 2^53: quote it)`
          : `must be a string of digits, got ${describeValue(issue.input)}`,
  })
  .refine((s) => /^\d{1,40}$/.test(s), { error: (issue) => `must be a string of digits, got ${describeValue(issue.input)}` });

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: expected(`one of ${values.join(', ')}`) });
}

export const performanceSchema = z.object({
  id: idSchema,
  name: textSchema,
  startsAt: dateTimeSchema,
  currency: currencySchema,
});

export const customerSchema = z.object({
  id: idSchema,
  email: emailSchema,
  language: languageSchema,
  name: textSchema,
});

export const agencySchema = customerSchema;

export const ticketSchema = z.object(
  {
    id: idSchema,
    orderId: idSchema.optional(),
    performanceId: idSchema,
    quota: textSchema,
    seatCategory: textSchema,
    productFamily: textSchema,
    tariff: textSchema.nullish(),
    price: moneySchema,
    state: oneOf(TICKET_STATES),
    replacesTicketId: idSchema.nullish(),
    seat: textSchema.nullish(),
  },
  { error: expected('a ticket object') },
);

export const feeSchema = z.object({ id: idSchema, kind: textSchema, amount: moneySchema }, { error: expected('a fee object') });

export const paymentSchema = z.object(
  {
    id: idSchema,
    method: oneOf(PAYMENT_METHODS),
    amount: moneySchema,
    pspTransactionId: pspTransactionIdSchema.nullish(),
    settled: z.boolean({ error: expected('true or false') }).nullish(),
  },
  { error: expected('a payment object') },
);

export const orderSchema = z.object({
  id: idSchema,
  customerId: idSchema.nullish(),
  agencyId: idSchema.nullish(),
  salesChannel: textSchema,
  pointOfSale: textSchema,
  createdAt: dateTimeSchema,
  tickets: z.array(ticketSchema, { error: expected('an array of tickets') }).min(1, { error: 'must hold at least one ticket' }),
  fees: z.array(feeSchema, { error: expected('an array of fees') }).optional(),
  payments: z.array(paymentSchema, { error: expected('an array of payments') }),
});

export const resaleSchema = z.object({
  id: idSchema,
  ticketId: idSchema,
  sellerOrderId: idSchema,
  payout: moneySchema,
  resoldAt: dateTimeSchema,
});

export const voucherSchema = z.object({
  code: idSchema,
  kind: oneOf(VOUCHER_KINDS),
  issuedAt: dateOrDateTimeSchema,
  validUntil: dateOrDateTimeSchema.nullish(),
  remaining: moneySchema,
});

export const writeOffExclusionSchema = z.object({ id: idSchema });

export const SCHEMAS = {
  performance: performanceSchema,
  customer: customerSchema,
  agency: agencySchema,
  order: orderSchema,
  resale: resaleSchema,
  voucher: voucherSchema,
  write_off_exclusion: writeOffExclusionSchema,
} as const;

/** The field that names a record: its `id`, or `code` for a voucher. */
export const ID_FIELD: Record<RecordType, 'id' | 'code'> = {
  performance: 'id',
  customer: 'id',
  agency: 'id',
  order: 'id',
  resale: 'id',
  voucher: 'code',
  write_off_exclusion: 'id',
};

/** Known field names per nesting level, for spotting near-misses such as `customerID`. */
export const KNOWN_FIELDS = {
  performance: ['type', ...Object.keys(performanceSchema.shape)],
  customer: ['type', ...Object.keys(customerSchema.shape)],
  agency: ['type', ...Object.keys(agencySchema.shape)],
  order: ['type', 'feesRefunded', ...Object.keys(orderSchema.shape)],
  resale: ['type', ...Object.keys(resaleSchema.shape)],
  voucher: ['type', 'writtenOff', ...Object.keys(voucherSchema.shape)],
  write_off_exclusion: ['type', ...Object.keys(writeOffExclusionSchema.shape)],
  ticket: ['replacedByTicketId', ...Object.keys(ticketSchema.shape)],
  fee: Object.keys(feeSchema.shape),
  payment: ['refunded', ...Object.keys(paymentSchema.shape)],
  money: ['amount', 'currency'],
} as const;

/** `['tickets', 0, 'price']` -> `tickets[0].price`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(record)' : out;
}
