import type { StoredOrder } from '../../adapters/dynamodb/orders.ts';
import { planExchange, ticketsLeftAlone } from '../../core/exchange.ts';
import type { PaymentMethod } from '../../core/model.ts';
import { bookShardPage, type ShardPageState } from './page.ts';
import type { PagePorts } from './ports.ts';

/** PartialRefund's input, as far as booking a page goes (functions/partial-refund/validate.ts parses it). */
export interface PartialRefundRequest {
  performanceId: string;
  percent: unknown;
  salesChannel: string;
  pointOfSale: string;
  requestedBy: string;
  allocationOrder?: readonly PaymentMethod[] | undefined;
}

/**
 * One page of a performance shard exchanged: every valid or controlled ticket of each order for
 * one at the reduced price (a group order in parts); what the exchange left alone is counted on
 * the order's last read.
 */
export async function partialRefundPage<S extends ShardPageState & { input: PartialRefundRequest; percentHundredths: number }>(ports: PagePorts, state: S, pageSize: number) {
  const { input, runId, percentHundredths } = state;
  const at = new Date().toISOString();
  const booking = { salesChannel: input.salesChannel, pointOfSale: input.pointOfSale };
  const result = await bookShardPage(ports, state, input.performanceId, pageSize, async (orderIds) => {
    // The last read of each order (a conflict re-reads it): what the exchange left alone is counted on it.
    const lastRead = new Map<string, StoredOrder>();
    const bookings = await ports.bookOrders(
      orderIds,
      (stored) => {
        lastRead.set(stored.order.id, stored);
        const plan = planExchange(stored.order, input.performanceId, percentHundredths, booking, input.allocationOrder ? { order: input.allocationOrder } : undefined);
        return { kind: 'exchange', plan };
      },
      { runId, at, requestedBy: input.requestedBy, note: `partial refund ${String(input.percent)} %`, ...booking },
      ports.bookingOptions,
    );
    ports.crash('partialRefund.afterBookings');
    return bookings.map((b) => {
      const last = lastRead.get(b.orderId);
      return { ...b, extraTallies: last ? ticketsLeftAlone(last.order, input.performanceId, runId) : {} };
    });
  });
  ports.crash('partialRefund.afterPage');
  return { ...state, ...result };
}
