import { describe, expect, it } from 'vitest';
import {
  fingerprint,
  formatIssues,
  inMemoryImportLookup,
  validateImportFile,
  type ImportIssue,
  type ImportRecord,
  type ImportValidation,
  type OrderRecord,
} from '../../lib/core/import.ts';

type Json = Record<string, any>;

/** A small valid file; each test copies it and breaks one thing. Line numbers are index + 1. */
function baseRecords(): Json[] {
  return [
    { type: 'performance', id: 'P1', name: 'FC Example - FC Sample', startsAt: '2026-07-12T18:00:00+02:00', currency: 'CHF' },
    { type: 'performance', id: 'P2', name: 'Concert', startsAt: '2026-07-19T20:00:00Z', currency: 'EUR' },
    { type: 'customer', id: 'C1', email: 'anna@example.org', language: 'de', name: 'Anna Muster' },
    { type: 'agency', id: 'AG1', name: 'Tickets Ltd', email: 'office@tickets.example', language: 'fr' },
    {
      type: 'order', id: 'O1', customerId: 'C1', salesChannel: 'web', pointOfSale: 'webshop', createdAt: '2026-05-01T10:00:00Z',
      tickets: [
        { id: 'T1', performanceId: 'P1', quota: 'public', seatCategory: 'A', productFamily: 'single_entry', price: { amount: 10000, currency: 'CHF' }, state: 'valid' },
        { id: 'T2', performanceId: 'P1', quota: 'public', seatCategory: 'A', productFamily: 'single_entry', price: { amount: 10000, currency: 'CHF' }, state: 'cancelled' },
      ],
      fees: [{ id: 'F1', kind: 'service_fee', amount: { amount: 300, currency: 'CHF' } }],
      payments: [
        { id: 'PAY1', method: 'card', amount: { amount: 15300, currency: 'CHF' }, pspTransactionId: '260501100000000001' },
        { id: 'PAY2', method: 'voucher', amount: { amount: 5000, currency: 'CHF' } },
      ],
    },
    {
      type: 'order', id: 'O2', agencyId: 'AG1', salesChannel: 'agency', pointOfSale: 'AG1', createdAt: '2026-05-02T10:00:00+02:00',
      tickets: [{ id: 'T3', performanceId: 'P1', quota: 'sponsor', seatCategory: 'B', productFamily: 'single_entry', price: { amount: 8000, currency: 'CHF' }, state: 'controlled' }],
      payments: [{ id: 'PAY1', method: 'intermediate_account', amount: { amount: 8000, currency: 'CHF' } }],
    },
    { type: 'resale', id: 'RS1', ticketId: 'T1', sellerOrderId: 'O1', payout: { amount: 9500, currency: 'CHF' }, resoldAt: '2026-06-01T09:00:00Z' },
    { type: 'voucher', code: 'V-7Q2K-9XPA', kind: 'value', issuedAt: '2024-03-01', validUntil: '2025-03-01', remaining: { amount: 5000, currency: 'CHF' } },
    { type: 'write_off_exclusion', id: 'V-7Q2K-9XPA' },
  ];
}

const LINE = { P1: 1, P2: 2, C1: 3, AG1: 4, O1: 5, O2: 6, RS1: 7, V1: 8, X1: 9 } as const;

function toText(records: (Json | string)[]): string {
  return `${records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')}\n`;
}

/** Prepare: the base file with one change; act: validate it against `stored`. */
async function validateWith(change: (records: (Json | string)[]) => void, stored: ImportRecord[] = []): Promise<ImportValidation> {
  const records: (Json | string)[] = baseRecords();
  change(records);
  return validateImportFile(toText(records), inMemoryImportLookup(stored));
}

function issuesOf(result: ImportValidation): ImportIssue[] {
  if (result.ok) throw new Error('expected issues, the file was valid');
  return result.issues;
}

const rec = (records: (Json | string)[], line: number): Json => records[line - 1] as Json;

async function storedBase(): Promise<ImportRecord[]> {
  const result = await validateImportFile(toText(baseRecords()), inMemoryImportLookup([]));
  if (!result.ok) throw new Error(formatIssues(result.issues));
  return result.records;
}

