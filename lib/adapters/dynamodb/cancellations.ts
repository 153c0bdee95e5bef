import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { jsonBytes, packInOrder, singleTransactionActions, type BookingPlan } from '../../core/booking-parts.ts';
import type { TicketSkip } from '../../core/cancellation.ts';
import { forEachConcurrently } from '../../core/concurrency.ts';
import { ConflictError, DomainError } from '../../core/errors.ts';
import type { Money } from '../../core/money.ts';
import type { RefundReason } from '../../core/model.ts';
import { claimInParts, finishBooking, isRetryableConflict, openBookingOf, partsOf, type PartsOptions, type StoredBookingPart } from './booking-in-parts.ts';
import { allocationActions, bookedRefundOf, cancellationNoticePut, cancellationSk, replacementPutAction, ticketCancelAction, type Action, type BookedRefund, type BookingFacts } from './booking-writes.ts';
import { documentClient } from './client.ts';
import type { Item } from './items.ts';
import { OrderRepository, orderPk, type StoredOrder } from './orders.ts';
import { tableName, type TableKey } from './table-names.ts';

export { cancellationSk, type BookedRefund } from './booking-writes.ts';
export type { BookedTicket, FinishedForOtherRun, OrderBooking } from '../../core/booking.ts';
import type { BookedTicket, FinishedForOtherRun, OrderBooking } from '../../core/booking.ts';
export { outboxMark } from './outbox.ts';

/**
 * Books one order's cancellation or exchange plan (lib/core planCancellation / planExchange /
 * planResale). An order whose writes fit ONE TransactWriteItems (almost all) is booked in it,
 * conditioned on the order header's `version`: header (version+1, cancellationCount+1),
 * CANCELLATION#nnnn record, tickets, replacement tickets, payments' `refunded`, refunds, and the
 * agency ledger for money returned to an unsettled intermediate account. A larger order (a group
 * or agency order of hundreds or thousands of tickets) is booked in parts under a lease on the
 * header (booking-in-parts.ts): the same plan, the same items, one record, never seen half-done.
 * A concurrent writer makes a condition fail: the order is read again and planned again
 * (bounded), so nothing is ever cancelled or refunded twice. A run that finds another booking
 * in parts holding the order finishes it first. `bookOrders` packs several small orders'
 * transactions into one, each order keeping its conditions.
 */
export type OrderPlan = BookingPlan;

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
  /** Items written in the same transaction (e.g. the imported resale record); with a booking in parts, in its claim. */
  extraPuts?: { table: TableKey; item: Item }[];
  /** Tell the customer now that the tickets are cancelled and the refund follows (CancelPerformance notifyCustomers). */
  notifyCustomers?: boolean;
}

/** DynamoDB's limit of actions per TransactWriteItems. */
export const MAX_TRANSACTION_ITEMS = 100;
const MAX_ATTEMPTS = 8;
/** Bytes of the skipped tickets a one-transaction record may list (the item limit is 400 KB). */
const RECORD_LIST_BYTES = 64 * 1024;
/** Other runs' bookings in parts finished in a row before giving up on an order (each one is progress). */
const MAX_FINISHED_FOR_OTHERS = 4;

/** The facts every write of the booking needs. */
function factsOf(stored: StoredOrder, op: OrderPlan, ctx: BookingContext, n: number): BookingFacts {
  const { order } = stored;
  return {
    orderId: order.id,
    cancellationId: `${order.id}-C${n}`,
    runId: ctx.runId,
    at: ctx.at,
    reason: op.kind === 'cancellation' ? op.plan.reason : 'partial_refund',
    salesChannel: ctx.salesChannel ?? order.salesChannel,
    pointOfSale: ctx.pointOfSale ?? order.pointOfSale,
    ownerId: (order.customerId ?? order.agencyId) as string,
    ownerKind: order.customerId ? 'customer' : 'agency',
    agencyId: order.agencyId ?? null,
    performanceId: performanceOf(op),
    percentHundredths: op.kind === 'exchange' ? op.plan.percentHundredths : null,
  };
}

/** The refunds carry their performance (a dispatch can take one performance's refunds alone); none when the tickets span several. */
function performanceOf(op: OrderPlan): string | null {
  const performances = new Set(op.kind === 'cancellation' ? op.plan.cancel.map((t) => t.performanceId) : [op.plan.performanceId]);
  return performances.size === 1 ? ([...performances][0] as string) : null;
}

