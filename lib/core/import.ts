import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { replacementTicketId } from './exchange.ts';
import { orderIdentity, type Agency, type Customer, type Fee, type Order, type Payment, type Performance, type Resale, type Ticket, type Voucher } from './model.ts';
import {
  ID_FIELD,
  KNOWN_FIELDS,
  RECORD_TYPES,
  SCHEMAS,
  describeValue,
  fieldPath,
  type RecordType,
  type orderSchema,
} from './import-schema.ts';

/**
 * Validation of an import file (JSON Lines, ../shared/CONTRACT.md "Import format").
 * The whole file is checked before anything is written and every issue is reported,
 * as `line N: field: reason`. Pure: the stored side is reached through ImportLookup.
 */

export type RecordKey = `${'performance' | 'customer' | 'agency' | 'order' | 'ticket' | 'payment' | 'resale' | 'voucher' | 'write_off_exclusion'}:${string}`;

export type PerformanceRecord = { type: 'performance' } & Performance;
export type CustomerRecord = { type: 'customer' } & Customer;
export type AgencyRecord = { type: 'agency' } & Agency;
/** An imported order: each ticket carries orderId, each payment starts with nothing refunded. */
export type OrderRecord = { type: 'order' } & Order;
export type ResaleRecord = { type: 'resale' } & Resale;
export type VoucherRecord = { type: 'voucher' } & Voucher;
export type WriteOffExclusionRecord = { type: 'write_off_exclusion'; id: string };
export type ImportRecord =
  | PerformanceRecord
  | CustomerRecord
  | AgencyRecord
  | OrderRecord
  | ResaleRecord
  | VoucherRecord
  | WriteOffExclusionRecord;

/** What the store already holds. Called once per method per file, with all keys/ids at once. */
export interface ImportLookup {
  /**
   * Fingerprints (see `fingerprint`) of the stored records among `keys`, absent ones left out.
   * For `ticket:` keys only existence matters (the value may be anything).
   */
  fingerprints(keys: RecordKey[]): Promise<Map<RecordKey, string>>;
  /** Stored performances among `ids`: a ticket's price must be in its performance's currency. */
  performances(ids: string[]): Promise<Map<string, Performance>>;
  /** Stored orders among `ids`: a resale must name a ticket of its seller order. */
  orders(ids: string[]): Promise<Map<string, Order>>;
}

export interface ImportIssue {
  line: number;
  field: string;
  reason: string;
}

export type ImportValidation =
  | { ok: true; records: ImportRecord[]; fresh: ImportRecord[]; unchanged: number }
  | { ok: false; issues: ImportIssue[] };

export function recordKey(record: ImportRecord): RecordKey {
  return record.type === 'voucher' ? `voucher:${record.code}` : `${record.type}:${record.id}`;
}

/** sha256 of the record's canonical JSON (keys sorted, absent fields left out): stable across runs. */
export function fingerprint(record: ImportRecord): string {
  return createHash('sha256').update(canonicalJson(record)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

export function formatIssues(issues: ImportIssue[]): string {
  return issues.map((i) => `line ${i.line}: ${i.field}: ${i.reason}`).join('\n');
}

interface Parsed {
  line: number;
  key: RecordKey;
  record: ImportRecord;
  fingerprint: string;
}

export async function validateImportFile(text: string, lookup: ImportLookup): Promise<ImportValidation> {
  const issues: ImportIssue[] = [];
  const parsed: Parsed[] = [];
  // Keys of lines that name a record but have issues: references to them are not reported again.
  const broken = new Set<RecordKey>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((content, index) => {
    if (content.trim() === '') return;
    const line = index + 1;
    const before = issues.length;
    const record = parseLine(content, (field, reason) => issues.push({ line, field, reason }), broken);
    if (record !== undefined && issues.length === before) parsed.push({ line, key: recordKey(record), record, fingerprint: fingerprint(record) });
    else if (record !== undefined) broken.add(recordKey(record));
  });

  const unique = dedupe(parsed, issues);
  await checkAgainstFileAndStore(unique, lookup, issues, broken);

  if (issues.length > 0) {
    // Stable: issues of one line keep the order they were found in.
    return { ok: false, issues: issues.map((issue, i) => ({ issue, i })).sort((a, b) => a.issue.line - b.issue.line || a.i - b.i).map((x) => x.issue) };
  }
  const records = unique.map((p) => p.record);
  const fresh = unique.filter((p) => !p.stored).map((p) => p.record);
  return { ok: true, records, fresh, unchanged: records.length - fresh.length };
}

type Report = (field: string, reason: string) => void;

/** One line to one typed record, or undefined after reporting why not. */
function parseLine(content: string, report: Report, broken: Set<RecordKey>): ImportRecord | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(content);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    report('(record)', `invalid JSON: ${message.length > 120 ? `${message.slice(0, 117)}...` : message}`);
    return undefined;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    report('(record)', `must be a JSON object, got ${describeValue(raw)}`);
    return undefined;
  }
  const object = raw as Record<string, unknown>;
  const type = object['type'];
  if (type === undefined) {
    report('type', `is required: one of ${RECORD_TYPES.join(', ')}`);
    return undefined;
  }
  if (typeof type !== 'string' || !(RECORD_TYPES as readonly string[]).includes(type)) {
    report('type', `unknown record type ${describeValue(type)}: must be one of ${RECORD_TYPES.join(', ')}`);
    return undefined;
  }
  const recordType = type as RecordType;
  checkFieldNames(recordType, object, report);

  const id = object[ID_FIELD[recordType]];
  const record = toRecord(recordType, object, report);
  if (record === undefined && typeof id === 'string') broken.add(`${recordType}:${id}`);
  return record;
}

