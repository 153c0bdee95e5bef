import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { CancellationPlan, TicketSkip } from '../../core/cancellation.ts';
import { forEachConcurrently } from '../../core/concurrency.ts';
import { ConflictError } from '../../core/errors.ts';
import type { ExchangePlan } from '../../core/exchange.ts';
import type { Money } from '../../core/money.ts';
import type { PaymentMethod, RefundReason, Ticket } from '../../core/model.ts';
import { returnItem } from './accounts.ts';
import { documentClient } from './client.ts';
import type { Item } from './items.ts';
import { OrderRepository, orderPk, ticketItem, type StoredOrder } from './orders.ts';
import { refundItem, shardOf } from './refunds.ts';
import { tableName, type TableKey } from './table-names.ts';

/**
 * Books one order's cancellation or exchange plan (lib/core planCancellation / planExchange /
 * planResale) in ONE TransactWriteItems, conditioned on the order header's `version`:
 * header (version+1, cancellationCount+1), CANCELLATION#nnnn record, tickets, replacement
 * tickets, payments' `refunded`, refunds, and the agency ledger for money returned to an
 * unsettled intermediate account. A concurrent writer makes the condition fail: the order is
 * read again and planned again (bounded), so nothing is ever cancelled or refunded twice.
 * `bookOrders` packs several orders' transactions into one, each order keeping its conditions.
 */
export type OrderPlan = { kind: 'cancellation'; plan: CancellationPlan } | { kind: 'exchange'; plan: ExchangePlan };

export interface BookingContext {
  runId: string;
  /** Time of the booking: cancelledAt of tickets, createdAt of refunds (the resale's resoldAt for payouts). */
  at: string;
  requestedBy: string;
  /** The operator's reason text (free text; the refund reason is the plan's). */
  note?: string;
  /** Where the booking is made; the order's own channel and point of sale when not given. */
  salesChannel?: string;
  pointOfSale?: string;
  /** Items written in the same transaction (e.g. the imported resale record). */
  extraPuts?: { table: TableKey; item: Item }[];
}

export interface BookedTicket {
  id: string;
  price: Money;
  replacementId?: string;
  newPrice?: Money;
}

export interface BookedRefund {
  id: string;
  paymentId: string;
  method: PaymentMethod;
  amount: Money;
  status: 'pending' | 'returned_to_account';
}

export interface OrderBooking {
  orderId: string;
  /**
   * booked: written now; replayed: this run had already booked it (a retried page), reported again;
   * nothing_to_do: nothing left to cancel; too_large: refused, more than one transaction can hold.
   */
  outcome: 'booked' | 'replayed' | 'nothing_to_do' | 'too_large';
  kind?: OrderPlan['kind'];
  cancellationId?: string;
  tickets: BookedTicket[];
  skipped: TicketSkip[];
  refunds: BookedRefund[];
  refundTotal?: Money;
  feeValue?: Money;
  error?: string;
  attempts: number;
}

/** DynamoDB's limit of actions per TransactWriteItems. */
export const MAX_TRANSACTION_ITEMS = 100;
const MAX_ATTEMPTS = 8;

export function cancellationSk(n: number): string {
  return `CANCELLATION#${String(n).padStart(4, '0')}`;
}

export function outboxMark(orderId: string, kind: string, refundId: string): Item {
  return {
    outboxShard: `OUTBOX#${String(shardOf(orderId, 16)).padStart(2, '0')}`,
    outboxKey: `${orderId}#${kind}#${refundId}`,
    notification: { kind, status: 'unsent' },
  };
}

interface Built {
  actions: Record<string, unknown>[];
  booking: Omit<OrderBooking, 'outcome' | 'attempts'>;
}

