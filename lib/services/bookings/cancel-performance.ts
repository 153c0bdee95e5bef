import { operatorCancellation, planCancellation, selectTickets, type TicketFilter } from '../../core/cancellation.ts';
import type { PaymentMethod } from '../../core/model.ts';
import { bookShardPage, type ShardPageState } from './page.ts';
import type { PagePorts } from './ports.ts';

/** CancelPerformance's input, as far as booking a page goes (functions/cancel-performance/validate.ts parses it). */
export interface CancelPerformanceRequest extends TicketFilter {
  reason: string;
  requestedBy: string;
  notifyCustomers: boolean;
  refundFees?: boolean | undefined;
  allocationOrder?: readonly PaymentMethod[] | undefined;
  salesChannel?: string | undefined;
  pointOfSale?: string | undefined;
}

/**
 * One page of a performance shard cancelled: each order read and planned with the filters (an
 * order with no selected ticket has nothing to do), the bookings written packed several to a
 * transaction, a group order in parts.
 */
export async function cancelPerformancePage<S extends ShardPageState & { input: CancelPerformanceRequest }>(ports: PagePorts, state: S, pageSize: number) {
  const { input, runId } = state;
  const at = new Date().toISOString();
  const planFor: Parameters<PagePorts['bookOrders']>[1] = ({ order }) => {
    const ticketIds = selectTickets(order, input).map((t) => t.id);
    if (ticketIds.length === 0) return undefined;
    return { kind: 'cancellation', plan: planCancellation(order, operatorCancellation(ticketIds, input)) };
  };
  const ctx = {
    runId,
    at,
    requestedBy: input.requestedBy,
    note: input.reason,
    ...(input.salesChannel ? { salesChannel: input.salesChannel } : {}),
    ...(input.pointOfSale ? { pointOfSale: input.pointOfSale } : {}),
    notifyCustomers: input.notifyCustomers,
  };
  const result = await bookShardPage(ports, state, input.performanceId, pageSize, async (orderIds) => {
    const bookings = await ports.bookOrders(orderIds, planFor, ctx, ports.bookingOptions);
    ports.crash('cancel.afterBookings');
    return bookings;
  });
  ports.crash('cancel.afterPage');
  return { ...state, ...result };
}
