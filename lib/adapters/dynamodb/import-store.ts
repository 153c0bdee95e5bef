import { BatchGetCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ImportLookup, ImportRecord, RecordKey } from '../../core/import.ts';
import { fingerprint } from '../../core/import.ts';
import type { Order, Performance, Resale } from '../../core/model.ts';
import { planResale } from '../../core/resale.ts';
import { openItemItem } from './accounts.ts';
import { bookOrder, type OrderBooking } from './cancellations.ts';
import { documentClient } from './client.ts';
import { batchPut, type Item } from './items.ts';
import { OrderRepository, orderItems, orderPk } from './orders.ts';
import { tableName, type TableKey } from './table-names.ts';
import { getOrCreate } from '../../core/collections.ts';

/** Where each kind of imported record lives: table and key. */
function location(key: RecordKey): { table: TableKey; pk: string; sk: string } {
  const sep = key.indexOf(':');
  const type = key.slice(0, sep);
  const id = key.slice(sep + 1);
  switch (type) {
    case 'order':
      return { table: 'orders', pk: orderPk(id), sk: 'HEADER' };
    case 'voucher':
      return { table: 'vouchers', pk: `VOUCHER#${id}`, sk: 'VOUCHER' };
    default:
      return { table: 'catalog', pk: `${type.toUpperCase()}#${id}`, sk: type.toUpperCase() };
  }
}

async function batchGet(table: TableKey, keys: { pk: string; sk: string }[]): Promise<Item[]> {
  const items: Item[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let request: Record<string, unknown>[] = keys.slice(i, i + 100);
    for (let attempt = 0; request.length > 0; attempt++) {
      const out = await documentClient().send(new BatchGetCommand({ RequestItems: { [tableName(table)]: { Keys: request, ConsistentRead: true } } }));
      items.push(...(out.Responses?.[tableName(table)] ?? []));
      request = (out.UnprocessedKeys?.[tableName(table)]?.Keys ?? []) as Record<string, unknown>[];
      if (request.length && attempt > 10) throw new Error(`BatchGet on ${table}: keys still unprocessed`);
      if (request.length) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
    }
  }
  return items;
}

/** What the store already holds, for whole-file validation before any write. */
export class DynamoImportLookup implements ImportLookup {
  async fingerprints(keys: RecordKey[]): Promise<Map<RecordKey, string>> {
    const byTable = new Map<TableKey, { key: RecordKey; pk: string; sk: string }[]>();
    for (const key of keys) {
      const loc = location(key);
      const list = getOrCreate(byTable, loc.table, () => []);
      list.push({ key, pk: loc.pk, sk: loc.sk });
    }
    const result = new Map<RecordKey, string>();
    for (const [table, list] of byTable) {
      const byPk = new Map(list.map((l) => [`${l.pk}|${l.sk}`, l.key]));
      const unique = [...new Map(list.map((l) => [`${l.pk}|${l.sk}`, { pk: l.pk, sk: l.sk }])).values()];
      for (const item of await batchGet(table, unique)) {
        const key = byPk.get(`${item.pk as string}|${item.sk as string}`);
        if (key) result.set(key, (item.fingerprint as string | undefined) ?? (item.orderId as string | undefined) ?? 'stored');
      }
    }
    return result;
  }

  async performances(ids: string[]): Promise<Map<string, Performance>> {
    const items = await batchGet('catalog', ids.map((id) => ({ pk: `PERFORMANCE#${id}`, sk: 'PERFORMANCE' })));
    return new Map(items.map((i) => [i.id as string, { id: i.id as string, name: i.name as string, startsAt: i.startsAt as string, currency: i.currency as string }]));
  }

  async orders(ids: string[]): Promise<Map<string, Order>> {
    const repo = new OrderRepository();
    const result = new Map<string, Order>();
    for (const id of ids) {
      const stored = await repo.get(id);
      if (stored) result.set(id, stored.order);
    }
    return result;
  }
}

export interface ImportWriteResult {
  written: Record<string, number>;
  /** Per imported resale: the seller's booking (ticket cancelled, payout as a pending refund). */
  resales?: { resaleId: string; outcome: OrderBooking['outcome']; refundIds: string[] }[];
  pspTransactions: { transactionId: string; amount: { amount: number; currency: string }; paymentMethod: string }[];
}

/**
 * Writes validated fresh records. Plain puts are idempotent, and an order's header (which holds
 * its fingerprint) is written after all its other items, so a crash half-way leaves orders that a
 * re-import sees as new and writes again, never a header over missing tickets.
 */