describe('validateImportFile: a valid file', () => {
  it('passes, with typed records: orderId on tickets, nothing refunded, agency payments unsettled by default', async () => {
    const result = await validateWith(() => {});

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.records).toHaveLength(9);
    expect(result.fresh).toHaveLength(9);
    expect(result.unchanged).toBe(0);
    const o1 = result.records.find((r) => r.type === 'order' && r.id === 'O1') as OrderRecord;
    expect(o1.tickets.map((t) => t.orderId)).toEqual(['O1', 'O1']);
    expect(o1.payments.map((p) => p.refunded)).toEqual([{ amount: 0, currency: 'CHF' }, { amount: 0, currency: 'CHF' }]);
    expect(o1.payments[0]?.pspTransactionId).toBe('260501100000000001');
    expect(o1.payments[0]).not.toHaveProperty('settled');
    expect(o1.agencyId).toBeNull();
    const o2 = result.records.find((r) => r.type === 'order' && r.id === 'O2') as OrderRecord;
    expect(o2.payments[0]?.settled).toBe(false);
    expect(o2.fees).toEqual([]);
  });

  it('keeps an explicit settled flag, accepts voucher date-times, CRLF, blank lines and a BOM', async () => {
    const records: (Json | string)[] = baseRecords();
    rec(records, LINE.O2).payments[0].settled = true;
    rec(records, LINE.V1).issuedAt = '2024-03-01T08:00:00+01:00';
    const text = `\uFEFF${records.map((r) => JSON.stringify(r)).join('\r\n\r\n')}`;

    const result = await validateImportFile(text, inMemoryImportLookup([]));

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect((result.records.find((r) => r.type === 'order' && r.id === 'O2') as OrderRecord).payments[0]?.settled).toBe(true);
  });

  it('allows unknown extra fields and leaves them out of the record', async () => {
    const result = await validateWith((r) => {
      rec(r, LINE.O1).note = 'called the hotline';
      rec(r, LINE.O1).tickets[0].barcode = '123';
    });

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const o1 = result.records.find((x) => x.type === 'order' && x.id === 'O1') as OrderRecord;
    expect(o1).not.toHaveProperty('note');
    expect(o1.tickets[0]).not.toHaveProperty('barcode');
  });

  it('counts the same record twice in one file once', async () => {
    const result = await validateWith((r) => r.push(rec(r, LINE.O1), rec(r, LINE.C1)));

    expect(result.ok).toBe(true);
    if (result.ok) expect(result.records).toHaveLength(9);
  });

  it('accepts references to stored customers, agencies, performances and seller orders', async () => {
    const stored = await storedBase();
    const result = await validateWith(
      (r) => {
        r.splice(0, r.length);
        r.push(
          { type: 'order', id: 'O9', customerId: 'C1', salesChannel: 'web', pointOfSale: 'webshop', createdAt: '2026-05-03T10:00:00Z',
            tickets: [{ id: 'T9', performanceId: 'P2', quota: 'public', seatCategory: 'A', productFamily: 'single_entry', price: { amount: 4900, currency: 'EUR' }, state: 'valid' }],
            payments: [{ id: 'PAY1', method: 'klarna', amount: { amount: 4900, currency: 'EUR' } }] },
          { type: 'resale', id: 'RS2', ticketId: 'T1', sellerOrderId: 'O1', payout: { amount: 10000, currency: 'CHF' }, resoldAt: '2026-06-02T09:00:00Z' },
        );
      },
      stored,
    );

    expect(result.ok ? [] : formatIssues(result.issues)).toEqual([]);
  });
});

