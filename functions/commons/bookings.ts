import * as z from 'zod';
import { bookOrder, bookOrders, type BookOrdersOptions } from '../../lib/adapters/dynamodb/cancellations.ts';
import { OrderRepository } from '../../lib/adapters/dynamodb/orders.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { PAYMENT_METHODS } from '../../lib/core/model.ts';
import { ReportErrorSchema, TalliesSchema } from '../../lib/core/report.ts';
import type { OrderPorts, PagePorts } from '../../lib/services/bookings/ports.ts';
import { crashPoint } from './chaos.ts';
import { envInt } from './env.ts';

/** What the cancellation workflows share: input pieces, the shards' state, the ports their services use. */


export const AllocationOrder = z
  .array(z.enum(PAYMENT_METHODS))
  .min(1, 'must list at least one payment method or be omitted')
  .refine((list) => new Set(list).size === list.length, 'must not list a method twice')
  .optional();


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

/** The store as a page of a performance shard uses it (lib/services/bookings). */
export function pagePorts(): PagePorts {
  const orders = new OrderRepository();
  return {
    orderIdsPage: (performanceId, shard, after, limit) => orders.orderIdsPage(performanceId, shard, after, limit),
    bookOrders,
    runs: new RunRepository(),
    bookingOptions: bookingOptions(),
    crash: crashPoint,
  };
}

/** The store as a one-order booking uses it (CancelTickets). */
export function orderPorts(): OrderPorts {
  return { bookOrder, runs: new RunRepository(), bookingOptions: bookingCrashPoints(), crash: crashPoint };
}

export const PageState = z.object({
  runId: z.string(),
  shard: z.number().int().min(0),
  cursor: z.string().nullish(),
  pages: z.number().int().min(0).optional(),
  tallies: TalliesSchema.optional(),
  errors: z.array(ReportErrorSchema).optional(),
  moreErrors: z.number().int().optional(),
});

export const ShardResult = z.object({ tallies: TalliesSchema.optional(), errors: z.array(ReportErrorSchema).optional(), moreErrors: z.number().int().optional(), pages: z.number().int().optional() });
