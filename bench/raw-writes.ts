/**
 * The raw write speed of DynamoDB Local for the writes a cancellation makes: each order's
 * writes with the shape of lib/adapters/dynamodb/cancellations.ts
 * (header update conditioned on `version`, CANCELLATION record, each ticket's conditional
 * update, each drawn payment's `refunded` update, one refund put per payment, the agency ledger
 * item for money returned to an unsettled intermediate account), packed several orders to a
 * TransactWriteItems exactly as `bookOrders` packs them, without the reads, planning,
 * paging and orchestration around them (a group order's writes cut into transactions of at most
 * 100, without the lease and parts of the real booking). The orders are first written as the import writes them
 * (untimed), into scratch tables; then a concurrency sweep on a sample, then all orders (or an
 * evenly spread share of them, `--raw-share`) at the best concurrency.
 */
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { returnItem } from '../lib/adapters/dynamodb/accounts.ts';
import { MAX_TRANSACTION_ITEMS, packBookings } from '../lib/adapters/dynamodb/cancellations.ts';
import { documentClient } from '../lib/adapters/dynamodb/client.ts';
import { batchPut, type Item } from '../lib/adapters/dynamodb/items.ts';
import { orderItems, orderPk } from '../lib/adapters/dynamodb/orders.ts';
import { refundItem } from '../lib/adapters/dynamodb/refunds.ts';
import { tableName } from '../lib/adapters/dynamodb/table-names.ts';
import type { Order } from '../lib/core/model.ts';
import type { DynamoMeter } from './meter.ts';

export interface ConcurrencyFigure {
  concurrency: number;
  orders: number;
  items: number;
  wallMs: number;
  itemsPerSecond: number;
}

export interface RawWriteFigures {
  /** Concurrency sweep on a sample of the orders. */
  sweep: ConcurrencyFigure[];
  bestConcurrency: number;
  /** The timed share of the orders at the best concurrency: the baseline the cancellation is compared with. */
  full: ConcurrencyFigure;
  /** Share of the orders timed for the baseline (1 = all of them, the same items as the cancellation). */
  share: number;
  preloadMs: number;
}

const CANCELLABLE = new Set(['valid', 'controlled']);