/** The cancellation notice a booking owes (CancelPerformance `notifyCustomers`), or null. */
function noticeOf(f: BookingFacts, op: OrderPlan, ctx: BookingContext): Action | null {
  if (!ctx.notifyCustomers || op.kind !== 'cancellation') return null;
  return cancellationNoticePut(f, op.plan.cancel.length, op.plan.allocations.map((a) => bookedRefundOf(f, a)), op.plan.cancel[0]?.performanceId ?? '');
}

/** The booked tickets of a plan, as the record and the report list them. */
function bookedTicketsOf(op: OrderPlan): BookedTicket[] {
  if (op.kind === 'cancellation') return op.plan.cancel.map((t) => ({ id: t.id, price: t.price }));
  return op.plan.exchanges.map((e) => ({ id: e.old.id, price: e.old.price, replacementId: e.replacement.id, newPrice: e.replacement.price }));
}

/** The CANCELLATION#nnnn record; a booking in parts keeps its ticket list in its parts instead. */
function recordItem(f: BookingFacts, op: OrderPlan, ctx: BookingContext, n: number, withTickets: boolean): Item {
  const reason: RefundReason = f.reason;
  const feeValue = op.kind === 'cancellation' ? op.plan.feeValue : undefined;
  return {
    pk: orderPk(f.orderId),
    sk: cancellationSk(n),
    id: f.cancellationId,
    kind: op.kind,
    runId: ctx.runId,
    reason,
    note: ctx.note ?? null,
    requestedBy: ctx.requestedBy,
    at: ctx.at,
    salesChannel: f.salesChannel,
    pointOfSale: f.pointOfSale,
    ...(withTickets ? { tickets: bookedTicketsOf(op), skipped: op.kind === 'cancellation' ? op.plan.skipped : [] } : {}),
    refunds: op.plan.allocations.map((a) => bookedRefundOf(f, a)),
    refundTotal: op.plan.refundTotal,
    refundsFees: op.kind === 'cancellation' && op.plan.refundsFees,
    ...(feeValue ? { feeValue } : {}),
    ...(op.kind === 'exchange' ? { percentHundredths: op.plan.percentHundredths, performanceId: op.plan.performanceId } : {}),
  };
}

interface Built {
  actions: Record<string, unknown>[];
  booking: Omit<OrderBooking, 'outcome' | 'attempts'>;
}

/** The header: version+1 (conditioned on the version read), the record's number, fees refunded when they are. */
function headerUpdate(stored: StoredOrder, op: OrderPlan, n: number): Action {
  const refundsFees = op.kind === 'cancellation' && op.plan.refundsFees;
  return {
    Update: {
      TableName: tableName('orders'),
      Key: { pk: orderPk(stored.order.id), sk: 'HEADER' },
      UpdateExpression: `SET #v = #v + :one, cancellationCount = :n${refundsFees ? ', feesRefunded = :true' : ''}`,
      ConditionExpression: '#v = :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':one': 1, ':n': n, ':v': stored.header.version, ...(refundsFees ? { ':true': true } : {}) },
    },
  };
}

/** The tickets: cancelled, or cancelled and each replaced by its new ticket. */
function ticketActions(f: BookingFacts, op: OrderPlan): Action[] {
  if (op.kind === 'cancellation') return op.plan.cancel.map((t) => ticketCancelAction(f, t.id));
  return op.plan.exchanges.flatMap((e) => [ticketCancelAction(f, e.old.id, e.replacement.id), replacementPutAction(f, e.replacement)]);
}

/** The money: each allocation's payment, refund and ledger writes, from what the payment had refunded before. */
function moneyActions(f: BookingFacts, op: OrderPlan, stored: StoredOrder): Action[] {
  const payments = new Map(stored.order.payments.map((p) => [p.id, p]));
  return op.plan.allocations.flatMap((a) => {
    const p = payments.get(a.paymentId);
    return allocationActions(f, { ...a, refundedBefore: p?.refunded.amount ?? 0, pspTransactionId: p?.pspTransactionId ?? null });
  });
}

/** What a one-transaction booking reports (what its record lists). */
function bookedSummary(f: BookingFacts, op: OrderPlan): Built['booking'] {
  const feeValue = op.kind === 'cancellation' ? op.plan.feeValue : undefined;
  return {
    orderId: f.orderId,
    kind: op.kind,
    cancellationId: f.cancellationId,
    tickets: bookedTicketsOf(op),
    skipped: op.kind === 'cancellation' ? op.plan.skipped : [],
    refunds: op.plan.allocations.map((a) => bookedRefundOf(f, a)),
    refundTotal: op.plan.refundTotal,
    ...(feeValue ? { feeValue } : {}),
  };
}

