import fc from 'fast-check';

/**
 * What the fuzzer knows of each workflow's console input (../shared/CONTRACT.md): the fields, what
 * kind of value each takes, and a base input that is valid apart from the one field a case breaks.
 * A workflow registered in infra/workflows/index.ts without an entry here fails the fuzz test.
 */
export type FieldType =
  | { kind: 'lookup' } // an id the first state looks up: an unknown id is NotFoundError
  | { kind: 'text'; max: number; nonEmpty: boolean }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'date' }
  | { kind: 'percent' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'bool' }
  /** A list whose members must be known values (ids in the order, facets of the performance, kinds). */
  | { kind: 'list'; nonEmpty: boolean; unique: boolean }
  /** Any value is wrong given the base input (e.g. simulationRunId on a simulation). */
  | { kind: 'forbidden' };

export interface FieldSpec {
  name: string;
  type: FieldType;
  required: boolean;
}

/** Ids of the seeded data the base inputs point at. */
export interface FuzzContext {
  performanceId: string;
  orderId: string;
  ticketIds: string[];
  refundId: string;
  voucherCode: string;
}

export interface WorkflowInputSpec {
  fields: FieldSpec[];
  base(ctx: FuzzContext): Record<string, unknown>;
}

const REQUESTED_BY: FieldSpec = { name: 'requestedBy', type: { kind: 'text', max: 200, nonEmpty: true }, required: true };
const reason = (max: number): FieldSpec => ({ name: 'reason', type: { kind: 'text', max, nonEmpty: true }, required: true });
const PAYMENT_METHODS = ['card', 'amazon_pay', 'klarna', 'sofort', 'bank_transfer', 'cash', 'voucher', 'credit_account', 'intermediate_account'];
const ALLOCATION_ORDER: FieldSpec = { name: 'allocationOrder', type: { kind: 'list', nonEmpty: true, unique: true }, required: false };
const channel = (name: string, required: boolean): FieldSpec => ({ name, type: { kind: 'text', max: 10_000_000, nonEmpty: true }, required });
const PAGE_SIZE: FieldSpec = { name: 'pageSize', type: { kind: 'int', min: 1, max: 1000 }, required: false };

