import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchPut } from '../../lib/adapters/dynamodb/items.ts';
import { OrderRepository, orderItems } from '../../lib/adapters/dynamodb/orders.ts';
import { tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { importText } from '../../lib/cli/import.ts';
import type { Order } from '../../lib/core/model.ts';
import type { RunReport } from '../../lib/core/report.ts';
import { dumpDiff, dumpTables } from '../fuzz/store-dump.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

/**
 * Ids meet the key separator: `#` joins the parts of DynamoDB keys (ORDER#<id>, <orderId>#<ticketId>).
 * New ids holding one are refused at import; an order already stored under one is still found by
 * the paging (never read as another order), and pages resume exactly after an order.
 */

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

const chf = (amount: number) => ({ amount, currency: 'CHF' });
const ticket = (id: string, performanceId: string, price = 5000) => ({ id, performanceId, quota: 'public', seatCategory: 'A', productFamily: 'single_entry', price: chf(price), state: 'valid' });
const orderLine = (id: string, tickets: object[], payments: object[], extra: object = {}) =>
  JSON.stringify({ type: 'order', id, customerId: 'ks-C1', salesChannel: 'web', pointOfSale: 'webshop', createdAt: '2026-05-01T10:00:00Z', tickets, payments, ...extra });
const card = (id: string, amount: number, tx: string) => ({ id, method: 'card', amount: chf(amount), pspTransactionId: tx });

const CATALOG = [
  JSON.stringify({ type: 'performance', id: 'ks-P1', name: 'Match', startsAt: '2026-07-12T18:00:00+02:00', currency: 'CHF' }),
  JSON.stringify({ type: 'customer', id: 'ks-C1', email: 'c1@example.org', language: 'de', name: 'Anna Muster' }),
];

describe('ids holding the key separator', () => {
  it('are refused at import, every one named as line N: field: reason, and nothing is stored', async () => {
    // prepare
    const lines = [
      ...CATALOG,
      JSON.stringify({ type: 'performance', id: 'ks-P#2', name: 'Concert', startsAt: '2026-07-19T20:00:00+02:00', currency: 'CHF' }),
      JSON.stringify({ type: 'customer', id: 'ks-C#2', email: 'c2@example.org', language: 'fr', name: 'Léa' }),
      JSON.stringify({ type: 'agency', id: 'ks-AG#1', name: 'Tickets Ltd', email: 'office@ag.example.com', language: 'fr' }),
      orderLine('ks-O#1', [ticket('ks-T#1', 'ks-P1'), ticket('ks-T2', 'ks-P#1')], [card('ks-PAY#1', 10000, '260501100000000101')], { fees: [] }),
      orderLine('ks-O2', [ticket('ks-T3', 'ks-P1')], [card('PAY1', 5000, '260501100000000102')], { customerId: 'ks-C#1' }),
      JSON.stringify({ type: 'voucher', code: 'ks-V#1', kind: 'value', issuedAt: '2024-03-01', validUntil: null, remaining: chf(5000) }),
      JSON.stringify({ type: 'write_off_exclusion', id: 'ks-V#9' }),
      JSON.stringify({ type: 'resale', id: 'ks-RS#1', ticketId: 'ks-T#9', sellerOrderId: 'ks-O#9', payout: chf(100), resoldAt: '2026-06-01T09:00:00Z' }),
    ];
    const before = await dumpTables(rt.dynamodb, rt.prefix);
    // act
    const outcome = await importText(lines.join('\n'));
    // assess
    expect(outcome.ok).toBe(false);
    const issues = (outcome.issues ?? []).map((i) => `line ${i.line}: ${i.field}: ${i.reason}`);
    const refused = (line: number, field: string, id: string) => `line ${line}: ${field}: must not contain "#" (it separates the parts of database keys), got "${id}"`;
    expect(issues).toEqual(
      expect.arrayContaining([
        refused(3, 'id', 'ks-P#2'),
        refused(4, 'id', 'ks-C#2'),
        refused(5, 'id', 'ks-AG#1'),
        refused(6, 'id', 'ks-O#1'),
        refused(6, 'tickets[0].id', 'ks-T#1'),
        refused(6, 'tickets[1].performanceId', 'ks-P#1'),
        refused(6, 'payments[0].id', 'ks-PAY#1'),
        refused(7, 'customerId', 'ks-C#1'),
        refused(8, 'code', 'ks-V#1'),
        refused(9, 'id', 'ks-V#9'),
        refused(10, 'id', 'ks-RS#1'),
        refused(10, 'ticketId', 'ks-T#9'),
        refused(10, 'sellerOrderId', 'ks-O#9'),
      ]),
    );
    expect(dumpDiff(before, await dumpTables(rt.dynamodb, rt.prefix))).toEqual([]);
  });

  it('refuses a ticket named as the replacement an exchange would issue for another ticket of the order', async () => {
    // act
    const outcome = await importText([...CATALOG, orderLine('ks-O3', [ticket('ks-T5', 'ks-P1'), ticket('ks-T5-X', 'ks-P1')], [card('PAY1', 10000, '260501100000000103')])].join('\n'));
    const replacement = await importText([...CATALOG, orderLine('ks-O4', [{ ...ticket('ks-T6', 'ks-P1'), state: 'cancelled' }, { ...ticket('ks-T6-X', 'ks-P1'), replacesTicketId: 'ks-T6' }], [card('PAY1', 10000, '260501100000000104')])].join('\n'));
    // assess
    expect(outcome.ok).toBe(false);
    expect(outcome.issues).toEqual([expect.objectContaining({ line: 3, field: 'tickets[1].id', reason: expect.stringContaining('is the id an exchange gives the replacement of ticket "ks-T5"') })]);
    expect(replacement.ok).toBe(true);
  });

  it('an order stored under such an id before the rule (legacy data) is cancelled like any other, never read as another order', async () => {
    // prepare: orders whose ids are prefixes of one another, and one legacy id with '#', all on one performance
    const ids = ['ks-A', 'ks-A!', 'ks-AB', 'ks-A0'];
    const imported = await importText(
      [...CATALOG, JSON.stringify({ type: 'performance', id: 'ks-PL', name: 'Legacy night', startsAt: '2026-08-01T18:00:00+02:00', currency: 'CHF' }), ...ids.map((id, i) => orderLine(id, [ticket(`${id}-T1`, 'ks-PL'), ticket(`${id}-T2`, 'ks-PL')], [card('PAY1', 10000, `26050110000000020${i}`)]))].join('\n'),
    );
    expect(imported.ok).toBe(true);
    const legacy: Order = {
      id: 'ks-A#B',
      customerId: 'ks-C1',
      agencyId: null,
      salesChannel: 'web',
      pointOfSale: 'webshop',
      createdAt: '2026-05-01T10:00:00Z',
      tickets: [{ ...ticket('ks-LT1', 'ks-PL'), orderId: 'ks-A#B', state: 'valid' }],
      fees: [],
      payments: [{ id: 'PAY1', method: 'bank_transfer', amount: chf(5000), refunded: chf(0) }],
    } as Order;
    const { body, header } = orderItems(legacy, 'legacy');
    await batchPut(tableName('orders'), [...body, header]);
    // act: one order per page, so every resumption point is exercised
    const result = await rt.start('CancelPerformance', { performanceId: 'ks-PL', reason: 'storm', requestedBy: 'op', pageSize: 1 }, 'ks-cancel');
    // assess
    expect(result.status).toBe('SUCCEEDED');
    const report = result.output as RunReport;
    expect(report.outcomes.orders_cancelled?.count).toBe(ids.length + 1);
    expect(report.outcomes.tickets_cancelled?.count).toBe(2 * ids.length + 1);
    for (const id of [...ids, 'ks-A#B']) {
      const stored = await new OrderRepository().get(id);
      expect(stored?.order.tickets.map((t) => t.state), id).toEqual(stored?.order.tickets.map(() => 'cancelled'));
      expect(stored?.header.cancellationCount, id).toBe(1);
    }
  });
});
