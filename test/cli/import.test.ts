import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countItems } from '../../lib/local/tables.ts';
import { importText } from '../../lib/cli/import.ts';
import { exportRecords } from '../../lib/cli/export.ts';
import { TABLE_KEYS } from '../../lib/adapters/dynamodb/table-names.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

async function dump(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const key of TABLE_KEYS) counts[key] = await countItems(rt.dynamodb, `${rt.prefix}${key}`);
  return counts;
}

const PERF = '{"type":"performance","id":"XP1","name":"Match","startsAt":"2026-07-12T18:00:00+02:00","currency":"CHF"}';
const CUSTOMER = '{"type":"customer","id":"XC1","email":"anna@example.org","language":"de","name":"Anna Muster"}';
const ORDER =
  '{"type":"order","id":"XO1","customerId":"XC1","salesChannel":"web","pointOfSale":"webshop","createdAt":"2026-05-01T10:00:00Z","tickets":[{"id":"XT1","performanceId":"XP1","quota":"public","seatCategory":"A","productFamily":"single_entry","price":{"amount":10000,"currency":"CHF"},"state":"valid"}],"fees":[{"id":"F1","kind":"service_fee","amount":{"amount":300,"currency":"CHF"}}],"payments":[{"id":"PAY1","method":"card","amount":{"amount":10300,"currency":"CHF"},"pspTransactionId":"260501100000000001"}]}';

describe('import into DynamoDB Local', () => {
  it('writes nothing when any line is bad, and names line, field and reason', async () => {
    // prepare
    const before = await dump();
    const bad = [
      PERF,
      CUSTOMER,
      ORDER.replace('"amount":10300', '"amount":10300.5'), // float money
      ORDER.replace('"id":"XO1"', '"id":"O2"').replace('"XT1"', '"T2"').replace('"CHF"}}]', '"XXX"}}]'), // unknown currency
      ORDER.replace('"id":"XO1"', '"id":"O3"').replace('"XT1"', '"T3"').replace('"amount":10300', '"amount":10200'), // payments do not sum
      ORDER.replace('"id":"XO1"', '"id":"O4"').replace('"XT1"', '"T4"').replace('"performanceId":"XP1"', '"performanceId":"P404"'), // unknown performance
      '{"type":"refund","id":"X"}', // wrong type
      '{"type":"customer","id":"XC1","email":"other@example.org","language":"de","name":"Other"}', // duplicate id, different content
    ].join('\n');
    // act
    const outcome = await importText(bad);
    // assess
    expect(outcome.ok).toBe(false);
    const lines = (outcome.issues ?? []).map((i) => `line ${i.line}: ${i.field}: ${i.reason}`);
    expect(lines.some((l) => l.startsWith('line 3: payments[0].amount.amount:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('line 4:') && /currency/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('line 5:') && /sum/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('line 6:') && /P404/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('line 7:') && /type/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('line 8:') || /line 2/.test(l))).toBe(true);
    expect(await dump()).toEqual(before);
  });

  it('imports a good file, registers card transactions with the PSP sandbox, and re-importing changes nothing', async () => {
    const text = [PERF, CUSTOMER, ORDER].join('\n');
    const first = await importText(text);
    expect(first).toMatchObject({ ok: true, records: 3, unchanged: 0 });
    const afterFirst = await dump();
    const second = await importText(text);
    expect(second).toMatchObject({ ok: true, records: 3, unchanged: 3 });
    expect(await dump()).toEqual(afterFirst);
    const tickets = await exportRecords('tickets');
    expect(tickets).toEqual([expect.objectContaining({ id: 'XT1', orderId: 'XO1', price: { amount: 10000, currency: 'CHF' }, state: 'valid', replacesTicketId: null })]);
    const status = await fetch(`${rt.sandbox.url}/_sandbox/transactions`).then((r) => (r.ok ? r.json() : null)).catch(() => null);
    // The sandbox knows the transaction: a credit on it is accepted (checked through its ledger-free status API).
    const res = await fetch(`${rt.sandbox.url}/v1/transactions/260501100000000001`, { headers: { authorization: `Basic ${Buffer.from(`${rt.env.MASS_REFUND_PSP_MERCHANT_ID}:${rt.env.MASS_REFUND_PSP_PASSWORD}`).toString('base64')}` } });
    expect(res.status, JSON.stringify(status)).toBe(200);
  });

  it('refuses a record whose id exists with different content', async () => {
    const changed = ORDER.replace('"seatCategory":"A"', '"seatCategory":"B"');
    const before = await dump();
    const outcome = await importText([PERF, CUSTOMER, changed].join('\n'));
    expect(outcome.ok).toBe(false);
    expect(outcome.issues?.[0]).toMatchObject({ line: 3 });
    expect(outcome.issues?.[0]?.reason).toMatch(/different content/);
    expect(await dump()).toEqual(before);
  });

  it('imports the bundled sample: open items of unsettled agency purchases become intermediate-account balances', async () => {
    const outcome = await importText(readFileSync(new URL('../../data/sample.jsonl', import.meta.url), 'utf8'));
    expect(outcome.ok).toBe(true);
    const accounts = await exportRecords('intermediate-accounts');
    expect(accounts.length).toBeGreaterThan(0);
    for (const a of accounts) for (const m of a.openItems as { amount: number }[]) expect(Number.isSafeInteger(m.amount)).toBe(true);
  });
});
