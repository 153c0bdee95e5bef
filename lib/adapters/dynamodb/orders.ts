import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { orderIdentity, type Fee, type Order, type OrderIdentity, type Payment, type Ticket } from '../../core/model.ts';
import { documentClient } from './client.ts';
import { queryAll, scanAll, type Item } from './items.ts';
import { shardOf } from './refunds.ts';
import { INDEX, PERFORMANCE_SHARDS, tableName } from './table-names.ts';
import { getOrCreate } from '../../core/collections.ts';

/**
 * One order is one partition: HEADER, TICKET#, FEE#, PAYMENT#, CANCELLATION# items, and the
 * INTENT#<intent>#<part> items of bookings written in parts (group orders, see booking-in-parts.ts).
 * Tickets carry the sharded performance index key; the shard is derived from the ORDER id,
 * so all tickets of one order for one performance sit in the same shard (one worker per order).
 */
const ORDER_PREFIX = 'ORDER#';
export const orderPk = (orderId: string) => `${ORDER_PREFIX}${orderId}`;

/**
 * The first index key after every ticket of `orderId`: its keys are `<orderId>#<ticketId>`, all
 * below `<orderId>$` ('$' follows '#'), and no other order's key lies between (ids hold no '#').
 */
export function nextOrderKey(orderId: string): string {
  return `${orderId}$`;
}

export function performanceShardKey(performanceId: string, orderId: string): string {
  return `PERF#${performanceId}#${String(shardOf(orderId, PERFORMANCE_SHARDS)).padStart(2, '0')}`;
}

export interface OrderHeader extends OrderIdentity {
  currency: string;
  /** Optimistic lock over the whole order: every cancellation or exchange increments it. */
  version: number;
  cancellationCount: number;
  feesRefunded: boolean;
  fingerprint?: string;
  /** Set while a booking in parts holds the order: no other booking may plan on it until it is finished. */
  booking?: OpenBookingLease | null;
}

/** The header's lease of a booking in parts: which booking, which run started it, how many parts. */
export interface OpenBookingLease {
  intentId: string;
  cancellationId: string;
  recordSk: string;
  runId: string;
  parts: number;
  at: string;
}

export function ticketItem(t: Ticket, extra: Item = {}): Item {
  const { price, ...rest } = t;
  return {
    pk: orderPk(t.orderId),
    sk: `TICKET#${t.id}`,
    ...rest,
    price: price.amount,
    currency: price.currency,
    gsi1pk: performanceShardKey(t.performanceId, t.orderId),
    gsi1sk: `${t.orderId}#${t.id}`,
    ...extra,
  };
}

export function paymentItem(orderId: string, p: Payment): Item {
  return {
    pk: orderPk(orderId),
    sk: `PAYMENT#${p.id}`,
    id: p.id,
    method: p.method,
    amount: p.amount.amount,
    currency: p.amount.currency,
    pspTransactionId: p.pspTransactionId ?? null,
    settled: p.settled ?? null,
    refunded: p.refunded.amount,
  };
}

export function feeItem(orderId: string, f: Fee): Item {
  return { pk: orderPk(orderId), sk: `FEE#${f.id}`, id: f.id, kind: f.kind, amount: f.amount.amount, currency: f.amount.currency };
}

export function headerItem(order: Order, currency: string, fingerprint: string): Item {
  return {
    pk: orderPk(order.id),
    sk: 'HEADER',
    ...orderIdentity(order),
    currency,
    version: 0,
    cancellationCount: 0,
    feesRefunded: order.feesRefunded ?? false,
    fingerprint,
  };
}

/** All items of a new order; the header goes last so a half-written order is never seen as whole. */
export function orderItems(order: Order, fingerprint: string): { body: Item[]; header: Item } {
  const currency = order.payments[0]?.amount.currency ?? order.tickets[0]?.price.currency ?? 'CHF';
  return {
    body: [...order.tickets.map((t) => ticketItem(t)), ...order.fees.map((f) => feeItem(order.id, f)), ...order.payments.map((p) => paymentItem(order.id, p))],
    header: headerItem(order, currency, fingerprint),
  };
}