function toRecord(recordType: RecordType, object: Record<string, unknown>, report: Report): ImportRecord | undefined {
  const result = SCHEMAS[recordType].safeParse(object);
  if (!result.success) {
    for (const issue of result.error.issues) report(fieldPath(issue.path), issue.message);
    return undefined;
  }
  switch (recordType) {
    case 'order':
      return toOrder(result.data as z.infer<typeof orderSchema>, report);
    case 'voucher': {
      const v = result.data as z.infer<(typeof SCHEMAS)['voucher']>;
      if (v.validUntil != null && v.validUntil.slice(0, 10) < v.issuedAt.slice(0, 10)) {
        report('validUntil', `must not be before issuedAt (${v.issuedAt}), got ${describeValue(v.validUntil)}`);
        return undefined;
      }
      return { type: 'voucher', code: v.code, kind: v.kind, issuedAt: v.issuedAt, validUntil: v.validUntil ?? null, remaining: v.remaining };
    }
    default:
      return { type: recordType, ...(result.data as object) } as ImportRecord;
  }
}

/**
 * Extra fields are allowed (the format is extensible), but not those a reader would expect
 * to take effect: a near-miss of a known field, or state the import itself sets.
 */
function checkFieldNames(type: RecordType, object: Record<string, unknown>, report: Report): void {
  checkLevel(KNOWN_FIELDS[type], object, '', report);
  if (type === 'order') {
    if (object['feesRefunded'] !== undefined && object['feesRefunded'] !== false) {
      report('feesRefunded', 'cannot be imported: an imported order starts with no fee refunded');
    }
    forEachObject(object['tickets'], (ticket, path) => {
      checkLevel(KNOWN_FIELDS.ticket, ticket, path, report);
      checkLevel(KNOWN_FIELDS.money, ticket['price'], `${path}.price`, report);
      if (ticket['replacedByTicketId'] != null) report(`${path}.replacedByTicketId`, 'cannot be imported: exchanges happen through PartialRefund');
    }, 'tickets');
    forEachObject(object['fees'], (fee, path) => {
      checkLevel(KNOWN_FIELDS.fee, fee, path, report);
      checkLevel(KNOWN_FIELDS.money, fee['amount'], `${path}.amount`, report);
    }, 'fees');
    forEachObject(object['payments'], (payment, path) => {
      checkLevel(KNOWN_FIELDS.payment, payment, path, report);
      checkLevel(KNOWN_FIELDS.money, payment['amount'], `${path}.amount`, report);
      const refunded = payment['refunded'];
      if (refunded !== undefined && !(isObject(refunded) && refunded['amount'] === 0)) {
        report(`${path}.refunded`, 'cannot be imported: an imported payment starts with nothing refunded');
      }
      if (payment['settled'] != null && payment['method'] !== 'intermediate_account') {
        report(`${path}.settled`, `only meaningful for intermediate_account payments, not ${describeValue(payment['method'])}`);
      }
    }, 'payments');
  }
  if (type === 'resale') checkLevel(KNOWN_FIELDS.money, object['payout'], 'payout', report);
  if (type === 'voucher') {
    checkLevel(KNOWN_FIELDS.money, object['remaining'], 'remaining', report);
    if (object['writtenOff'] != null) report('writtenOff', 'cannot be imported: write-offs happen through the WriteOff workflow');
  }
}

const normalizeName = (name: string): string => name.toLowerCase().replace(/[_\-\s]/g, '');

const normalizedFields = new WeakMap<readonly string[], Map<string, string>>();