/** The whole booking in one transaction: header, record, tickets, money, the notice owed, the caller's extra items. */
function build(stored: StoredOrder, op: OrderPlan, ctx: BookingContext): Built {
  const n = (stored.header.cancellationCount ?? 0) + 1;
  const f = factsOf(stored, op, ctx, n);
  const notice = noticeOf(f, op, ctx);
  const actions: Action[] = [
    headerUpdate(stored, op, n),
    { Put: { TableName: tableName('orders'), Item: recordItem(f, op, ctx, n, true), ConditionExpression: 'attribute_not_exists(pk)' } },
    ...ticketActions(f, op),
    ...moneyActions(f, op, stored),
    ...(notice ? [notice] : []),
    ...(ctx.extraPuts ?? []).map(extraPut),
  ];
  return { actions, booking: bookedSummary(f, op) };
}

function extraPut(extra: { table: TableKey; item: Item }): Action {
  return { Put: { TableName: tableName(extra.table), Item: extra.item, ConditionExpression: 'attribute_not_exists(pk)' } };
}

function isEmpty(op: OrderPlan): boolean {
  return op.kind === 'cancellation' ? op.plan.nothingToDo : op.plan.exchanges.length === 0;
}

/** What a booking recorded: from the record, or, for a booking in parts, from its parts. */
function bookingOfRecord(stored: StoredOrder, record: Item, outcome: 'booked' | 'replayed', parts?: StoredBookingPart[]): Omit<OrderBooking, 'attempts'> {
  let tickets = record.tickets as BookedTicket[] | undefined;
  let skipped = (record.skipped as TicketSkip[] | undefined) ?? [];
  let transactions: number | undefined;
  if (record.intentId) {
    const all = parts ?? partsOf(stored, record.intentId as string);
    tickets = [];
    skipped = [];
    for (const { part } of all) {
      if (part.kind !== 'tickets') continue;
      for (const t of part.cancel) tickets.push({ id: t.id, price: t.price });
      for (const e of part.exchanges) tickets.push({ id: e.old.id, price: e.old.price, replacementId: e.replacement.id, newPrice: e.replacement.price });
      skipped.push(...part.skipped);
    }
    transactions = all.length + 1;
  }
  return {
    orderId: stored.order.id,
    outcome,
    kind: record.kind as OrderPlan['kind'],
    cancellationId: record.id as string,
    tickets: tickets ?? [],
    skipped,
    refunds: record.refunds as BookedRefund[],
    refundTotal: record.refundTotal as Money,
    ...(record.feeValue ? { feeValue: record.feeValue as Money } : {}),
    ...(transactions ? { transactions } : {}),
  };
}

/** What this run booked on the order earlier (a retried page reports the same). */
function replayOf(stored: StoredOrder, runId: string): Omit<OrderBooking, 'attempts'> | undefined {
  const record = stored.cancellations.find((c) => c.runId === runId);
  return record ? bookingOfRecord(stored, record, 'replayed') : undefined;
}