function build(stored: StoredOrder, op: OrderPlan, ctx: BookingContext): Built {
  const { header, order } = stored;
  const pk = orderPk(order.id);
  const n = (header.cancellationCount ?? 0) + 1;
  const cancellationId = `${order.id}-C${n}`;
  const ownerId = (order.customerId ?? order.agencyId) as string;
  const ownerKind = order.customerId ? 'customer' : 'agency';
  const salesChannel = ctx.salesChannel ?? order.salesChannel;
  const pointOfSale = ctx.pointOfSale ?? order.pointOfSale;
  const reason: RefundReason = op.kind === 'cancellation' ? op.plan.reason : 'partial_refund';
  const refundsFees = op.kind === 'cancellation' && op.plan.refundsFees;
  const actions: Record<string, unknown>[] = [];

  actions.push({
    Update: {
      TableName: tableName('orders'),
      Key: { pk, sk: 'HEADER' },
      UpdateExpression: `SET #v = #v + :one, cancellationCount = :n${refundsFees ? ', feesRefunded = :true' : ''}`,
      ConditionExpression: '#v = :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':one': 1, ':n': n, ':v': header.version, ...(refundsFees ? { ':true': true } : {}) },
    },
  });

  const cancelState = (t: Ticket, replacementId?: string) => ({
    Update: {
      TableName: tableName('orders'),
      Key: { pk, sk: `TICKET#${t.id}` },
      UpdateExpression: `SET #s = :cancelled, cancelledAt = :at, cancelledByRun = :run${replacementId ? ', replacedByTicketId = :rep' : ''}`,
      ConditionExpression: '#s IN (:valid, :controlled)',
      ExpressionAttributeNames: { '#s': 'state' },
      ExpressionAttributeValues: {
        ':cancelled': 'cancelled',
        ':at': ctx.at,
        ':run': ctx.runId,
        ':valid': 'valid',
        ':controlled': 'controlled',
        ...(replacementId ? { ':rep': replacementId } : {}),
      },
    },
  });

  const tickets: BookedTicket[] = [];
  if (op.kind === 'cancellation') {
    for (const t of op.plan.cancel) {
      actions.push(cancelState(t));
      tickets.push({ id: t.id, price: t.price });
    }
  } else {
    for (const e of op.plan.exchanges) {
      actions.push(cancelState(e.old, e.replacement.id));
      const { cancelledAt: _c, replacedByTicketId: _r, ...replacement } = e.replacement as Ticket & Item;
      delete replacement.cancelledByRun;
      actions.push({
        Put: {
          TableName: tableName('orders'),
          Item: ticketItem(replacement as Ticket, { issuedByRun: ctx.runId, issuedAt: ctx.at, salesChannel, pointOfSale }),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
      tickets.push({ id: e.old.id, price: e.old.price, replacementId: e.replacement.id, newPrice: e.replacement.price });
    }
  }

  const allocations = op.plan.allocations;
  for (const p of order.payments) {
    const drawn = allocations.filter((a) => a.paymentId === p.id).reduce((s, a) => s + a.amount.amount, 0);
    if (drawn === 0) continue;
    actions.push({
      Update: {
        TableName: tableName('orders'),
        Key: { pk, sk: `PAYMENT#${p.id}` },
        UpdateExpression: 'SET refunded = :new',
        ConditionExpression: 'refunded = :old AND amount >= :new',
        ExpressionAttributeValues: { ':new': p.refunded.amount + drawn, ':old': p.refunded.amount },
      },
    });
  }

  const refunds: BookedRefund[] = [];
  for (const a of allocations) {
    const payment = order.payments.find((p) => p.id === a.paymentId);
    const id = `${cancellationId}-${a.paymentId}`;
    const returned = a.destination === 'intermediate_account';
    const status = returned ? 'returned_to_account' : 'pending';
    refunds.push({ id, paymentId: a.paymentId, method: a.method, amount: a.amount, status });
    actions.push({
      Put: {
        TableName: tableName('refunds'),
        Item: {
          ...refundItem({
            id,
            orderId: order.id,
            paymentId: a.paymentId,
            method: a.method,
            amount: a.amount,
            status,
            reason,
            createdAt: ctx.at,
            ownerId,
            ownerKind,
            pspTransactionId: payment?.pspTransactionId ?? null,
            createdByRun: ctx.runId,
            cancellationId,
          }),
          // Money back on the agency's account is settled at once; the agency is told, not the ticket holder.
          ...(returned ? { settledAt: ctx.at, settledByRun: ctx.runId, ...outboxMark(order.id, 'returned_to_account', id) } : {}),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    });
    if (returned) {
      actions.push({
        Put: {
          TableName: tableName('intermediateAccounts'),
          Item: returnItem({ agencyId: order.agencyId as string, refundId: id, orderId: order.id, amount: a.amount, at: ctx.at, runId: ctx.runId }),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }
  }

  const skipped = op.kind === 'cancellation' ? op.plan.skipped : [];
  const feeValue = op.kind === 'cancellation' ? op.plan.feeValue : undefined;
  actions.splice(1, 0, {
    Put: {
      TableName: tableName('orders'),
      Item: {
        pk,
        sk: cancellationSk(n),
        id: cancellationId,
        kind: op.kind,
        runId: ctx.runId,
        reason,
        note: ctx.note ?? null,
        requestedBy: ctx.requestedBy,
        at: ctx.at,
        salesChannel,
        pointOfSale,
        tickets,
        skipped,
        refunds,
        refundTotal: op.plan.refundTotal,
        ...(feeValue ? { feeValue } : {}),
        ...(op.kind === 'exchange' ? { percentHundredths: op.plan.percentHundredths, performanceId: op.plan.performanceId } : {}),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  });
  for (const extra of ctx.extraPuts ?? []) {
    actions.push({ Put: { TableName: tableName(extra.table), Item: extra.item, ConditionExpression: 'attribute_not_exists(pk)' } });
  }
  return {
    actions,
    booking: { orderId: order.id, kind: op.kind, cancellationId, tickets, skipped, refunds, refundTotal: op.plan.refundTotal, ...(feeValue ? { feeValue } : {}) },
  };
}

function isEmpty(op: OrderPlan): boolean {
  return op.kind === 'cancellation' ? op.plan.nothingToDo : op.plan.exchanges.length === 0;
}

/** What this run booked on the order earlier, rebuilt from its CANCELLATION record (a retried page reports the same). */
function replayOf(stored: StoredOrder, runId: string): Omit<OrderBooking, 'attempts'> | undefined {
  const record = stored.cancellations.find((c) => c.runId === runId);
  if (!record) return undefined;
  return {
    orderId: stored.order.id,
    outcome: 'replayed',
    kind: record.kind as OrderPlan['kind'],
    cancellationId: record.id as string,
    tickets: record.tickets as BookedTicket[],
    skipped: (record.skipped as TicketSkip[] | undefined) ?? [],
    refunds: record.refunds as BookedRefund[],
    refundTotal: record.refundTotal as Money,
    ...(record.feeValue ? { feeValue: record.feeValue as Money } : {}),
  };
}

export class OrderNotFoundError extends ConflictError {
  override readonly name: string = 'OrderNotFoundError';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A booking decided without a write (nothing to do, replay, too large), or the writes to make. */
type Prepared = { done: OrderBooking } | { built: Built };

function prepare(orderId: string, stored: StoredOrder, planFor: (stored: StoredOrder) => OrderPlan | undefined, ctx: BookingContext, attempt: number): Prepared {
  const op = planFor(stored);
  if (!op || isEmpty(op)) {
    const replay = replayOf(stored, ctx.runId);
    if (replay) return { done: { ...replay, attempts: attempt } };
    return { done: { orderId, outcome: 'nothing_to_do', tickets: [], skipped: op?.kind === 'cancellation' ? op.plan.skipped : [], refunds: [], attempts: attempt } };
  }
  const built = build(stored, op, ctx);
  if (built.actions.length > MAX_TRANSACTION_ITEMS) {
    const { booking, actions } = built;
    return {
      done: {
        ...booking,
        outcome: 'too_large',
        cancellationId: undefined,
        refunds: [],
        error: `order ${orderId}: booking ${booking.tickets.length} ticket(s) needs ${actions.length} writes, one transaction holds ${MAX_TRANSACTION_ITEMS}; nothing was changed on this order`,
        attempts: attempt,
      },
    };
  }
  return { built };
}

/** True for the failures a fresh read and plan can cure: a condition failed or a transaction conflicted. */
function isRetryableConflict(error: unknown): boolean {
  const name = (error as Error).name;
  if (name === 'TransactionConflictException') return true;
  if (name !== 'TransactionCanceledException') return false;
  const reasons = ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((r) => r.Code);
  return reasons.some((c) => c === 'ConditionalCheckFailed' || c === 'TransactionConflict');
}

/**
 * Reads the order (consistent), plans with `planFor`, writes the plan in one transaction.
 * `planFor` returns undefined when the order has nothing for this request. On a failed
 * condition or a transaction conflict the order is read and planned again, up to 8 times.
 */
export async function bookOrder(orderId: string, planFor: (stored: StoredOrder) => OrderPlan | undefined, ctx: BookingContext): Promise<OrderBooking> {
  const repo = new OrderRepository();
  for (let attempt = 1; ; attempt++) {
    const stored = await repo.get(orderId);
    if (!stored) throw new OrderNotFoundError(`order ${orderId} does not exist`);
    const prepared = prepare(orderId, stored, planFor, ctx, attempt);
    if ('done' in prepared) return prepared.done;
    try {
      await documentClient().send(new TransactWriteCommand({ TransactItems: prepared.built.actions as never }));
      return { ...prepared.built.booking, outcome: 'booked', attempts: attempt };
    } catch (error) {
      if (!isRetryableConflict(error) || attempt >= MAX_ATTEMPTS) throw error;
      // Another run changed the order: read it again and plan again.
      await sleep(Math.floor(Math.random() * 20 * attempt));
    }
  }
}

/**
 * Packs whole orders' writes, in order, into transactions of at most `maxItems` actions. The
 * orders of one page are distinct partitions, so no transaction touches an item twice.
 */
export function packBookings<T extends { actions: readonly unknown[] }>(built: readonly T[], maxItems = MAX_TRANSACTION_ITEMS): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const b of built) {
    if (current.length > 0 && size + b.actions.length > maxItems) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(b);
    size += b.actions.length;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

export interface BookOrdersOptions {
  /** Orders read at once (consistent reads). */
  readsAtOnce?: number;
  /** Packed transactions in flight at once. */
  writesAtOnce?: number;
  /** Actions per packed transaction (at most 100, DynamoDB's limit). */
  transactionItems?: number;
}

/**
 * Books a page of orders: each order read and planned as `bookOrder` does, then the orders'
 * writes packed several to a transaction (DynamoDB Local pays per transaction far more than per
 * item; on AWS the cost per item is the same and the requests are fewer). Every order keeps its own conditions, so a packed transaction commits
 * all its orders or none; if one of them changed meanwhile, each order of that transaction is
 * booked alone again through `bookOrder` (fresh read, fresh plan). Results keep the ids' order.
 */
export async function bookOrders(orderIds: readonly string[], planFor: (stored: StoredOrder) => OrderPlan | undefined, ctx: BookingContext, opts: BookOrdersOptions = {}): Promise<OrderBooking[]> {
  const repo = new OrderRepository();
  const results: OrderBooking[] = new Array(orderIds.length);
  const toWrite: { index: number; actions: Record<string, unknown>[]; booking: Built['booking'] }[] = [];
  await forEachConcurrently(
    orderIds.map((id, index) => ({ id, index })),
    opts.readsAtOnce ?? 4,
    async ({ id, index }) => {
      const stored = await repo.get(id);
      if (!stored) throw new OrderNotFoundError(`order ${id} does not exist`);
      const prepared = prepare(id, stored, planFor, ctx, 1);
      if ('done' in prepared) results[index] = prepared.done;
      else toWrite.push({ index, ...prepared.built });
    },
  );
  toWrite.sort((a, b) => a.index - b.index);
  const groups = packBookings(toWrite, Math.min(MAX_TRANSACTION_ITEMS, opts.transactionItems ?? MAX_TRANSACTION_ITEMS));
  await forEachConcurrently(groups, opts.writesAtOnce ?? 1, async (group) => {
    try {
      await documentClient().send(new TransactWriteCommand({ TransactItems: group.flatMap((g) => g.actions) as never }));
      for (const g of group) results[g.index] = { ...g.booking, outcome: 'booked', attempts: 1 };
    } catch (error) {
      if (!isRetryableConflict(error)) throw error;
      // Some order of the group changed meanwhile: book each one alone, from a fresh read.
      for (const g of group) {
        const alone = await bookOrder(orderIds[g.index] as string, planFor, ctx);
        results[g.index] = { ...alone, attempts: alone.attempts + 1 };
      }
    }
  });
  return results;
}