function checkLevel(known: readonly string[], value: unknown, path: string, report: Report): void {
  if (!isObject(value)) return;
  let byNormal = normalizedFields.get(known);
  if (byNormal === undefined) {
    byNormal = new Map(known.map((k) => [normalizeName(k), k]));
    normalizedFields.set(known, byNormal);
  }
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const near = byNormal.get(normalizeName(key));
    if (near !== undefined) report(path === '' ? key : `${path}.${key}`, `unknown field: did you mean "${near}"?`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function forEachObject(list: unknown, fn: (item: Record<string, unknown>, path: string) => void, name: string): void {
  if (!Array.isArray(list)) return;
  list.forEach((item, i) => {
    if (isObject(item)) fn(item, `${name}[${i}]`);
  });
}

/** Rules within one order; references to other records are checked later. */
function toOrder(o: z.infer<typeof orderSchema>, report: Report): OrderRecord | undefined {
  let ok = true;
  const fail: Report = (field, reason) => {
    ok = false;
    report(field, reason);
  };
  const hasCustomer = o.customerId != null;
  const hasAgency = o.agencyId != null;
  if (hasCustomer && hasAgency) fail('agencyId', 'an order belongs to a customerId or an agencyId, not both');
  if (!hasCustomer && !hasAgency) fail('customerId', 'is required: an order belongs to a customerId or an agencyId');

  const fees = o.fees ?? [];
  const currency = o.tickets[0]?.price.currency ?? '';
  let singleCurrency = true;
  const sameCurrency = (field: string, got: string): void => {
    if (got === currency) return;
    singleCurrency = false;
    fail(field, `an order is single-currency: expected ${currency} (as tickets[0].price), got ${got}`);
  };
  for (const [i, t] of o.tickets.entries()) sameCurrency(`tickets[${i}].price.currency`, t.price.currency);
  for (const [i, f] of fees.entries()) sameCurrency(`fees[${i}].amount.currency`, f.amount.currency);
  for (const [i, p] of o.payments.entries()) sameCurrency(`payments[${i}].amount.currency`, p.amount.currency);

  uniqueIds('tickets', o.tickets, fail);
  // An exchange issues the replacement of ticket T as T-X in the same order: a ticket already called so would hide T from it.
  const indexById = new Map(o.tickets.map((t, i) => [t.id, i]));
  for (const base of o.tickets) {
    const i = indexById.get(replacementTicketId(base.id));
    const t = i === undefined ? undefined : o.tickets[i];
    if (t && t.replacesTicketId !== base.id) {
      fail(`tickets[${i}].id`, `${describeValue(t.id)} is the id an exchange gives the replacement of ticket ${describeValue(base.id)}: give it another id, or replacesTicketId ${describeValue(base.id)} if it is that replacement`);
    }
  }
  uniqueIds('fees', fees, fail);
  uniqueIds('payments', o.payments, fail);
  o.tickets.forEach((t, i) => {
    if (t.orderId !== undefined && t.orderId !== o.id) fail(`tickets[${i}].orderId`, `must be the order's id ${describeValue(o.id)} (or left out), got ${describeValue(t.orderId)}`);
  });

  o.payments.forEach((p, i) => {
    if ((p.method === 'card' || p.method === 'amazon_pay') && p.pspTransactionId == null) {
      fail(`payments[${i}].pspTransactionId`, `is required for ${p.method} payments: they are refunded to the original PSP transaction`);
    }
    if (p.method === 'intermediate_account' && !hasAgency) {
      fail(`payments[${i}].method`, 'intermediate_account is an agency account: the order needs an agencyId');
    }
  });

  if (singleCurrency) {
    // BigInt: a sum of safe amounts may leave the safe range.
    const ticketSum = o.tickets.reduce((s, t) => s + BigInt(t.price.amount), 0n);
    const feeSum = fees.reduce((s, f) => s + BigInt(f.amount.amount), 0n);
    const paid = o.payments.reduce((s, p) => s + BigInt(p.amount.amount), 0n);
    if (paid !== ticketSum + feeSum) {
      fail('payments', `must sum to tickets plus fees: payments sum to ${paid} but tickets (${ticketSum}) plus fees (${feeSum}) make ${ticketSum + feeSum} ${currency} minor units`);
    }
  }
  if (!ok) return undefined;

  const tickets: Ticket[] = o.tickets.map((t) => ({
    id: t.id,
    orderId: o.id,
    performanceId: t.performanceId,
    quota: t.quota,
    seatCategory: t.seatCategory,
    productFamily: t.productFamily,
    price: t.price,
    state: t.state,
    ...(t.replacesTicketId != null ? { replacesTicketId: t.replacesTicketId } : {}),
    ...(t.seat != null ? { seat: t.seat } : {}),
    ...(t.tariff != null ? { tariff: t.tariff } : {}),
  }));
  const payments: Payment[] = o.payments.map((p) => ({
    id: p.id,
    method: p.method,
    amount: p.amount,
    ...(p.pspTransactionId != null ? { pspTransactionId: p.pspTransactionId } : {}),
    // Unsettled unless said otherwise: money goes back onto the open items.
    ...(p.method === 'intermediate_account' ? { settled: p.settled ?? false } : {}),
    refunded: { amount: 0, currency: p.amount.currency },
  }));
  const feeList: Fee[] = fees.map((f) => ({ id: f.id, kind: f.kind, amount: f.amount }));
  return {
    type: 'order',
    ...orderIdentity(o),
    tickets,
    fees: feeList,
    payments,
  };
}

function uniqueIds(name: string, items: readonly { id: string }[], report: Report): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const first = seen.get(item.id);
    if (first === undefined) seen.set(item.id, i);
    else report(`${name}[${i}].id`, `${describeValue(item.id)} appears twice in this order (also ${name}[${first}])`);
  });
}

