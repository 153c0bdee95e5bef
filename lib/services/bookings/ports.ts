import type { BookingContext, BookOrderOptions, BookOrdersOptions, OrderPlan } from '../../adapters/dynamodb/cancellations.ts';
import type { StoredOrder } from '../../adapters/dynamodb/orders.ts';
import type { OrderBooking } from '../../core/booking.ts';
import type { RunPorts } from '../runs/ports.ts';

/**
 * What the booking workflows use of the store, built by the handler (lib/adapters/dynamodb) and
 * passed in: the services stay free of AWS and can be tested with fakes.
 */

export type PlanFor = (stored: StoredOrder) => OrderPlan | undefined;

export interface PagePorts {
  /** The order ids of a performance shard after the cursor. */
  orderIdsPage(performanceId: string, shard: number, after: string | null, limit: number): Promise<{ orderIds: string[]; cursor: string | null; done: boolean }>;
  bookOrders(orderIds: readonly string[], planFor: PlanFor, ctx: BookingContext, opts?: BookOrdersOptions): Promise<OrderBooking[]>;
  runs: Pick<RunPorts, 'log'>;
  /** How a page books its orders (reads and writes at once, crash points). */
  bookingOptions: BookOrdersOptions;
  /** A named crash point (chaos and restart tests); does nothing unless they set it. */
  crash(point: string): void;
}

export interface OrderPorts {
  bookOrder(orderId: string, planFor: PlanFor, ctx: BookingContext, opts?: BookOrderOptions): Promise<OrderBooking>;
  runs: RunPorts;
  bookingOptions: BookOrderOptions;
  crash(point: string): void;
}
