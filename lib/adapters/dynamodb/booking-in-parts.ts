import { randomBytes } from 'node:crypto';
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { BOOKING_LIMITS, jsonBytes, splitBooking, type BookingLimits, type BookingPart, type BookingPlan, type MoneyPart, type TicketsPart } from '../../core/booking-parts.ts';
import { ConflictError } from '../../core/errors.ts';
import { allocationActions, replacementPutAction, ticketCancelAction, type Action, type BookingFacts, type DrawnAllocation } from './booking-writes.ts';
import { documentClient } from './client.ts';
import { batchDelete, batchPut, type Item } from './items.ts';
import { orderPk, type OpenBookingLease, type StoredOrder } from './orders.ts';
import { tableName } from './table-names.ts';

/**
 * A booking too large for one transaction (a group order), written in parts under a lease:
 * 1. claim (one transaction): the order header takes the lease (`booking`, conditioned on the
 *    header's version and on no other lease) and the version; the cancellation record is written
 *    with status `booking`, the facts every write needs, and, when they fit, the parts
 *    themselves (INTENT#<intent>#<n> items: the plan, part by part; larger plans write their
 *    parts first and delete them if the claim is lost);
 * 2. ticket parts, then money parts (one transaction each): each checks the lease and marks its
 *    part done, so a part is written once whoever writes it;
 * 3. the final part releases the lease and marks the record `booked` with the last money.
 * While the lease is held no other booking plans on the order: a run that finds it finishes the
 * booking first (the parts say exactly what is left), then plans its own. So a crash at any point
 * is finished by the next run that touches the order, and concurrent runs write every part once.
 * The parts stay after the booking: they are its ticket list (the record alone could not hold it).
 */
export type StoredBookingPart = { sk: string; index: number; done: boolean } & ({ part: TicketsPart } | { part: StoredMoneyPart });
export interface StoredMoneyPart extends Omit<MoneyPart, 'allocations'> {
  allocations: DrawnAllocation[];
}

export interface OpenBooking {
  lease: OpenBookingLease;
  record: Item;
  facts: BookingFacts;
  parts: StoredBookingPart[];
}

/** A booking in parts that cannot go on: a part missing, or a part that kept conflicting. */
export class OrderBookingError extends ConflictError {
  override readonly name = 'OrderBookingError';
}

export interface PartsOptions {
  limits?: BookingLimits;
  /** `auto`: parts written in the claim's transaction when they fit; `before`: always written before it. */
  partsInClaim?: 'auto' | 'before';
  /** Called after the claim and after each part this run wrote (the chaos tests crash there). */
  afterClaim?: () => void;
  afterPart?: (part: { index: number; kind: BookingPart['kind']; final: boolean }) => void;
}

const MAX_PART_ATTEMPTS = 8;
/** Bytes a claim may carry (DynamoDB: 4 MB per transaction), with room for the header and record. */
const CLAIM_BYTES = 3_000_000;

const partSk = (intentId: string, index: number) => `INTENT#${intentId}#${String(index).padStart(4, '0')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function toStored(item: Item): StoredBookingPart {
  return { sk: item.sk as string, index: item.index as number, done: item.done === true, part: item.part as TicketsPart | StoredMoneyPart } as StoredBookingPart;
}

/** The parts of one booking, in order. */
export function partsOf(stored: StoredOrder, intentId: string): StoredBookingPart[] {
  const prefix = `INTENT#${intentId}#`;
  return stored.parts
    .filter((p) => String(p.sk).startsWith(prefix))
    .map(toStored)
    .sort((a, b) => a.index - b.index);
}

/** The booking in parts holding the order, if any, with everything needed to finish it. */
export function openBookingOf(stored: StoredOrder): OpenBooking | undefined {
  const lease = stored.header.booking;
  if (!lease) return undefined;
  const record = stored.cancellations.find((c) => c.sk === lease.recordSk);
  const parts = partsOf(stored, lease.intentId);
  if (!record || parts.length !== lease.parts) {
    throw new OrderBookingError(`order ${stored.order.id}: booking ${lease.cancellationId} (run ${lease.runId}) is missing ${record ? `${lease.parts - parts.length} of its ${lease.parts} parts` : 'its record'}`);
  }
  return { lease, record, facts: record.facts as BookingFacts, parts };
}

/** True for the failures a fresh look can explain: a condition failed or a transaction conflicted. */
export function isRetryableConflict(error: unknown): boolean {
  const name = (error as Error).name;
  if (name === 'TransactionConflictException') return true;
  if (name !== 'TransactionCanceledException') return false;
  const reasons = ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((r) => r.Code);
  return reasons.some((c) => c === 'ConditionalCheckFailed' || c === 'TransactionConflict');
}

