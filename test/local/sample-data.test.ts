import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatIssues, inMemoryImportLookup, validateImportFile, type OrderRecord } from '../../lib/core/import.ts';
import { PAYMENT_METHODS, VOUCHER_KINDS } from '../../lib/core/model.ts';
import { SAMPLE_FILE, SAMPLE_OPTIONS, SAMPLE_PERFORMANCE_IDS, generateSampleLines, sampleText, voucherCode } from '../../lib/local/sample-data.ts';

const bundled = readFileSync(new URL(`../../${SAMPLE_FILE}`, import.meta.url), 'utf8');

async function validRecords(text: string) {
  const result = await validateImportFile(text, inMemoryImportLookup([]));
  if (!result.ok) throw new Error(formatIssues(result.issues.slice(0, 20)));
  return result.records;
}

describe('the bundled sample, data/sample.jsonl', () => {
  it('validates and is exactly what the generator makes from SAMPLE_OPTIONS', async () => {
    const records = await validRecords(bundled);

    expect(bundled).toBe(sampleText(SAMPLE_OPTIONS));
    expect(records.length).toBe(bundled.trimEnd().split('\n').length); // no duplicates
  });

  it('holds the promised mix: 3 performances, ~300 orders, 3 agencies, 200 vouchers, 10 resales, 5 exclusions', async () => {
    const records = await validRecords(bundled);
    const count = (type: string) => records.filter((r) => r.type === type).length;

    expect(records.filter((r) => r.type === 'performance').map((p) => [p.id, p.type === 'performance' && p.currency])).toEqual([
      ['P-2026-07-12', 'CHF'],
      ['P-2026-07-19', 'EUR'],
      ['P-2026-07-26', 'CHF'],
    ]);
    expect(SAMPLE_PERFORMANCE_IDS).toEqual(['P-2026-07-12', 'P-2026-07-19', 'P-2026-07-26']);
    expect(count('order')).toBeGreaterThan(250);
    expect(count('order')).toBeLessThan(350);
    expect(count('agency')).toBe(3);
    expect(count('voucher')).toBe(200);
    expect(count('resale')).toBe(10);
    expect(count('write_off_exclusion')).toBe(5);
    const orders = records.filter((r): r is OrderRecord => r.type === 'order');
    expect(new Set(orders.flatMap((o) => o.payments.map((p) => p.method)))).toEqual(new Set(PAYMENT_METHODS));
    const vouchers = records.flatMap((r) => (r.type === 'voucher' ? [r] : []));
    expect(new Set(vouchers.map((v) => v.kind))).toEqual(new Set(VOUCHER_KINDS));
    const voucherCodes = new Set(vouchers.map((v) => v.code));
    for (const r of records) if (r.type === 'write_off_exclusion') expect(voucherCodes.has(r.id)).toBe(true);
  });
});

describe('generateSampleLines', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const opts = { seed: 42, performances: 2, ticketsPerPerformance: 50 };

    const a = sampleText(opts);
    const b = sampleText(opts);
    const c = sampleText({ ...opts, seed: 43 });

    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('uses one currency everywhere when asked', async () => {
    const records = await validRecords(sampleText({ seed: 5, currency: 'EUR', ticketsPerPerformance: 40, vouchers: 20 }));

    const currencies = new Set(
      records.flatMap((r) => (r.type === 'performance' ? [r.currency] : r.type === 'voucher' ? [r.remaining.currency] : r.type === 'order' ? r.payments.map((p) => p.amount.currency) : [])),
    );
    expect(currencies).toEqual(new Set(['EUR']));
  });

  it('gives distinct voucher codes', () => {
    const codes = new Set(Array.from({ length: 50_000 }, (_, i) => voucherCode(9, i)));

    expect(codes.size).toBe(50_000);
    for (const code of [...codes].slice(0, 100)) expect(code).toMatch(/^V-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  });

  it('streams 100,000 tickets in ~60,000 orders with every payment method, all lines valid', async () => {
    const opts = { seed: 11, performances: 4, ticketsPerPerformance: 25_000, vouchers: 1000, resales: 50 };
    let orders = 0;
    let singleTicketOrders = 0;
    let tickets = 0;
    let multiPerformanceOrders = 0;
    let agencyOrders = 0;
    const methods = new Set<string>();
    const states = new Set<string>();
    const pspIds = new Set<string>();
    let text = '';
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    let n = 0;

    for (const line of generateSampleLines(opts)) {
      text += `${line}\n`;
      if (++n % 5000 === 0) heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      if (!line.startsWith('{"type":"order"')) continue;
      const order = JSON.parse(line);
      orders++;
      tickets += order.tickets.length;
      if (order.tickets.length === 1) singleTicketOrders++;
      if (new Set(order.tickets.map((t: { performanceId: string }) => t.performanceId)).size > 1) multiPerformanceOrders++;
      if (order.agencyId) agencyOrders++;
      for (const t of order.tickets) states.add(t.state);
      for (const p of order.payments) {
        methods.add(p.method);
        if (p.pspTransactionId !== undefined) {
          expect(p.pspTransactionId).toMatch(/^\d{18}$/);
          pspIds.add(p.pspTransactionId);
        }
      }
    }

    expect(tickets).toBe(100_000);
    expect(orders).toBeGreaterThan(57_000);
    expect(orders).toBeLessThan(63_000);
    expect(singleTicketOrders / orders).toBeGreaterThan(0.55);
    expect(multiPerformanceOrders).toBeGreaterThan(100);
    expect(agencyOrders).toBeGreaterThan(1000);
    expect(methods).toEqual(new Set(PAYMENT_METHODS));
    expect(states).toEqual(new Set(['valid', 'controlled', 'cancelled']));
    // Generation speed is a benchmark figure (npm run bench), not a test assertion.
    // text (~30 MB) is the only thing that grows: the generator holds counters, not arrays.
    expect(heapPeak - heapBefore).toBeLessThan(200 * 1024 * 1024);

    const records = await validRecords(text);
    expect(records.filter((r) => r.type === 'resale')).toHaveLength(50);
    expect(pspIds.size).toBe(records.reduce((s, r) => s + (r.type === 'order' ? r.payments.filter((p) => p.pspTransactionId != null).length : 0), 0));
  });
});