export function ticketFromItem(item: Item): Ticket & Item {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, price, currency, ...rest } = item;
  return { ...(rest as unknown as Ticket), price: { amount: price as number, currency: currency as string } };
}

export function paymentFromItem(item: Item): Payment {
  return {
    id: item.id as string,
    method: item.method as Payment['method'],
    amount: { amount: item.amount as number, currency: item.currency as string },
    pspTransactionId: (item.pspTransactionId as string | null) ?? null,
    settled: (item.settled as boolean | null) ?? null,
    refunded: { amount: item.refunded as number, currency: item.currency as string },
  };
}

export interface StoredOrder {
  header: OrderHeader;
  order: Order;
  cancellations: Item[];
  /** The parts of bookings written in parts (INTENT# items): the plan, part by part. */
  parts: Item[];
}

/** Rebuilds an order from its partition's items. */
export function orderFromItems(items: Item[]): StoredOrder | undefined {
  const headerItem = items.find((i) => i.sk === 'HEADER');
  if (!headerItem) return undefined;
  const header = headerItem as unknown as OrderHeader;
  const order: Order = {
    ...orderIdentity(header),
    feesRefunded: header.feesRefunded,
    tickets: items.filter((i) => String(i.sk).startsWith('TICKET#')).map(ticketFromItem),
    fees: items
      .filter((i) => String(i.sk).startsWith('FEE#'))
      .map((i) => ({ id: i.id as string, kind: i.kind as string, amount: { amount: i.amount as number, currency: i.currency as string } })),
    payments: items.filter((i) => String(i.sk).startsWith('PAYMENT#')).map(paymentFromItem),
  };
  return {
    header,
    order,
    cancellations: items.filter((i) => String(i.sk).startsWith('CANCELLATION#')),
    parts: items.filter((i) => String(i.sk).startsWith('INTENT#')),
  };
}

export class OrderRepository {
  /** Strongly consistent read of one whole order. */
  async get(orderId: string): Promise<StoredOrder | undefined> {
    const items: Item[] = [];
    for await (const item of queryAll({
      TableName: tableName('orders'),
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': orderPk(orderId) },
      ConsistentRead: true,
    }))
      items.push(item);
    return orderFromItems(items);
  }

  /**
   * One page of a performance shard's tickets, ending on an order boundary so one order is
   * never split across pages. Returns the order ids and the cursor to resume after.
   */
  async orderIdsPage(performanceId: string, shard: number, after: string | null, limit: number): Promise<{ orderIds: string[]; cursor: string | null; done: boolean }> {
    const pk = `PERF#${performanceId}#${String(shard).padStart(2, '0')}`;
    const out = await documentClient().send(
      new QueryCommand({
        TableName: tableName('orders'),
        IndexName: INDEX.ticketsByPerformance,
        KeyConditionExpression: after ? 'gsi1pk = :pk AND gsi1sk >= :next' : 'gsi1pk = :pk',
        ExpressionAttributeValues: after ? { ':pk': pk, ':next': nextOrderKey(after) } : { ':pk': pk },
        // The order id comes from the table key (ORDER#<id>), never from splitting gsi1sk: an id may not be split apart.
        ProjectionExpression: 'pk',
        Limit: limit,
      }),
    );
    const ids: string[] = [];
    for (const item of out.Items ?? []) {
      const orderId = String(item.pk).slice(ORDER_PREFIX.length);
      if (ids[ids.length - 1] !== orderId) ids.push(orderId);
    }
    const done = !out.LastEvaluatedKey;
    return { orderIds: ids, cursor: ids.length ? (ids[ids.length - 1] as string) : after, done };
  }

  async *scanOrders(): AsyncGenerator<StoredOrder> {
    // Group a full scan by partition; fine for exports, not for workflows.
    const byOrder = new Map<string, Item[]>();
    for await (const item of scanAll(tableName('orders'), { segments: 4 })) {
      const pk = item.pk as string;
      const list = getOrCreate(byOrder, pk, () => []);
      list.push(item);
    }
    for (const items of byOrder.values()) {
      const order = orderFromItems(items);
      if (order) yield order;
    }
  }
}