export async function writeImport(fresh: ImportRecord[], at = new Date().toISOString()): Promise<ImportWriteResult> {
  const written: Record<string, number> = {};
  const count = (type: string) => (written[type] = (written[type] ?? 0) + 1);
  const catalog: Item[] = [];
  const vouchers: Item[] = [];
  const orderBodies: Item[] = [];
  const headers: Item[] = [];
  const openItems: Item[] = [];
  const pspTransactions: ImportWriteResult['pspTransactions'] = [];
  const facets = new Map<string, PerformanceFacets>();
  const resales: { resale: Resale; item: Item }[] = [];
  for (const record of fresh) {
    count(record.type);
    const fp = fingerprint(record);
    switch (record.type) {
      case 'order': {
        const { body, header } = orderItems(record, fp);
        orderBodies.push(...body);
        headers.push(header);
        for (const t of record.tickets) {
          catalog.push({ pk: `TICKET#${t.id}`, sk: 'TICKET', orderId: record.id });
          const f = getOrCreate(facets, t.performanceId, () => emptyFacets());
          f.quotas.add(t.quota);
          f.seatCategories.add(t.seatCategory);
          f.productFamilies.add(t.productFamily);
          if (t.tariff) f.tariffs.add(t.tariff);
          f.salesChannels.add(record.salesChannel);
          for (const p of record.payments) f.paymentMethods.add(p.method);
        }
        for (const p of record.payments) {
          if (p.method === 'intermediate_account' && p.settled !== true && record.agencyId) {
            openItems.push(openItemItem({ agencyId: record.agencyId, orderId: record.id, paymentId: p.id, amount: p.amount, at }));
          }
          if ((p.method === 'card' || p.method === 'amazon_pay') && p.pspTransactionId) {
            pspTransactions.push({ transactionId: p.pspTransactionId, amount: p.amount, paymentMethod: p.method === 'card' ? 'VIS' : 'AZP' });
          }
        }
        break;
      }
      case 'voucher': {
        const { type: _t, remaining, ...rest } = record;
        vouchers.push({ pk: `VOUCHER#${record.code}`, sk: 'VOUCHER', ...rest, remaining: remaining.amount, currency: remaining.currency, writtenOff: null, fingerprint: fp });
        break;
      }
      default: {
        const { type, ...rest } = record;
        const loc = location(`${type}:${(record as { id: string }).id}` as RecordKey);
        const item = { pk: loc.pk, sk: loc.sk, ...rest, fingerprint: fp };
        if (record.type === 'resale') resales.push({ resale: record, item });
        else catalog.push(item);
      }
    }
  }
  await batchPut(tableName('catalog'), catalog);
  await writeFacets(facets);
  await batchPut(tableName('vouchers'), vouchers);
  await batchPut(tableName('orders'), orderBodies);
  await batchPut(tableName('intermediateAccounts'), openItems);
  await batchPut(tableName('orders'), headers);
  // Resales last: they refer to orders that now exist.
  const resaleResults: NonNullable<ImportWriteResult['resales']> = [];
  for (const { resale, item } of resales) resaleResults.push(await bookResale(resale, item));
  return { written, pspTransactions, ...(resaleResults.length ? { resales: resaleResults } : {}) };
}

/** The values CancelPerformance can filter a performance's tickets by (FACET_FIELDS). */
export interface PerformanceFacets {
  quotas: Set<string>;
  seatCategories: Set<string>;
  productFamilies: Set<string>;
  tariffs: Set<string>;
  salesChannels: Set<string>;
  paymentMethods: Set<string>;
}
const FACET_FIELDS = ['quotas', 'seatCategories', 'productFamilies', 'tariffs', 'salesChannels', 'paymentMethods'] as const;
const emptyFacets = (): PerformanceFacets => ({ quotas: new Set(), seatCategories: new Set(), productFamilies: new Set(), tariffs: new Set(), salesChannels: new Set(), paymentMethods: new Set() });

/**
 * The distinct filter values of each performance (its tickets' quotas, seat categories, product
 * families and tariffs; its orders' sales channels and payment methods), kept as string sets on
 * `PERFORMANCE#id / FACETS` so CancelPerformance can name the values that exist. ADD to a set is
 * idempotent, so a re-import changes nothing; an empty set cannot be stored, so it is left out.
 */
async function writeFacets(facets: Map<string, PerformanceFacets>): Promise<void> {
  for (const [performanceId, f] of facets) {
    const fields = FACET_FIELDS.filter((field) => f[field].size > 0);
    await documentClient().send(
      new UpdateCommand({
        TableName: tableName('catalog'),
        Key: { pk: `PERFORMANCE#${performanceId}`, sk: 'FACETS' },
        UpdateExpression: `ADD ${fields.map((field, i) => `${field} :f${i}`).join(', ')}`,
        ExpressionAttributeValues: Object.fromEntries(fields.map((field, i) => [`:f${i}`, f[field]])),
      }),
    );
  }
}

export async function performanceFacets(performanceId: string): Promise<PerformanceFacets> {
  const out = await documentClient().send(new GetCommand({ TableName: tableName('catalog'), Key: { pk: `PERFORMANCE#${performanceId}`, sk: 'FACETS' } }));
  const set = (v: unknown) => (v instanceof Set ? new Set([...v].map(String)) : new Set<string>());
  return Object.fromEntries(FACET_FIELDS.map((field) => [field, set(out.Item?.[field])])) as unknown as PerformanceFacets;
}

/**
 * A resale payout: the seller's ticket is cancelled and the payout becomes a pending refund
 * (reason resale, createdAt = resoldAt), written in one transaction together with the resale
 * record itself, so a re-import finds the record and books nothing twice.
 */
async function bookResale(resale: Resale, item: Item): Promise<{ resaleId: string; outcome: OrderBooking['outcome']; refundIds: string[] }> {
  const booking = await bookOrder(
    resale.sellerOrderId,
    (stored) => ({ kind: 'cancellation', plan: planResale(stored.order, resale) }),
    { runId: `resale-${resale.id}`, at: resale.resoldAt, requestedBy: 'import', note: `resale ${resale.id}`, extraPuts: [{ table: 'catalog', item }] },
  );
  if (booking.outcome === 'nothing_to_do') {
    // The ticket was cancelled meanwhile (its refund came with that cancellation): keep the record, refund nothing.
    await batchPut(tableName('catalog'), [{ ...item, skipped: 'ticket already cancelled' }]);
  }
  return { resaleId: resale.id, outcome: booking.outcome, refundIds: booking.refunds.map((r) => r.id) };
}