export const WORKFLOW_INPUTS: Record<string, WorkflowInputSpec> = {
  SwitchRefundToManual: {
    fields: [
      { name: 'refundId', type: { kind: 'lookup' }, required: true },
      { name: 'method', type: { kind: 'enum', values: ['cash', 'bank_transfer', 'other'] }, required: true },
      { name: 'note', type: { kind: 'text', max: 2000, nonEmpty: true }, required: true },
      REQUESTED_BY,
    ],
    base: (c) => ({ refundId: c.refundId, method: 'cash', note: 'paid at the box office', requestedBy: 'fuzz' }),
  },
  CancelPerformance: {
    fields: [
      { name: 'performanceId', type: { kind: 'lookup' }, required: true },
      { name: 'quotas', type: { kind: 'list', nonEmpty: false, unique: false }, required: false },
      { name: 'seatCategories', type: { kind: 'list', nonEmpty: false, unique: false }, required: false },
      { name: 'productFamilies', type: { kind: 'list', nonEmpty: false, unique: false }, required: false },
      { name: 'tariffs', type: { kind: 'list', nonEmpty: false, unique: false }, required: false },
      { name: 'salesChannels', type: { kind: 'list', nonEmpty: false, unique: false }, required: false },
      { name: 'paymentMethods', type: { kind: 'list', nonEmpty: false, unique: false }, required: false },
      { name: 'notifyCustomers', type: { kind: 'bool' }, required: false },
      reason(500),
      REQUESTED_BY,
      { name: 'refundFees', type: { kind: 'bool' }, required: false },
      ALLOCATION_ORDER,
      channel('salesChannel', false),
      channel('pointOfSale', false),
      PAGE_SIZE,
    ],
    base: (c) => ({ performanceId: c.performanceId, reason: 'storm', requestedBy: 'fuzz', allocationOrder: PAYMENT_METHODS.slice(0, 3) }),
  },
  CancelTickets: {
    fields: [
      { name: 'orderId', type: { kind: 'lookup' }, required: true },
      { name: 'ticketIds', type: { kind: 'list', nonEmpty: true, unique: true }, required: true },
      reason(500),
      REQUESTED_BY,
      channel('salesChannel', true),
      channel('pointOfSale', true),
      { name: 'refundFees', type: { kind: 'bool' }, required: false },
      ALLOCATION_ORDER,
    ],
    base: (c) => ({ orderId: c.orderId, ticketIds: c.ticketIds, reason: 'customer ill', requestedBy: 'fuzz', salesChannel: 'box_office', pointOfSale: 'Kasse 1' }),
  },
  PartialRefund: {
    fields: [
      { name: 'performanceId', type: { kind: 'lookup' }, required: true },
      { name: 'percent', type: { kind: 'percent' }, required: true },
      channel('salesChannel', true),
      channel('pointOfSale', true),
      REQUESTED_BY,
      ALLOCATION_ORDER,
      PAGE_SIZE,
    ],
    base: (c) => ({ performanceId: c.performanceId, percent: 12.5, salesChannel: 'web', pointOfSale: 'webshop', requestedBy: 'fuzz' }),
  },
  DispatchRefunds: {
    fields: [
      { name: 'mode', type: { kind: 'enum', values: ['simulate', 'psp', 'credit'] }, required: true },
      { name: 'from', type: { kind: 'date' }, required: true },
      { name: 'to', type: { kind: 'date' }, required: true },
      { name: 'simulationRunId', type: { kind: 'forbidden' }, required: false },
      { name: 'creditPolicy', type: { kind: 'enum', values: ['fallback', 'always', 'never'] }, required: false },
      { name: 'schedule', type: { kind: 'forbidden' }, required: false },
      { name: 'performanceId', type: { kind: 'lookup' }, required: false },
      { name: 'notifyCustomers', type: { kind: 'bool' }, required: false },
      REQUESTED_BY,
    ],
    base: () => ({ mode: 'simulate', from: '2026-01-01', to: '2026-02-01', creditPolicy: 'fallback', requestedBy: 'fuzz' }),
  },
  SendEmails: {
    fields: [
      { ...REQUESTED_BY, required: false },
      { name: 'sendRate', type: { kind: 'int', min: 1, max: 10_000 }, required: false },
    ],
    base: () => ({ requestedBy: 'fuzz', sendRate: 5 }),
  },
  ReconcileRefunds: {
    fields: [
      { name: 'runId', type: { kind: 'lookup' }, required: false },
      { ...REQUESTED_BY, required: false },
    ],
    base: () => ({ requestedBy: 'fuzz' }),
  },
  WriteOff: {
    fields: [
      { name: 'issuedUpTo', type: { kind: 'date' }, required: true },
      { name: 'expiredBefore', type: { kind: 'date' }, required: false },
      { name: 'kinds', type: { kind: 'list', nonEmpty: true, unique: false }, required: false },
      { name: 'codes', type: { kind: 'list', nonEmpty: true, unique: true }, required: false },
      { name: 'simulate', type: { kind: 'bool' }, required: false },
      { name: 'comment', type: { kind: 'text', max: 2000, nonEmpty: false }, required: false },
      REQUESTED_BY,
    ],
    base: () => ({ issuedUpTo: '2024-01-01', kinds: ['value'], simulate: true, requestedBy: 'fuzz' }),
  },
  ReverseWriteOff: {
    fields: [{ name: 'code', type: { kind: 'lookup' }, required: true }, { name: 'reason', type: { kind: 'text', max: 2000, nonEmpty: true }, required: true }, REQUESTED_BY],
    base: (c) => ({ code: c.voucherCode, reason: 'written off by mistake', requestedBy: 'fuzz' }),
  },
};

/** Strings that have broken other systems: injections, prototype keys, unicode edge cases. */
export const NASTY_STRINGS = [
  '"; DROP TABLE refunds; --',
  "' OR '1'='1",
  '{"$ne":1}',
  '{"$gt":""}',
  '__proto__',
  'constructor',
  '../../etc/passwd',
  '${jndi:ldap://example.invalid/a}',
  '<script>alert(1)</script>',
  '%s%s%s%n',
  'REFUND#R-1',
  'Zoë Ünïcödé 名前 🎟️',
  '\u202eRTL\u202c',
  'e\u0301\u0301\u0301',
  'zero\u200bwidth',
  '\u0000nul',
  '\ud800lone',
  '🎫'.repeat(60),
] as const;

const nasty = fc.constantFrom(...NASTY_STRINGS);
/** Strings valid as free text (non-blank, short): noise on the fields a case does not break. */
const freeText = fc.oneof(nasty, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => s.trim().length > 0));
const wrongType = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constant({ $ne: 1 }),
  fc.constant({ __proto__: { admin: true } }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);