describe('validateImportFile: idempotent re-import', () => {
  it('finds every record unchanged when the store holds the same fingerprints', async () => {
    const stored = await storedBase();

    const result = await validateWith(() => {}, stored);

    expect(result).toMatchObject({ ok: true, fresh: [], unchanged: 9 });
  });

  it('refuses a record whose id is stored with different content', async () => {
    const stored = await storedBase();

    const issues = issuesOf(await validateWith((r) => (rec(r, LINE.C1).name = 'Anna Other'), stored));

    expect(issues).toEqual([{ line: LINE.C1, field: 'id', reason: 'customer "C1" exists with different content' }]);
  });

  it('refuses a changed voucher by its code', async () => {
    const stored = await storedBase();

    const issues = issuesOf(await validateWith((r) => (rec(r, LINE.V1).remaining.amount = 4000), stored));

    expect(issues).toEqual([{ line: LINE.V1, field: 'code', reason: 'voucher "V-7Q2K-9XPA" exists with different content' }]);
  });

  it('has a stable fingerprint that ignores key order', () => {
    const a: ImportRecord = { type: 'write_off_exclusion', id: 'X' };
    const b = JSON.parse('{"id":"X","type":"write_off_exclusion"}') as ImportRecord;

    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(fingerprint(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprint(a)).not.toBe(fingerprint({ type: 'write_off_exclusion', id: 'Y' }));
  });
});

type Case = [name: string, change: (r: (Json | string)[]) => void, line: number, field: string, reason: RegExp | string];

const CASES: Case[] = [
  // the line itself
  ['invalid JSON', (r) => (r[2] = '{"type":"customer",'), LINE.C1, '(record)', /^invalid JSON: /],
  ['not an object', (r) => (r[2] = '[1,2]'), LINE.C1, '(record)', 'must be a JSON object, got an array'],
  ['missing type', (r) => delete rec(r, LINE.C1).type, LINE.C1, 'type', /^is required: one of performance, customer/],
  ['unknown type', (r) => (rec(r, LINE.C1).type = 'concert'), LINE.C1, 'type', /^unknown record type "concert"/],
  // shapes
  ['missing field', (r) => delete rec(r, LINE.O1).salesChannel, LINE.O1, 'salesChannel', 'is required'],
  ['wrong type', (r) => (rec(r, LINE.P1).name = 42), LINE.P1, 'name', 'must be a string, got 42'],
  ['empty id', (r) => (rec(r, LINE.X1).id = ''), LINE.X1, 'id', 'must not be empty'],
  ['blank id', (r) => (rec(r, LINE.X1).id = '   '), LINE.X1, 'id', 'must not be empty'],
  ['huge id', (r) => (rec(r, LINE.X1).id = 'x'.repeat(5000)), LINE.X1, 'id', 'must be at most 200 characters'],
  ['id of wrong type', (r) => (rec(r, LINE.P1).id = 7), LINE.P1, 'id', 'must be a string id, got 7'],
  ['tickets not an array', (r) => (rec(r, LINE.O1).tickets = {}), LINE.O1, 'tickets', 'must be an array of tickets, got an object'],
  ['no ticket', (r) => (rec(r, LINE.O2).tickets = []), LINE.O2, 'tickets', 'must hold at least one ticket'],
  ['bad email (value not echoed)', (r) => (rec(r, LINE.C1).email = 'anna.example.org'), LINE.C1, 'email', 'must be an email address'],
  ['bad language', (r) => (rec(r, LINE.C1).language = 'German'), LINE.C1, 'language', /^must be a language code/],
  // money
  ['float amount', (r) => (rec(r, LINE.O1).tickets[0].price.amount = 100.5), LINE.O1, 'tickets[0].price.amount', 'must be an integer count of minor units, got 100.5'],
  ['amount beyond 2^53', (r) => (rec(r, LINE.V1).remaining.amount = 2 ** 60), LINE.V1, 'remaining.amount', /^must be an integer count of minor units, got 1152921504606847000/],
  ['negative amount', (r) => (rec(r, LINE.O1).fees[0].amount.amount = -300), LINE.O1, 'fees[0].amount.amount', 'must not be negative, got -300'],
  ['amount as a string', (r) => (rec(r, LINE.O1).payments[0].amount.amount = '15300'), LINE.O1, 'payments[0].amount.amount', 'must be an integer count of minor units, got "15300"'],
  ['money not an object', (r) => (rec(r, LINE.RS1).payout = 9500), LINE.RS1, 'payout', 'must be money {"amount", "currency"}, got 9500'],
  ['unknown currency', (r) => (rec(r, LINE.P2).currency = 'XYZ'), LINE.P2, 'currency', 'must be a known ISO 4217 currency code, got "XYZ"'],
  ['lower-case currency', (r) => (rec(r, LINE.V1).remaining.currency = 'chf'), LINE.V1, 'remaining.currency', /^must be a known ISO 4217/],
  // dates
  ['date-time without offset', (r) => (rec(r, LINE.P1).startsAt = '2026-07-12T18:00:00'), LINE.P1, 'startsAt', /^must be an ISO 8601 date-time with offset or Z/],
  ['date where a date-time is due', (r) => (rec(r, LINE.O1).createdAt = '2026-05-01'), LINE.O1, 'createdAt', /^must be an ISO 8601 date-time/],
  ['impossible day', (r) => (rec(r, LINE.RS1).resoldAt = '2026-02-30T09:00:00Z'), LINE.RS1, 'resoldAt', /^must be an ISO 8601 date-time/],
  ['impossible hour', (r) => (rec(r, LINE.P1).startsAt = '2026-07-12T25:00:00Z'), LINE.P1, 'startsAt', /^must be an ISO 8601 date-time/],
  ['bad voucher date', (r) => (rec(r, LINE.V1).issuedAt = '2024-13-01'), LINE.V1, 'issuedAt', /^must be an ISO 8601 date \(YYYY-MM-DD\)/],
  ['voucher valid before issued', (r) => (rec(r, LINE.V1).validUntil = '2023-03-01'), LINE.V1, 'validUntil', /^must not be before issuedAt/],
  // currencies of orders
  ['ticket not in its performance currency', (r) => {
    const o = rec(r, LINE.O2);
    o.tickets[0].price.currency = 'EUR';
    o.payments[0].amount.currency = 'EUR';
  }, LINE.O2, 'tickets[0].price.currency', 'must be the currency of performance "P1" (CHF), got EUR'],
  ['mixed-currency order', (r) => (rec(r, LINE.O1).fees[0].amount.currency = 'EUR'), LINE.O1, 'fees[0].amount.currency', 'an order is single-currency: expected CHF (as tickets[0].price), got EUR'],
  // order owner and references
  ['customer and agency', (r) => (rec(r, LINE.O1).agencyId = 'AG1'), LINE.O1, 'agencyId', 'an order belongs to a customerId or an agencyId, not both'],
  ['neither customer nor agency', (r) => (rec(r, LINE.O1).customerId = null), LINE.O1, 'customerId', 'is required: an order belongs to a customerId or an agencyId'],
  ['unknown customer', (r) => (rec(r, LINE.O1).customerId = 'C404'), LINE.O1, 'customerId', 'customer "C404" is neither in the file nor stored'],
  ['unknown agency', (r) => (rec(r, LINE.O2).agencyId = 'AG404'), LINE.O2, 'agencyId', 'agency "AG404" is neither in the file nor stored'],
  ['unknown performance', (r) => (rec(r, LINE.O1).tickets[1].performanceId = 'P404'), LINE.O1, 'tickets[1].performanceId', 'performance "P404" is neither in the file nor stored'],
  ['ticket state', (r) => (rec(r, LINE.O1).tickets[0].state = 'used'), LINE.O1, 'tickets[0].state', 'must be one of valid, controlled, cancelled, got "used"'],
  ['ticket orderId of another order', (r) => (rec(r, LINE.O1).tickets[0].orderId = 'O2'), LINE.O1, 'tickets[0].orderId', /^must be the order's id "O1"/],
  // payments
  ['payment method', (r) => (rec(r, LINE.O1).payments[1].method = 'paypal'), LINE.O1, 'payments[1].method', /^must be one of card, amazon_pay, .*intermediate_account, got "paypal"$/],
  ['card without pspTransactionId', (r) => delete rec(r, LINE.O1).payments[0].pspTransactionId, LINE.O1, 'payments[0].pspTransactionId', /^is required for card payments/],
  ['amazon_pay without pspTransactionId', (r) => {
    const p = rec(r, LINE.O1).payments[0];
    p.method = 'amazon_pay';
    delete p.pspTransactionId;
  }, LINE.O1, 'payments[0].pspTransactionId', /^is required for amazon_pay payments/],
  ['pspTransactionId as a JSON number', (r) => (r[LINE.O1 - 1] = JSON.stringify(rec(r, LINE.O1)).replace('"260501100000000001"', '260501100000000001')), LINE.O1, 'payments[0].pspTransactionId', /^must be a string of digits, got the JSON number 260501100000000000 \(a number loses precision beyond 2\^53/],
  ['pspTransactionId not digits', (r) => (rec(r, LINE.O1).payments[0].pspTransactionId = 'TX-1'), LINE.O1, 'payments[0].pspTransactionId', 'must be a string of digits, got "TX-1"'],
  ['settled on a card payment', (r) => (rec(r, LINE.O1).payments[0].settled = false), LINE.O1, 'payments[0].settled', 'only meaningful for intermediate_account payments, not "card"'],
  ['settled not a boolean', (r) => (rec(r, LINE.O2).payments[0].settled = 'no'), LINE.O2, 'payments[0].settled', 'must be true or false, got "no"'],
  ['intermediate account of a customer', (r) => {
    const o = rec(r, LINE.O1);
    o.payments[1].method = 'intermediate_account';
  }, LINE.O1, 'payments[1].method', 'intermediate_account is an agency account: the order needs an agencyId'],
  ['payments do not sum up', (r) => (rec(r, LINE.O1).payments[1].amount.amount = 4999), LINE.O1, 'payments', 'must sum to tickets plus fees: payments sum to 20299 but tickets (20000) plus fees (300) make 20300 CHF minor units'],
  // ids within an order and across the file
  ['ticket id twice in an order', (r) => (rec(r, LINE.O1).tickets[1].id = 'T1'), LINE.O1, 'tickets[1].id', '"T1" appears twice in this order (also tickets[0])'],
  ['fee id twice in an order', (r) => rec(r, LINE.O1).fees.push({ id: 'F1', kind: 'x', amount: { amount: 0, currency: 'CHF' } }), LINE.O1, 'fees[1].id', '"F1" appears twice in this order (also fees[0])'],
  ['payment id twice in an order', (r) => (rec(r, LINE.O1).payments[1].id = 'PAY1'), LINE.O1, 'payments[1].id', '"PAY1" appears twice in this order (also payments[0])'],
  ['ticket id in another order of the file', (r) => (rec(r, LINE.O2).tickets[0].id = 'T2'), LINE.O2, 'tickets[0].id', 'ticket "T2" is also in order "O1" (line 5)'],
  // fields that would be misread
  ['near-miss field name', (r) => {
    const o = rec(r, LINE.O1);
    o.customerID = o.customerId;
  }, LINE.O1, 'customerID', 'unknown field: did you mean "customerId"?'],
  ['near-miss nested field name', (r) => (rec(r, LINE.O1).payments[0].psp_transaction_id = '1'), LINE.O1, 'payments[0].psp_transaction_id', 'unknown field: did you mean "pspTransactionId"?'],
  ['refunded on a payment', (r) => (rec(r, LINE.O1).payments[0].refunded = { amount: 100, currency: 'CHF' }), LINE.O1, 'payments[0].refunded', /^cannot be imported/],
  ['written-off voucher', (r) => (rec(r, LINE.V1).writtenOff = { runId: 'R1', comment: 'x', at: '2025-01-01' }), LINE.V1, 'writtenOff', /^cannot be imported/],
  // resale
  ['resale of a ticket not in the order', (r) => (rec(r, LINE.RS1).ticketId = 'T3'), LINE.RS1, 'ticketId', 'ticket "T3" is not in order "O1"'],
  ['resale of an unknown order', (r) => (rec(r, LINE.RS1).sellerOrderId = 'O404'), LINE.RS1, 'sellerOrderId', 'order "O404" is neither in the file nor stored'],
  ['resale above the price', (r) => (rec(r, LINE.RS1).payout.amount = 10001), LINE.RS1, 'payout.amount', "must not exceed the ticket's price 10000, got 10001"],
  ['resale in another currency', (r) => (rec(r, LINE.RS1).payout.currency = 'EUR'), LINE.RS1, 'payout.currency', "must be the ticket's currency CHF, got EUR"],
  ['resale of a cancelled ticket', (r) => (rec(r, LINE.RS1).ticketId = 'T2'), LINE.RS1, 'ticketId', 'ticket "T2" is cancelled: a cancelled ticket cannot be resold'],
  ['resale before the purchase', (r) => (rec(r, LINE.RS1).resoldAt = '2026-04-01T00:00:00Z'), LINE.RS1, 'resoldAt', /^must not be before the seller order's createdAt/],
  ['ticket resold twice', (r) => r.push({ ...rec(r, LINE.RS1), id: 'RS2' }), 10, 'ticketId', 'ticket "T1" is already resold by resale "RS1" (line 7)'],
  // voucher and exclusion
  ['voucher kind', (r) => (rec(r, LINE.V1).kind = 'coupon'), LINE.V1, 'kind', /^must be one of value, package, service, imported, ticket, gift_card, got "coupon"$/],
  ['voucher remaining negative', (r) => (rec(r, LINE.V1).remaining.amount = -1), LINE.V1, 'remaining.amount', 'must not be negative, got -1'],
  ['voucher without code', (r) => delete rec(r, LINE.V1).code, LINE.V1, 'code', 'is required'],
  // duplicates
  ['same id, other content, in one file', (r) => r.push({ ...rec(r, LINE.C1), language: 'fr' }), 10, 'id', 'customer "C1" is also on line 3 with different content'],
];

describe('validateImportFile: each bad case is an issue on its line and field', () => {
  it.each(CASES)('%s', async (_name, change, line, field, reason) => {
    const issues = issuesOf(await validateWith(change));

    const match = issues.find((i) => i.line === line && i.field === field && (typeof reason === 'string' ? i.reason === reason : reason.test(i.reason)));
    expect(match, formatIssues(issues)).toBeDefined();
  });

  it('refuses a ticket id held by another stored order', async () => {
    const stored = await storedBase();
    const renamed = baseRecords().map((r) => (r.type === 'order' && r.id === 'O1' ? { ...r, id: 'O1b' } : r));
    const text = toText(renamed.filter((r) => r.type !== 'resale'));

    const issues = issuesOf(await validateImportFile(text, inMemoryImportLookup(stored)));

    expect(issues).toEqual([
      { line: LINE.O1, field: 'tickets[0].id', reason: 'ticket "T1" already exists in another stored order' },
      { line: LINE.O1, field: 'tickets[1].id', reason: 'ticket "T2" already exists in another stored order' },
    ]);
  });

  it('checks a ticket against the currency of a stored performance', async () => {
    const stored = await storedBase();
    const order = { ...baseRecords()[LINE.O2 - 1], id: 'O7', tickets: [{ ...baseRecords()[LINE.O2 - 1]!.tickets[0], id: 'T7', performanceId: 'P2' }] };

    const issues = issuesOf(await validateImportFile(toText([order]), inMemoryImportLookup(stored)));

    expect(issues).toEqual([{ line: 1, field: 'tickets[0].price.currency', reason: 'must be the currency of performance "P2" (EUR), got CHF' }]);
  });

  it('reports many issues of one file at once, sorted by line, and formats them', async () => {
    const result = await validateWith((r) => {
      rec(r, LINE.P1).currency = 'XYZ';
      rec(r, LINE.O1).tickets[0].price.amount = 100.5;
      rec(r, LINE.O1).createdAt = 'yesterday';
      r[LINE.AG1 - 1] = 'not json';
      rec(r, LINE.V1).kind = 'coupon';
      r.push({ type: 'write_off_exclusion', id: '' });
    });

    const issues = issuesOf(result);
    expect(issues.map((i) => `${i.line} ${i.field}`)).toEqual([
      '1 currency',
      '4 (record)',
      '5 createdAt',
      '5 tickets[0].price.amount',
      '6 agencyId', // its agency's line is broken
      '8 kind',
      '10 id',
    ]);
    expect(formatIssues(issues).split('\n')[3]).toBe('line 5: tickets[0].price.amount: must be an integer count of minor units, got 100.5');
  });
});