/** One order's transaction for pass `pass` (0-based); each pass leaves conditions true for the next. */
export function cancellationTransaction(order: Order, pass: number, runId: string, at: string): Record<string, unknown>[] | undefined {
  const tickets = order.tickets.filter((t) => CANCELLABLE.has(t.state));
  if (tickets.length === 0) return undefined;
  const pk = orderPk(order.id);
  const n = pass + 1;
  const cancellationId = `${order.id}-C${n}`;
  // A conditional update of one of the order's items (header, ticket, payment).
  const update = (sk: string, expression: string, condition: string, values: Record<string, unknown>, names?: Record<string, string>) => ({
    Update: {
      TableName: tableName('orders'),
      Key: { pk, sk },
      UpdateExpression: expression,
      ConditionExpression: condition,
      ...(names ? { ExpressionAttributeNames: names } : {}),
      ExpressionAttributeValues: values,
    },
  });
  const actions: Record<string, unknown>[] = [];
  actions.push(update('HEADER', 'SET #v = #v + :one, cancellationCount = :n', '#v = :v', { ':one': 1, ':n': n, ':v': pass }, { '#v': 'version' }));
  for (const t of tickets) {
    // The real condition is IN (valid, controlled); `cancelled` lets later passes pass it too.
    const values = { ':cancelled': 'cancelled', ':at': at, ':run': runId, ':valid': 'valid', ':controlled': 'controlled' };
    actions.push(update(`TICKET#${t.id}`, 'SET #s = :cancelled, cancelledAt = :at, cancelledByRun = :run', '#s IN (:valid, :controlled, :cancelled)', values, { '#s': 'state' }));
  }
  const refunds: Item[] = [];
  for (const p of order.payments) {
    const drawn = p.amount.amount;
    actions.push(update(`PAYMENT#${p.id}`, 'SET refunded = :new', 'refunded = :old AND amount >= :drawn', { ':new': drawn * n, ':old': drawn * pass, ':drawn': drawn }));
    const id = `${cancellationId}-${p.id}`;
    const returned = p.method === 'intermediate_account' && p.settled !== true;
    refunds.push({ id, paymentId: p.id, method: p.method, amount: p.amount, status: returned ? 'returned_to_account' : 'pending' });
    actions.push({
      Put: {
        TableName: tableName('refunds'),
        Item: refundItem({
          id,
          orderId: order.id,
          paymentId: p.id,
          method: p.method,
          amount: p.amount,
          status: returned ? 'returned_to_account' : 'pending',
          reason: 'cancellation',
          createdAt: at,
          ownerId: (order.customerId ?? order.agencyId) as string,
          ownerKind: order.customerId ? 'customer' : 'agency',
          pspTransactionId: p.pspTransactionId ?? null,
          createdByRun: runId,
          cancellationId,
        }),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    });
    if (returned && order.agencyId) {
      actions.push({
        Put: {
          TableName: tableName('intermediateAccounts'),
          Item: returnItem({ agencyId: order.agencyId, refundId: id, orderId: order.id, amount: p.amount, at, runId }),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }
  }
  const refundTotal = { amount: tickets.reduce((s, t) => s + t.price.amount, 0), currency: tickets[0]?.price.currency ?? 'CHF' };
  actions.splice(1, 0, {
    Put: {
      TableName: tableName('orders'),
      Item: {
        pk,
        sk: `CANCELLATION#${String(n).padStart(4, '0')}`,
        id: cancellationId,
        kind: 'cancellation',
        runId,
        reason: 'cancellation',
        note: 'bench',
        requestedBy: 'bench',
        at,
        salesChannel: order.salesChannel,
        pointOfSale: order.pointOfSale,
        tickets: tickets.map((t) => ({ id: t.id, price: t.price })),
        skipped: [],
        refunds,
        refundTotal,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  });
  return actions;
}

async function writePass(orders: Order[], passOf: Map<string, number>, concurrency: number, meter: DynamoMeter): Promise<ConcurrencyFigure> {
  const at = new Date().toISOString();
  const built: { actions: Record<string, unknown>[] }[] = [];
  for (const order of orders) {
    const pass = passOf.get(order.id) ?? 0;
    const actions = cancellationTransaction(order, pass, `raw-${pass}`, at);
    passOf.set(order.id, pass + 1);
    // A group order's writes do not fit one transaction: the same writes in transactions of at most 100.
    if (actions) for (let i = 0; i < actions.length; i += MAX_TRANSACTION_ITEMS) built.push({ actions: actions.slice(i, i + MAX_TRANSACTION_ITEMS) });
  }
  // Packed the way a cancellation page packs its orders (in page order, up to 100 actions).
  const transactions = packBookings(built).map((group) => group.flatMap((b) => b.actions));
  const before = meter.snapshot();
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < transactions.length) {
      const actions = transactions[next++] as Record<string, unknown>[];
      await documentClient().send(new TransactWriteCommand({ TransactItems: actions as never }));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - t0;
  const items = meter.since(before).itemsWritten;
  return { concurrency, orders: built.length, items, wallMs: Math.round(wallMs), itemsPerSecond: Math.round((items / wallMs) * 1000) };
}

/**
 * Preloads the orders (untimed), sweeps concurrency on a sample of them, then writes every order
 * once at the best concurrency. Tables must be the scratch prefix's (env applied by the caller).
 */
export async function measureRawWrites(orders: Order[], meter: DynamoMeter, opts: { concurrencies?: number[]; sampleOrders?: number; share?: number } = {}): Promise<RawWriteFigures> {
  const concurrencies = opts.concurrencies ?? [2, 4, 8, 16];
  const t0 = performance.now();
  const bodies: Item[] = [];
  const headers: Item[] = [];
  for (const order of orders) {
    const { body, header } = orderItems(order, 'bench');
    bodies.push(...body);
    headers.push(header);
  }
  await batchPut(tableName('orders'), bodies, 16);
  await batchPut(tableName('orders'), headers, 16);
  const preloadMs = Math.round(performance.now() - t0);

  const passOf = new Map<string, number>();
  // Warm the JVM up (JIT) on orders outside the sample, so c=1 is not measured cold.
  const warmup = orders.slice(-Math.min(200, Math.floor(orders.length / 4)));
  await writePass(warmup, passOf, 4, meter);
  const sample = orders.slice(0, Math.min(orders.length, opts.sampleOrders ?? Math.min(1500, Math.max(500, Math.ceil(orders.length / 20)))));
  const sweep: ConcurrencyFigure[] = [];
  for (const c of concurrencies) sweep.push(await writePass(sample, passOf, c, meter));
  const best = sweep.reduce((a, b) => (b.itemsPerSecond > a.itemsPerSecond ? b : a));
  // Every order is preloaded, so a share writes into tables as large as the cancellation's.
  const share = Math.min(1, Math.max(0, opts.share ?? 1));
  const timed = share >= 1 ? orders : orders.filter((_, i) => i % Math.round(1 / share) === 0);
  const full = await writePass(timed, passOf, best.concurrency, meter);
  return { sweep, bestConcurrency: best.concurrency, full, share, preloadMs };
}