const notAString = wrongType;
const notAList = fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 10 }), fc.constant({ 0: 'a', length: 1 }));
const badDate = fc.oneof(
  fc.constantFrom('2026-02-30', '2026-13-01', '13.07.2026', '07/13/2026', '2026-07-13T10:00', '20260713', '', ' ', '2026-7-1', '２０２６-07-13', 'tomorrow', '0000-00-00', '2026-07-13T25:00:00Z'),
  nasty,
  fc.string({ maxLength: 20 }).filter((s) => !/\d{4}-\d{2}-\d{2}/.test(s)),
  notAString,
);
const badPercent = fc.oneof(
  fc.constantFrom(0, 100, 100.5, -5, 150, 12.345, 33.333, 0.001, 1e-7, 5e-324, 1e21, 'abc', '50%', '', '12,5', null, true),
  fc.double({ min: 0.0001, max: 99.99, noNaN: true }).filter((d) => Math.round(d * 100) !== d * 100),
  fc.constant({ $ne: 1 }),
  fc.constant([50]),
);

export type BreakKind = 'wrong_type' | 'missing' | 'empty' | 'too_long' | 'unknown_value' | 'float_for_integer' | 'huge_list' | 'duplicates' | 'bad_member' | 'any_value';

/** One case: the base input with one field broken, some other fields replaced by noise, maybe an extra field. */
export interface InputCase {
  input: unknown;
  /** The name the error message must mention: the broken field, an unknown key, or `(input)`. */
  names: string;
  how: string;
}

function breakField(field: FieldSpec): fc.Arbitrary<{ value: unknown; how: BreakKind } | { delete: true; how: 'missing' }> {
  const t = field.type;
  const set = (arb: fc.Arbitrary<unknown>, how: BreakKind) => arb.map((value) => ({ value, how }));
  const options: fc.Arbitrary<{ value: unknown; how: BreakKind } | { delete: true; how: 'missing' }>[] = [];
  if (field.required) options.push(fc.constant({ delete: true as const, how: 'missing' as const }));
  switch (t.kind) {
    case 'lookup':
      options.push(
        set(notAString, 'wrong_type'),
        set(fc.constantFrom('', '   ', '\t\n'), 'empty'),
        set(nasty, 'unknown_value'),
        set(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0).map((s) => `fuzz-${s}`), 'unknown_value'),
        set(fc.constantFrom('x'.repeat(1_025), 'ü'.repeat(3_000), 'y'.repeat(200_000)), 'too_long'),
      );
      break;
    case 'text':
      options.push(set(notAString, 'wrong_type'));
      if (t.nonEmpty) options.push(set(fc.constantFrom('', ' ', '\n\t '), 'empty'));
      if (t.max < 1_000_000) options.push(set(fc.constant('x'.repeat(t.max + 1)), 'too_long'));
      break;
    case 'enum':
      options.push(
        set(notAString, 'wrong_type'),
        set(fc.oneof(nasty, fc.constantFrom(...t.values.map((v) => v.toUpperCase()), ...t.values.map((v) => ` ${v}`), ''), fc.string({ maxLength: 12 })).filter((s) => !t.values.includes(s as string)), 'unknown_value'),
      );
      break;
    case 'date':
      options.push(set(badDate, 'unknown_value'));
      break;
    case 'percent':
      options.push(set(badPercent, 'float_for_integer'));
      break;
    case 'int':
      options.push(
        set(fc.double({ min: t.min, max: t.max, noNaN: true }).filter((d) => !Number.isInteger(d)), 'float_for_integer'),
        set(fc.constantFrom(t.min - 1, t.max + 1, -1, 2 ** 53, 1e21, '10', null, true), 'unknown_value'),
      );
      break;
    case 'bool':
      options.push(set(fc.constantFrom('true', 'false', 1, 0, null, {}, [], 'yes'), 'wrong_type'));
      break;
    case 'list':
      options.push(
        set(notAList, 'wrong_type'),
        set(fc.array(fc.oneof(fc.integer(), fc.constant(null), fc.constant({ $ne: 1 }), fc.constant([])), { minLength: 1, maxLength: 4 }), 'bad_member'),
        set(fc.array(nasty, { minLength: 1, maxLength: 5 }), 'unknown_value'),
        set(fc.constantFrom(1_000, 10_000).map((n) => Array.from({ length: n }, (_, i) => `fuzz-${i}`)), 'huge_list'),
      );
      if (t.nonEmpty) options.push(set(fc.constant([]), 'empty'));
      break;
    case 'forbidden':
      options.push(set(fc.oneof(freeText, notAString.filter((v) => v !== null)), 'any_value'));
      break;
  }
  return fc.oneof(...options);
}