/**
 * Claims the order for a booking in parts. `record` is the cancellation record (without its
 * ticket list); `extraPuts` go into the claim (e.g. an imported resale record). Returns the open
 * booking, or undefined when the order changed since it was read (nothing written).
 */
export async function claimInParts(
  stored: StoredOrder,
  op: BookingPlan,
  facts: BookingFacts,
  record: Item,
  extraPuts: Action[],
  opts: PartsOptions = {},
): Promise<OpenBooking | undefined> {
  const given = opts.limits ?? BOOKING_LIMITS;
  // A cancellation notice goes into the final part: one action kept free for it.
  const limits = record.noticeItem ? { ...given, maxActions: given.maxActions - 1 } : given;
  const pk = orderPk(facts.orderId);
  const n = Number(String(record.sk).slice('CANCELLATION#'.length));
  const intentId = `${String(n).padStart(4, '0')}-${randomBytes(4).toString('hex')}`;
  const payments = new Map(stored.order.payments.map((p) => [p.id, p]));
  const parts = splitBooking(op, limits).map((part, i): Item => {
    const stored: TicketsPart | StoredMoneyPart =
      part.kind === 'tickets'
        ? part
        : {
            ...part,
            allocations: part.allocations.map((a) => ({ ...a, refundedBefore: payments.get(a.paymentId)?.refunded.amount ?? 0, pspTransactionId: payments.get(a.paymentId)?.pspTransactionId ?? null })),
          };
    return { pk, sk: partSk(intentId, i + 1), intentId, index: i + 1, part: stored };
  });
  const lease: OpenBookingLease = { intentId, cancellationId: facts.cancellationId, recordSk: record.sk as string, runId: facts.runId, parts: parts.length, at: facts.at };
  const tickets = parts.map((p) => p.part as BookingPart).filter((p): p is TicketsPart => p.kind === 'tickets');
  const recordItem: Item = {
    ...record,
    status: 'booking',
    intentId,
    parts: parts.length,
    facts,
    ticketCount: tickets.reduce((s, p) => s + p.cancel.length + p.exchanges.length, 0),
    skippedCount: tickets.reduce((s, p) => s + p.skipped.length, 0),
  };
  const claim: Action[] = [
    {
      Update: {
        TableName: tableName('orders'),
        Key: { pk, sk: 'HEADER' },
        UpdateExpression: 'SET #v = #v + :one, cancellationCount = :n, booking = :lease',
        ConditionExpression: '#v = :v AND attribute_not_exists(booking)',
        ExpressionAttributeNames: { '#v': 'version' },
        ExpressionAttributeValues: { ':one': 1, ':n': n, ':v': stored.header.version, ':lease': lease },
      },
    },
    { Put: { TableName: tableName('orders'), Item: recordItem, ConditionExpression: 'attribute_not_exists(pk)' } },
    ...extraPuts,
  ];
  const partPuts = parts.map((Item) => ({ Put: { TableName: tableName('orders'), Item, ConditionExpression: 'attribute_not_exists(pk)' } }));
  const inClaim =
    (opts.partsInClaim ?? 'auto') === 'auto' && claim.length + partPuts.length <= limits.maxActions && parts.reduce((s, p) => s + jsonBytes(p), jsonBytes(recordItem)) <= CLAIM_BYTES;
  // Written first, the parts carry a fresh intent id: nothing refers to them until the claim does.
  if (!inClaim) await batchPut(tableName('orders'), parts);
  try {
    await documentClient().send(new TransactWriteCommand({ TransactItems: [...claim, ...(inClaim ? partPuts : [])] as never }));
  } catch (error) {
    if (!isRetryableConflict(error)) throw error;
    // The claim was refused as a whole: the parts written before it belong to no booking.
    if (!inClaim) await batchDelete(tableName('orders'), parts.map((p) => ({ pk, sk: p.sk as string }))).catch(() => undefined);
    return undefined;
  }
  opts.afterClaim?.();
  return { lease, record: recordItem, facts, parts: parts.map(toStored) };
}

