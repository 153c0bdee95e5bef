import type { Allocation } from './allocation.ts';
import type { CancellationPlan, TicketSkip } from './cancellation.ts';
import { DomainError } from './errors.ts';
import type { ExchangePlan } from './exchange.ts';
import type { Money } from './money.ts';
import type { Ticket } from './model.ts';

/**
 * How one order's booking is split when it does not fit one DynamoDB transaction (a group or
 * agency order of hundreds or thousands of tickets). The plan itself (planCancellation,
 * planExchange: which tickets, how much, drawn on which payment) is the same as for a small
 * order; only the writes are cut into parts:
 * - ticket parts first (tickets cancelled or exchanged, and the skipped ones for the record),
 * - then money parts (payments drawn, refunds created, agency ledger items), the last of them
 *   the final part that releases the order and marks the cancellation record booked.
 * Money comes last so that a refund exists only once every ticket it pays for is cancelled:
 * the dispatch never sees a refund of a half-cancelled order.
 * Every ticket, skip and allocation of the plan is in exactly one part; parts keep the plan's
 * order; each part stays within the action and size limits.
 */
export type BookingPlan = { kind: 'cancellation'; plan: CancellationPlan } | { kind: 'exchange'; plan: ExchangePlan };

/** A ticket as a part (and the cancellation record) keeps it: id and price. */
export interface PartTicket {
  id: string;
  price: Money;
}

export interface PartExchange {
  old: PartTicket;
  /** The new ticket, written as planned (price reduced, same state, seat, quota, category). */
  replacement: Ticket;
  refund: Money;
}

export interface TicketsPart {
  kind: 'tickets';
  cancel: PartTicket[];
  exchanges: PartExchange[];
  skipped: TicketSkip[];
}

export interface MoneyPart {
  kind: 'money';
  allocations: Allocation[];
  /** The last part: it also releases the order and marks the record booked. */
  final: boolean;
}

export type BookingPart = TicketsPart | MoneyPart;

/** Writes a booking costs, by what is written (the adapter's transactions have exactly this shape). */
export interface BookingCosts {
  /** Order header (version, lease) and cancellation record. */
  header: number;
  record: number;
  cancelledTicket: number;
  /** Old ticket cancelled + replacement ticket put. */
  exchangedTicket: number;
  /** Payment `refunded` update + refund put. */
  allocation: number;
  /** The agency ledger item of money returned to an unsettled intermediate account. */
  returnedToAccount: number;
  /** Every part: the lease check and the part marked done. */
  partOverhead: number;
  /** The final part: header (lease released), record (booked), part marked done. */
  finalPartOverhead: number;
}

export const BOOKING_COSTS: BookingCosts = {
  header: 1,
  record: 1,
  cancelledTicket: 1,
  exchangedTicket: 2,
  allocation: 2,
  returnedToAccount: 1,
  partOverhead: 2,
  finalPartOverhead: 3,
};

export interface BookingLimits {
  /** Actions per transaction (DynamoDB: 100). */
  maxActions: number;
  /** Bytes of one part's content (it is stored as one item: DynamoDB's item limit is 400 KB). */
  maxPartBytes: number;
  costs: BookingCosts;
}

/** A single line (one ticket, one allocation) larger than a part: only corrupt data can do that. */
export class BookingPartError extends DomainError {
  override readonly name = 'BookingPartError';
}

export const BOOKING_LIMITS: BookingLimits = { maxActions: 100, maxPartBytes: 64 * 1024, costs: BOOKING_COSTS };

const encoder = new TextEncoder();
/** UTF-8 bytes of a value as JSON: close to what DynamoDB counts for the stored map. */
export function jsonBytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).length;
}

function allocationCost(a: Allocation, costs: BookingCosts): number {
  return costs.allocation + (a.destination === 'intermediate_account' ? costs.returnedToAccount : 0);
}