const EXTRA_KEYS = ['__proto__', 'constructor', 'prototype', '$where', '$ne', 'toString', 'hasOwnProperty', 'execution', 'input', 'runId', 'Ｒeason', ' requestedBy', 'REQUESTEDBY', 'dryRun', 'admin'];

/** Malformed inputs for one workflow: one broken field, or an unknown field, or not an object at all. */
export function malformedInput(spec: WorkflowInputSpec, ctx: FuzzContext): fc.Arbitrary<InputCase> {
  const base = spec.base(ctx);
  const fieldNames = new Set(spec.fields.map((f) => f.name));
  const textFields = spec.fields.filter((f) => f.type.kind === 'text' && f.name in base);
  const noise = fc.subarray(textFields).chain((fields) => fc.tuple(...fields.map((f) => freeText.map((v) => [f.name, v] as const))));

  const brokenField = fc
    .constantFrom(...spec.fields)
    .chain((field) => fc.tuple(fc.constant(field), breakField(field), noise))
    .map(([field, change, noisy]) => {
      const input: Record<string, unknown> = { ...base };
      for (const [name, value] of noisy) if (name !== field.name) input[name] = value;
      if ('delete' in change) delete input[field.name];
      else input[field.name] = change.value;
      return { input, names: field.name, how: `${field.name}: ${change.how}` };
    });

  const unknownField = fc
    .tuple(fc.constantFrom(...EXTRA_KEYS.filter((k) => !fieldNames.has(k))), fc.jsonValue({ maxDepth: 2 }), noise)
    .map(([key, value, noisy]) => {
      const input: Record<string, unknown> = { ...base };
      for (const [name, v] of noisy) input[name] = v;
      // defineProperty: a plain assignment to __proto__ would set the prototype, not a field.
      Object.defineProperty(input, key, { value, enumerable: true, configurable: true, writable: true });
      return { input, names: key, how: `extra field ${JSON.stringify(key)}` };
    });

  // A long array, kept under the 256 KiB execution input (AWS refuses a larger one at StartExecution).
  const notAnObject = fc
    .oneof(fc.constant([base]), fc.string({ maxLength: 50 }), fc.integer(), fc.boolean(), fc.constant(Array.from({ length: Math.floor(200_000 / JSON.stringify(base).length) }, () => base)), nasty)
    .map((input) => ({ input, names: '(input)', how: 'not an object' }));

  return fc.oneof({ arbitrary: brokenField, weight: 6 }, { arbitrary: unknownField, weight: 2 }, { arbitrary: notAnObject, weight: 1 });
}

/** Cases every run covers whatever the seed: the extremes a random draw may miss. */
export function edgeCases(spec: WorkflowInputSpec, ctx: FuzzContext): InputCase[] {
  const base = spec.base(ctx);
  const cases: InputCase[] = [
    { input: [base], names: '(input)', how: 'an array, not an object' },
    { input: 'DROP TABLE', names: '(input)', how: 'a string, not an object' },
    { input: JSON.parse(`{"__proto__":{"admin":true},${JSON.stringify(base).slice(1)}`), names: '__proto__', how: 'extra field "__proto__"' },
  ];
  for (const field of spec.fields) {
    const with_ = (value: unknown, how: string) => ({ input: { ...base, [field.name]: value }, names: field.name, how: `${field.name}: ${how}` });
    if (field.type.kind === 'lookup') cases.push(with_('y'.repeat(200_000), 'a 200,000-character id'), with_('\ud800', 'a lone surrogate'), with_({ $ne: 1 }, 'a query operator'));
    if (field.type.kind === 'list') cases.push(with_(Array.from({ length: 10_000 }, (_, i) => `fuzz-${i}`), '10,000 unknown values'), with_(['z'.repeat(200_000)], 'one 200,000-character value'));
    if (field.type.kind === 'int' || field.type.kind === 'percent') cases.push(with_(1e21, 'a number beyond safe integers'), with_(12.345, 'a float with three decimals'));
  }
  return cases;
}