function partActions(open: OpenBooking, p: StoredBookingPart, runId: string): Action[] {
  const f = open.facts;
  const pk = orderPk(f.orderId);
  const leaseNames = { '#b': 'booking', '#i': 'intentId' };
  const leaseValues = { ':intent': open.lease.intentId };
  const markDone: Action = {
    Update: {
      TableName: tableName('orders'),
      Key: { pk, sk: p.sk },
      UpdateExpression: 'SET done = :true, doneByRun = :run',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(done)',
      ExpressionAttributeValues: { ':true': true, ':run': runId },
    },
  };
  const part = p.part;
  if (part.kind === 'tickets') {
    return [
      { ConditionCheck: { TableName: tableName('orders'), Key: { pk, sk: 'HEADER' }, ConditionExpression: '#b.#i = :intent', ExpressionAttributeNames: leaseNames, ExpressionAttributeValues: leaseValues } },
      markDone,
      ...part.cancel.map((t) => ticketCancelAction(f, t.id)),
      ...part.exchanges.flatMap((e) => [ticketCancelAction(f, e.old.id, e.replacement.id), replacementPutAction(f, e.replacement)]),
    ];
  }
  const money = part.allocations.flatMap((a) => allocationActions(f, a));
  if (!part.final) {
    return [
      { ConditionCheck: { TableName: tableName('orders'), Key: { pk, sk: 'HEADER' }, ConditionExpression: '#b.#i = :intent', ExpressionAttributeNames: leaseNames, ExpressionAttributeValues: leaseValues } },
      markDone,
      ...money,
    ];
  }
  const refundsFees = open.record.refundsFees === true;
  return [
    {
      Update: {
        TableName: tableName('orders'),
        Key: { pk, sk: 'HEADER' },
        UpdateExpression: `REMOVE booking${refundsFees ? ' SET feesRefunded = :true' : ''}`,
        ConditionExpression: '#b.#i = :intent',
        ExpressionAttributeNames: leaseNames,
        ExpressionAttributeValues: { ...leaseValues, ...(refundsFees ? { ':true': true } : {}) },
      },
    },
    {
      Update: {
        TableName: tableName('orders'),
        Key: { pk, sk: open.lease.recordSk },
        UpdateExpression: 'SET #st = :booked',
        ConditionExpression: '#st = :booking',
        ExpressionAttributeNames: { '#st': 'status' },
        ExpressionAttributeValues: { ':booked': 'booked', ':booking': 'booking' },
      },
    },
    markDone,
    ...money,
    ...(open.record.noticeItem ? [{ Put: { TableName: tableName('refunds'), Item: open.record.noticeItem as Item, ConditionExpression: 'attribute_not_exists(pk)' } }] : []),
  ];
}

/** Whether the lease is still this booking's and whether the part is done, read consistently. */
async function partState(open: OpenBooking, p: StoredBookingPart): Promise<{ held: boolean; done: boolean }> {
  const pk = orderPk(open.facts.orderId);
  const get = (sk: string) => documentClient().send(new GetCommand({ TableName: tableName('orders'), Key: { pk, sk }, ConsistentRead: true }));
  const [header, part] = await Promise.all([get('HEADER'), get(p.sk)]);
  return { held: (header.Item?.booking as OpenBookingLease | undefined)?.intentId === open.lease.intentId, done: part.Item?.done === true };
}

/** Writes one part; returns when it is done (by this run or another) or the booking was finished meanwhile. */
async function runPart(open: OpenBooking, p: StoredBookingPart, runId: string): Promise<'done' | 'closed'> {
  for (let attempt = 1; ; attempt++) {
    try {
      await documentClient().send(new TransactWriteCommand({ TransactItems: partActions(open, p, runId) as never }));
      return 'done';
    } catch (error) {
      if (!isRetryableConflict(error)) throw error;
      const state = await partState(open, p);
      if (!state.held) return 'closed';
      if (state.done) return 'done';
      if (attempt >= MAX_PART_ATTEMPTS) {
        throw new OrderBookingError(`order ${open.facts.orderId}: part ${p.index} of booking ${open.lease.cancellationId} could not be written after ${attempt} attempts; run again to finish it`, { cause: error });
      }
      await sleep(Math.floor(Math.random() * 20 * attempt));
    }
  }
}

/**
 * Finishes an open booking: the ticket parts, then the money parts, then the final one, each
 * skipped if done. `helper`: another run's booking (or this run's, resumed): it starts at a
 * random ticket part so that two runs finishing the same booking mostly write different parts.
 * Returns when the booking is finished, by this run or by another.
 */
export async function finishBooking(open: OpenBooking, runId: string, helper: boolean, opts: PartsOptions = {}): Promise<void> {
  const phases: ((p: StoredBookingPart) => boolean)[] = [(p) => p.part.kind === 'tickets', (p) => p.part.kind === 'money' && !p.part.final, (p) => p.part.kind === 'money' && p.part.final];
  for (const inPhase of phases) {
    let todo = open.parts.filter((p) => inPhase(p) && !p.done);
    if (helper && todo.length > 1) {
      const k = Math.floor(Math.random() * todo.length);
      todo = [...todo.slice(k), ...todo.slice(0, k)];
    }
    for (const p of todo) {
      if ((await runPart(open, p, runId)) === 'closed') return;
      p.done = true;
      opts.afterPart?.({ index: p.index, kind: p.part.kind, final: p.part.kind === 'money' && p.part.final });
    }
  }
}
