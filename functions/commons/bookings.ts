import * as z from 'zod';
import type { BookOrdersOptions } from '../../lib/adapters/dynamodb/cancellations.ts';
import { bookingLine, tallyBooking, type OrderBooking } from '../../lib/core/booking.ts';
import { OrderRepository } from '../../lib/adapters/dynamodb/orders.ts';
import { pageLogKey, RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { crashPoint } from './chaos.ts';
import { PAYMENT_METHODS } from '../../lib/core/model.ts';
import { finishedStatus, mergeTallies, TalliesSchema, type RunReport, type Tallies } from '../../lib/core/report.ts';

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
