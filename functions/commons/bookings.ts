import * as z from 'zod';
import type { BookOrdersOptions, OrderBooking } from '../../lib/adapters/dynamodb/cancellations.ts';
import { OrderRepository } from '../../lib/adapters/dynamodb/orders.ts';
import { pageLogKey, RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { crashPoint } from './chaos.ts';
import { PAYMENT_METHODS } from '../../lib/core/model.ts';
import { finishedStatus, mergeTallies, TalliesSchema, tally, type RunReport, type Tallies } from '../../lib/core/report.ts';

/** What the cancellation workflows share: input pieces, tallies of bookings, paging, the run's end. */

export const AllocationOrder = z
  .array(z.enum(PAYMENT_METHODS))
  .min(1, 'must list at least one payment method or be omitted')
  .refine((list) => new Set(list).size === list.length, 'must not list a method twice')
  .optional();

export const ReportError = z.object({ code: z.string(), message: z.string(), field: z.string().optional() });
export type ReportErrorEntry = z.infer<typeof ReportError>;

/** Errors carried in the state are capped so the payload stays small; the rest are counted. */
export const MAX_CARRIED_ERRORS = 20;

/** Outcomes of one order's booking, in the report's words. */
export function tallyBooking(t: Tallies, b: OrderBooking): Tallies {
  let out = t;
  if (b.outcome === 'booked' || b.outcome === 'replayed') {
    const exchange = b.kind === 'exchange';
    for (const ticket of b.tickets) {
      out = tally(out, exchange ? 'tickets_exchanged' : 'tickets_cancelled', ticket.price);
      if (exchange && ticket.newPrice) out = tally(out, 'replacement_tickets', ticket.newPrice);
    }
    if (b.refundTotal) out = tally(out, exchange ? 'orders_exchanged' : 'orders_cancelled', b.refundTotal);
    if (b.feeValue && b.feeValue.amount > 0) out = tally(out, 'fees_refunded', b.feeValue);
    for (const r of b.refunds) out = tally(out, r.status === 'pending' ? 'pending_refunds' : 'returned_to_account', r.amount);
    if (b.transactions) out = tally(out, 'orders_booked_in_parts', undefined);
  }
  for (const s of b.skipped) {
    if (s.reason === 'already_cancelled') out = tally(out, 'tickets_skipped_already_cancelled');
  }
  if (b.outcome === 'nothing_to_do' && b.skipped.length > 0) out = tally(out, 'orders_skipped_already_cancelled');
  if (b.outcome === 'refused') out = tally(out, 'orders_refused');
  if (b.finishedForOtherRuns) out = tally(out, 'bookings_finished_for_other_runs', undefined, b.finishedForOtherRuns.length);
  return out;
}

/** One run-log line per order: ids and amounts only. */
export function bookingLine(b: OrderBooking): string {
  const m = (x: { amount: number; currency: string }) => `${x.amount} ${x.currency}`;
  const finished = b.finishedForOtherRuns?.length ? ` (first finished ${b.finishedForOtherRuns.map((f) => `booking ${f.cancellationId} of run ${f.runId}`).join(', ')})` : '';
  if (b.outcome === 'refused') return `${b.orderId} NOT BOOKED: ${b.error}`;
  if (b.outcome === 'nothing_to_do') return `${b.orderId} skipped: nothing to cancel${finished}${b.skipped.length ? ` (${b.skipped.map((s) => `${s.ticketId} ${s.reason}`).join(', ')})` : ''}`;
  const tickets = b.tickets.map((t) => (t.replacementId ? `${t.id} ${m(t.price)} -> ${t.replacementId} ${m(t.newPrice!)}` : `${t.id} ${m(t.price)}`)).join(', ');
  const refunds = b.refunds.map((r) => `${r.id} ${r.method} ${m(r.amount)} ${r.status}`).join(', ');
  const inParts = b.transactions ? ` (in ${b.transactions} transactions)` : '';
  return `${b.orderId} ${b.cancellationId}${b.outcome === 'replayed' ? ' (already booked by this run)' : ''}${inParts}${finished}: ${b.kind === 'exchange' ? 'exchanged' : 'cancelled'} ${tickets}; refund ${b.refundTotal ? m(b.refundTotal) : '0'}${refunds ? `: ${refunds}` : ''}`;
}

export const DEFAULT_PAGE_SIZE = 200;

/** The named crash points of a booking in parts (chaos and restart tests): after its claim, after each part. */
export function bookingCrashPoints(): Pick<BookOrdersOptions, 'afterClaim' | 'afterPart'> {
  return { afterClaim: () => crashPoint('booking.afterClaim'), afterPart: () => crashPoint('booking.afterPart') };
}

/** How a page books its orders: reads at once, packed transactions at once (see bookOrders). */
export function bookingOptions(): BookOrdersOptions {
  return {
    readsAtOnce: envInt('BOOKING_READS_AT_ONCE', 4),
    writesAtOnce: envInt('BOOKING_WRITES_AT_ONCE', 1),
    transactionItems: envInt('BOOKING_TRANSACTION_ITEMS', 100),
    ...bookingCrashPoints(),
  };
}

/** A positive integer from the environment (a stage's tuning knob), else the fallback. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

export const PageState = z.object({
  runId: z.string(),
  shard: z.number().int().min(0),
  cursor: z.string().nullish(),
  pages: z.number().int().min(0).optional(),
  tallies: TalliesSchema.optional(),
  errors: z.array(ReportError).optional(),
  moreErrors: z.number().int().optional(),
});

/**
 * One page of a performance shard: the order ids after the cursor, booked by `bookPage`,
 * tallies and errors added to what the state carries, detail lines logged under the page's key
 * (a retried page overwrites its own lines).
 */
export async function runPage(
  state: z.infer<typeof PageState>,
  performanceId: string,
  pageSize: number,
  bookPage: (orderIds: string[]) => Promise<(OrderBooking & { extraTallies?: Tallies })[]>,
): Promise<{ cursor: string | null; pages: number; done: boolean; tallies: Tallies; errors: ReportErrorEntry[]; moreErrors: number }> {
  const page = await new OrderRepository().orderIdsPage(performanceId, state.shard, state.cursor ?? null, pageSize);
  const bookings = await bookPage(page.orderIds);
  let tallies = state.tallies ?? {};
  const errors = [...(state.errors ?? [])];
  let moreErrors = state.moreErrors ?? 0;
  for (const b of bookings) {
    tallies = tallyBooking(tallies, b);
    if (b.extraTallies) tallies = mergeTallies(tallies, b.extraTallies);
    if (b.outcome === 'refused') {
      if (errors.length < MAX_CARRIED_ERRORS) errors.push({ code: 'OrderNotBooked', message: b.error ?? b.orderId, field: b.orderId });
      else moreErrors++;
    }
  }
  const pages = (state.pages ?? 0) + 1;
  const key = pageLogKey(state.shard, pages);
  await new RunRepository().log(state.runId, key, bookings.map(bookingLine));
  return { cursor: page.cursor, pages, done: page.done, tallies, errors, moreErrors };
}

export const ShardResult = z.object({ tallies: TalliesSchema.optional(), errors: z.array(ReportError).optional(), moreErrors: z.number().int().optional(), pages: z.number().int().optional() });

/** Sums the shards' tallies into the run report, records it and returns it. */
export async function finishPagedRun(args: {
  workflow: string;
  runId: string;
  startedAt: string;
  requestedBy: string;
  input: unknown;
  shardResults: z.infer<typeof ShardResult>[];
  extra?: Record<string, unknown>;
}): Promise<RunReport> {
  const outcomes = mergeTallies(...args.shardResults.map((s) => s.tallies ?? {}));
  const errors = args.shardResults.flatMap((s) => s.errors ?? []);
  const more = args.shardResults.reduce((n, s) => n + (s.moreErrors ?? 0), 0);
  if (more > 0) errors.push({ code: 'MoreErrors', message: `${more} more order(s) refused; see the run log (mass-refund report ${args.runId})` });
  const status = finishedStatus(errors);
  const report: RunReport = {
    runId: args.runId,
    workflow: args.workflow,
    status,
    startedAt: args.startedAt,
    finishedAt: new Date().toISOString(),
    requestedBy: args.requestedBy,
    input: args.input,
    outcomes: Object.fromEntries(Object.entries(outcomes).sort(([a], [b]) => a.localeCompare(b))),
    errors,
    pages: args.shardResults.reduce((n, s) => n + (s.pages ?? 0), 0),
    ...args.extra,
  };
  const runs = new RunRepository();
  await runs.log(args.runId, 'zz-summary', [
    `${args.workflow} ${args.runId} ${status === 'succeeded' ? 'finished' : `finished with ${errors.length} error(s)`}: ` +
      Object.entries(report.outcomes)
        .map(([k, v]) => `${k}=${v.count}${Object.keys(v.totals).length ? ` (${Object.entries(v.totals).map(([c, a]) => `${a} ${c}`).join(', ')})` : ''}`)
        .join('; '),
  ]);
  await runs.finish(args.runId, status, report);
  return report;
}