export class OrderNotFoundError extends ConflictError {
  override readonly name = 'OrderNotFoundError';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A booking decided without a write (nothing to do, replay), the writes of one transaction, or a plan to book in parts. */
type Prepared = { done: Omit<OrderBooking, 'attempts'> } | { built: Built } | { inParts: OrderPlan };

function prepare(orderId: string, stored: StoredOrder, planFor: (stored: StoredOrder) => OrderPlan | undefined, ctx: BookingContext): Prepared {
  const op = planFor(stored);
  if (!op || isEmpty(op)) {
    const replay = replayOf(stored, ctx.runId);
    if (replay) return { done: replay };
    return { done: { orderId, outcome: 'nothing_to_do', tickets: [], skipped: op?.kind === 'cancellation' ? op.plan.skipped : [], refunds: [] } };
  }
  // The model of the writes decides first: no need to build thousands of actions to count them.
  const noticeActions = ctx.notifyCustomers && op.kind === 'cancellation' ? 1 : 0;
  if (singleTransactionActions(op) + (ctx.extraPuts?.length ?? 0) + noticeActions > MAX_TRANSACTION_ITEMS) return { inParts: op };
  // A record listing thousands of skipped tickets would near DynamoDB's 400 KB item limit: its parts list them instead.
  if (op.kind === 'cancellation' && jsonBytes(op.plan.skipped) > RECORD_LIST_BYTES) return { inParts: op };
  const built = build(stored, op, ctx);
  if (built.actions.length > MAX_TRANSACTION_ITEMS) return { inParts: op };
  return { built };
}

export interface BookOrderOptions extends PartsOptions {
  /** The order as just read (consistent), to save the first read. */
  stored?: StoredOrder;
}

/**
 * Reads the order (consistent), plans with `planFor`, writes the plan in one transaction or in
 * parts. `planFor` returns undefined when the order has nothing for this request. A booking in
 * parts of another run holding the order is finished first. On a failed condition or a
 * transaction conflict the order is read and planned again, up to 8 times.
 */
export async function bookOrder(orderId: string, planFor: (stored: StoredOrder) => OrderPlan | undefined, ctx: BookingContext, opts: BookOrderOptions = {}): Promise<OrderBooking> {
  const repo = new OrderRepository();
  const finishedForOtherRuns: FinishedForOtherRun[] = [];
  const withFinished = (b: OrderBooking): OrderBooking => (finishedForOtherRuns.length ? { ...b, finishedForOtherRuns } : b);
  let first = opts.stored;
  for (let attempt = 1; ; attempt++) {
    const stored = first ?? (await repo.get(orderId));
    first = undefined;
    if (!stored) throw new OrderNotFoundError(`order ${orderId} does not exist (or its import did not finish: import it again)`);
    const open = openBookingOf(stored);
    if (open) {
      const own = open.lease.runId === ctx.runId;
      await finishBooking(open, ctx.runId, !own, opts);
      if (own) return withFinished({ ...bookingOfRecord(stored, open.record, 'booked', open.parts), attempts: attempt });
      finishedForOtherRuns.push({ cancellationId: open.lease.cancellationId, runId: open.lease.runId });
      if (finishedForOtherRuns.length > MAX_FINISHED_FOR_OTHERS) throw new ConflictError(`order ${orderId}: other runs kept starting bookings on it; run again`);
      attempt--; // finishing another run's booking is progress, not a failed attempt
      continue;
    }
    const booked = await attemptBooking(orderId, stored, planFor, ctx, opts, attempt);
    if (booked) return withFinished({ ...booked, attempts: attempt });
    // Another run changed the order: read it again and plan again.
    await sleep(Math.floor(Math.random() * 20 * attempt));
  }
}

/**
 * One attempt on the order as read: its booking (or why nothing was booked), or undefined when
 * another writer changed the order first and the attempts are not spent (read it again).
 */
async function attemptBooking(
  orderId: string,
  stored: StoredOrder,
  planFor: (stored: StoredOrder) => OrderPlan | undefined,
  ctx: BookingContext,
  opts: BookOrderOptions,
  attempt: number,
): Promise<Omit<OrderBooking, 'attempts'> | undefined> {
  const prepared = prepare(orderId, stored, planFor, ctx);
  if ('done' in prepared) return prepared.done;
  if ('inParts' in prepared) {
    const booked = await bookInParts(stored, prepared.inParts, ctx, opts);
    if (!booked && attempt >= MAX_ATTEMPTS) throw new ConflictError(`order ${orderId}: changed by other runs ${attempt} times while this run tried to book it; run again`);
    return booked;
  }
  try {
    await documentClient().send(new TransactWriteCommand({ TransactItems: prepared.built.actions as never }));
    return { ...prepared.built.booking, outcome: 'booked' };
  } catch (error) {
    if (!isRetryableConflict(error) || attempt >= MAX_ATTEMPTS) throw error;
    return undefined;
  }
}

/** Claims the order for a booking in parts and books them; undefined when the claim lost to another writer. */
async function bookInParts(stored: StoredOrder, op: OrderPlan, ctx: BookingContext, opts: PartsOptions): Promise<Omit<OrderBooking, 'attempts'> | undefined> {
  const n = (stored.header.cancellationCount ?? 0) + 1;
  const f = factsOf(stored, op, ctx, n);
  // The cancellation notice rides in the final part, with the release: never sent for a booking half-done.
  const notice = noticeOf(f, op, ctx) as { Put: { Item: Item } } | null;
  const record = { ...recordItem(f, op, ctx, n, false), ...(notice ? { noticeItem: notice.Put.Item } : {}) };
  const claimed = await claimInParts(stored, op, f, record, (ctx.extraPuts ?? []).map(extraPut), opts);
  if (!claimed) return undefined;
  await finishBooking(claimed, ctx.runId, false, opts);
  return bookingOfRecord(stored, claimed.record, 'booked', claimed.parts);
}

/** An order this run did not book, for a reason it lists under its errors (a booking in parts cut short stays under its lease: the next run finishes it). */
function refused(orderId: string, error: DomainError): OrderBooking {
  return { orderId, outcome: 'refused', error: error.message, tickets: [], skipped: [], refunds: [], attempts: 1 };
}

/** Runs a booking of the page; a domain refusal (bad data, a booking that cannot go on) refuses this order only. */
async function orRefused(orderId: string, book: () => Promise<OrderBooking>): Promise<OrderBooking> {
  try {
    return await book();
  } catch (error) {
    if (error instanceof DomainError) return refused(orderId, error);
    throw error;
  }
}

/**
 * Packs whole orders' writes, in order, into transactions of at most `maxItems` actions. The
 * orders of one page are distinct partitions, so no transaction touches an item twice.
 */
export function packBookings<T extends { actions: readonly unknown[] }>(built: readonly T[], maxItems = MAX_TRANSACTION_ITEMS): T[][] {
  return packInOrder(built, (b) => [b.actions.length], [maxItems]);
}

export interface BookOrdersOptions extends PartsOptions {
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
 * item; on AWS the cost per item is the same and the requests are fewer). Every order keeps its
 * own conditions, so a packed transaction commits all its orders or none; if one of them changed
 * meanwhile, each order of that transaction is booked alone again through `bookOrder` (fresh
 * read, fresh plan). Orders booked in parts (or held by another run's booking in parts) go
 * through `bookOrder` one at a time after the packed ones. An order that cannot be booked for a
 * domain reason is refused alone; the page goes on. Results keep the ids' order.
 */
export async function bookOrders(orderIds: readonly string[], planFor: (stored: StoredOrder) => OrderPlan | undefined, ctx: BookingContext, opts: BookOrdersOptions = {}): Promise<OrderBooking[]> {
  const results: OrderBooking[] = new Array(orderIds.length);
  const { toWrite, oneByOne } = await readAndPrepare(orderIds, planFor, ctx, opts, results);
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
        const id = orderIds[g.index] as string;
        const alone = await orRefused(id, () => bookOrder(id, planFor, ctx, opts));
        results[g.index] = { ...alone, attempts: alone.attempts + 1 };
      }
    }
  });
  oneByOne.sort((a, b) => a.index - b.index);
  for (const { index, stored } of oneByOne) {
    const id = orderIds[index] as string;
    results[index] = await orRefused(id, () => bookOrder(id, planFor, ctx, { ...opts, stored }));
  }
  return results;
}