interface Unique extends Parsed {
  stored: boolean;
}

/** The same record twice is counted once; the same id with other content is an error. */
function dedupe(parsed: Parsed[], issues: ImportIssue[]): Unique[] {
  const byKey = new Map<RecordKey, Unique>();
  const out: Unique[] = [];
  for (const p of parsed) {
    const first = byKey.get(p.key);
    if (first === undefined) {
      const u = { ...p, stored: false };
      byKey.set(p.key, u);
      out.push(u);
    } else if (first.fingerprint !== p.fingerprint) {
      issues.push({ line: p.line, field: ID_FIELD[p.record.type], reason: `${p.record.type} ${describeValue(idOf(p.record))} is also on line ${first.line} with different content` });
    }
  }
  return out;
}

function idOf(record: ImportRecord): string {
  return record.type === 'voucher' ? record.code : record.id;
}

async function checkAgainstFileAndStore(unique: Unique[], lookup: ImportLookup, issues: ImportIssue[], broken: ReadonlySet<RecordKey>): Promise<void> {
  const inFile = new Map<RecordKey, Unique>(unique.map((u) => [u.key, u]));
  const orders = unique.filter((u): u is Unique & { record: OrderRecord } => u.record.type === 'order');
  const resales = unique.filter((u): u is Unique & { record: ResaleRecord } => u.record.type === 'resale');

  // Ticket ids are unique across the file.
  const ticketOwner = new Map<string, { orderId: string; line: number }>();
  for (const o of orders) {
    o.record.tickets.forEach((t, i) => {
      const owner = ticketOwner.get(t.id);
      if (owner === undefined) ticketOwner.set(t.id, { orderId: o.record.id, line: o.line });
      else issues.push({ line: o.line, field: `tickets[${i}].id`, reason: `ticket ${describeValue(t.id)} is also in order ${describeValue(owner.orderId)} (line ${owner.line})` });
    });
  }

  // One round trip per lookup method.
  const keys = new Set<RecordKey>(inFile.keys());
  for (const o of orders) {
    for (const t of o.record.tickets) keys.add(`ticket:${t.id}`);
    if (o.record.customerId != null) keys.add(`customer:${o.record.customerId}`);
    if (o.record.agencyId != null) keys.add(`agency:${o.record.agencyId}`);
  }
  const stored = await lookup.fingerprints([...keys]);
  const known = (key: RecordKey): boolean => inFile.has(key) || broken.has(key) || stored.has(key);
  const performanceIds = new Set<string>();
  for (const o of orders) for (const t of o.record.tickets) if (!inFile.has(`performance:${t.performanceId}`)) performanceIds.add(t.performanceId);
  const storedPerformances = performanceIds.size > 0 ? await lookup.performances([...performanceIds]) : new Map<string, Performance>();
  const sellerIds = new Set(resales.map((r) => r.record.sellerOrderId).filter((id) => !inFile.has(`order:${id}`)));
  const storedOrders = sellerIds.size > 0 ? await lookup.orders([...sellerIds]) : new Map<string, Order>();

  for (const u of unique) {
    const storedFingerprint = stored.get(u.key);
    if (storedFingerprint === undefined) continue;
    if (storedFingerprint === u.fingerprint) u.stored = true;
    else issues.push({ line: u.line, field: ID_FIELD[u.record.type], reason: `${u.record.type} ${describeValue(idOf(u.record))} exists with different content` });
  }

  for (const o of orders) {
    const order = o.record;
    const at = (field: string, reason: string): void => void issues.push({ line: o.line, field, reason });
    if (order.customerId != null && !known(`customer:${order.customerId}`)) {
      at('customerId', `customer ${describeValue(order.customerId)} is neither in the file nor stored`);
    }
    if (order.agencyId != null && !known(`agency:${order.agencyId}`)) {
      at('agencyId', `agency ${describeValue(order.agencyId)} is neither in the file nor stored`);
    }
    const orderIsStored = stored.has(o.key); // its tickets are its own then
    order.tickets.forEach((t, i) => {
      if (!orderIsStored && stored.has(`ticket:${t.id}`)) at(`tickets[${i}].id`, `ticket ${describeValue(t.id)} already exists in another stored order`);
      const inFilePerformance = inFile.get(`performance:${t.performanceId}`)?.record as PerformanceRecord | undefined;
      const performance = inFilePerformance ?? storedPerformances.get(t.performanceId);
      if (performance === undefined) {
        if (broken.has(`performance:${t.performanceId}`)) return;
        at(`tickets[${i}].performanceId`, `performance ${describeValue(t.performanceId)} is neither in the file nor stored`);
      } else if (performance.currency !== t.price.currency) {
        at(`tickets[${i}].price.currency`, `must be the currency of performance ${describeValue(performance.id)} (${performance.currency}), got ${t.price.currency}`);
      }
    });
  }

  const resoldBy = new Map<string, Unique>();
  for (const r of resales) {
    const resale = r.record;
    const at = (field: string, reason: string): void => void issues.push({ line: r.line, field, reason });
    const sellerOrder = (inFile.get(`order:${resale.sellerOrderId}`)?.record as OrderRecord | undefined) ?? storedOrders.get(resale.sellerOrderId);
    if (sellerOrder === undefined) {
      if (broken.has(`order:${resale.sellerOrderId}`)) continue;
      at('sellerOrderId', `order ${describeValue(resale.sellerOrderId)} is neither in the file nor stored`);
      continue;
    }
    const ticket = sellerOrder.tickets.find((t) => t.id === resale.ticketId);
    if (ticket === undefined) {
      at('ticketId', `ticket ${describeValue(resale.ticketId)} is not in order ${describeValue(resale.sellerOrderId)}`);
      continue;
    }
    if (ticket.state === 'cancelled') at('ticketId', `ticket ${describeValue(ticket.id)} is cancelled: a cancelled ticket cannot be resold`);
    if (resale.payout.currency !== ticket.price.currency) {
      at('payout.currency', `must be the ticket's currency ${ticket.price.currency}, got ${resale.payout.currency}`);
    } else if (resale.payout.amount > ticket.price.amount) {
      at('payout.amount', `must not exceed the ticket's price ${ticket.price.amount}, got ${resale.payout.amount}`);
    }
    if (Date.parse(resale.resoldAt) < Date.parse(sellerOrder.createdAt)) {
      at('resoldAt', `must not be before the seller order's createdAt (${sellerOrder.createdAt}), got ${describeValue(resale.resoldAt)}`);
    }
    const earlier = resoldBy.get(ticket.id);
    if (earlier !== undefined) at('ticketId', `ticket ${describeValue(ticket.id)} is already resold by resale ${describeValue(idOf(earlier.record))} (line ${earlier.line})`);
    else resoldBy.set(ticket.id, r);
  }
}

/** A lookup over records held in memory (tests, dry runs): fingerprints as `fingerprint` computes them. */
export function inMemoryImportLookup(records: readonly ImportRecord[]): ImportLookup {
  const fingerprints = new Map<RecordKey, string>();
  const performances = new Map<string, Performance>();
  const orders = new Map<string, Order>();
  for (const record of records) {
    fingerprints.set(recordKey(record), fingerprint(record));
    if (record.type === 'performance') performances.set(record.id, record);
    if (record.type === 'order') {
      orders.set(record.id, record);
      for (const t of record.tickets) fingerprints.set(`ticket:${t.id}`, record.id);
    }
  }
  const pick = <K, V>(source: Map<K, V>, keys: K[]): Map<K, V> => {
    const out = new Map<K, V>();
    for (const k of keys) {
      const v = source.get(k);
      if (v !== undefined) out.set(k, v);
    }
    return out;
  };
  return {
    fingerprints: async (keys) => pick(fingerprints, keys),
    performances: async (ids) => pick(performances, ids),
    orders: async (ids) => pick(orders, ids),
  };
}