/** Writes of the whole booking in ONE transaction (the fast path): header, record, tickets, payments, refunds, ledger items. */
export function singleTransactionActions(op: BookingPlan, costs: BookingCosts = BOOKING_COSTS): number {
  const tickets = op.kind === 'cancellation' ? op.plan.cancel.length * costs.cancelledTicket : op.plan.exchanges.length * costs.exchangedTicket;
  return costs.header + costs.record + tickets + op.plan.allocations.reduce((n, a) => n + allocationCost(a, costs), 0);
}

/** Actions a part's transaction writes. */
export function partActions(part: BookingPart, costs: BookingCosts = BOOKING_COSTS): number {
  if (part.kind === 'tickets') return costs.partOverhead + part.cancel.length * costs.cancelledTicket + part.exchanges.length * costs.exchangedTicket;
  return (part.final ? costs.finalPartOverhead : costs.partOverhead) + part.allocations.reduce((n, a) => n + allocationCost(a, costs), 0);
}

/**
 * Greedy, in order: a new group starts when the next item would break one of the budgets, or the
 * group already holds `maxCount` items. `sizes` measures an item in each budget's unit (and may
 * throw for an item no group can hold); a group always takes its first item.
 */
export function packInOrder<T>(items: readonly T[], sizes: (item: T) => readonly number[], budgets: readonly number[], maxCount = Number.POSITIVE_INFINITY): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let used = budgets.map(() => 0);
  for (const item of items) {
    const size = sizes(item);
    if (current.length > 0 && (current.length >= maxCount || size.some((s, i) => used[i]! + s > budgets[i]!))) {
      groups.push(current);
      current = [];
      used = budgets.map(() => 0);
    }
    current.push(item);
    used = used.map((u, i) => u + size[i]!);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/** A new part starts when the next line would break the action or byte budget. */
function pack<T>(lines: readonly T[], actions: (line: T) => number, capacity: number, maxBytes: number): T[][] {
  const sizes = (line: T) => {
    const a = actions(line);
    const b = jsonBytes(line);
    if (a > capacity || b > maxBytes) throw new BookingPartError(`one booking line needs ${a} writes and ${b} bytes; a part holds ${capacity} writes and ${maxBytes} bytes`);
    return [a, b];
  };
  return packInOrder(lines, sizes, [capacity, maxBytes]);
}

type TicketLine = { cancel: PartTicket } | { exchange: PartExchange } | { skip: TicketSkip };

/** The plan's writes cut into parts: ticket parts, then money parts, the last one final. */
export function splitBooking(op: BookingPlan, limits: BookingLimits = BOOKING_LIMITS): BookingPart[] {
  const { costs, maxActions, maxPartBytes } = limits;
  const lines: TicketLine[] =
    op.kind === 'cancellation'
      ? [...op.plan.cancel.map((t) => ({ cancel: { id: t.id, price: t.price } })), ...op.plan.skipped.map((skip) => ({ skip }))]
      : op.plan.exchanges.map((e) => ({ exchange: { old: { id: e.old.id, price: e.old.price }, replacement: e.replacement, refund: e.refund } }));
  const lineActions = (l: TicketLine) => ('cancel' in l ? costs.cancelledTicket : 'exchange' in l ? costs.exchangedTicket : 0);
  const ticketParts: TicketsPart[] = pack(lines, lineActions, maxActions - costs.partOverhead, maxPartBytes).map((group) => ({
    kind: 'tickets',
    cancel: group.flatMap((l) => ('cancel' in l ? [l.cancel] : [])),
    exchanges: group.flatMap((l) => ('exchange' in l ? [l.exchange] : [])),
    skipped: group.flatMap((l) => ('skip' in l ? [l.skip] : [])),
  }));
  // Every money part is sized as if it were final (one action of slack): the last one becomes it.
  const moneyGroups = pack(op.plan.allocations, (a) => allocationCost(a, costs), maxActions - costs.finalPartOverhead, maxPartBytes);
  if (moneyGroups.length === 0) moneyGroups.push([]);
  const moneyParts: MoneyPart[] = moneyGroups.map((allocations, i) => ({ kind: 'money', allocations, final: i === moneyGroups.length - 1 }));
  return [...ticketParts, ...moneyParts];
}