type PackedBooking = { index: number; actions: Record<string, unknown>[]; booking: Built['booking'] };

/**
 * Reads the page's orders (a few at once) and prepares each: a booking decided without a write
 * goes straight to `results`, one transaction's writes to `toWrite`, a booking in parts (or an
 * order held by one) to `oneByOne`.
 */
async function readAndPrepare(
  orderIds: readonly string[],
  planFor: (stored: StoredOrder) => OrderPlan | undefined,
  ctx: BookingContext,
  opts: BookOrdersOptions,
  results: OrderBooking[],
): Promise<{ toWrite: PackedBooking[]; oneByOne: { index: number; stored: StoredOrder }[] }> {
  const repo = new OrderRepository();
  const toWrite: PackedBooking[] = [];
  const oneByOne: { index: number; stored: StoredOrder }[] = [];
  await forEachConcurrently(
    orderIds.map((id, index) => ({ id, index })),
    opts.readsAtOnce ?? 4,
    async ({ id, index }) => {
      const stored = await repo.get(id);
      if (!stored) {
        results[index] = refused(id, new OrderNotFoundError(`order ${id} has tickets but no header: its import did not finish; import it again`));
        return;
      }
      try {
        if (openBookingOf(stored)) return void oneByOne.push({ index, stored });
        const prepared = prepare(id, stored, planFor, ctx);
        if ('done' in prepared) results[index] = { ...prepared.done, attempts: 1 };
        else if ('inParts' in prepared) oneByOne.push({ index, stored });
        else toWrite.push({ index, ...prepared.built });
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        results[index] = refused(id, error);
      }
    },
  );
  return { toWrite, oneByOne };
}
