import * as z from 'zod';
import { bookOrders } from '../../lib/adapters/dynamodb/cancellations.ts';
import { planCancellation, selectTickets } from '../../lib/core/cancellation.ts';
import { crashPoint } from '../commons/chaos.ts';
import { bookingOptions, DEFAULT_PAGE_SIZE, PageState, runPage } from '../commons/bookings.ts';
import { stage } from '../commons/handler.ts';
import { CallFields, pageCall, shardItem } from '../commons/paging.ts';
import { CancelPerformanceInput } from './validate.ts';

const Input = z.preprocess((raw) => shardItem(raw), PageState.extend({ input: CancelPerformanceInput, ...CallFields.shape }));

/**
 * 3. Pages of one shard (one call takes several, functions/commons/paging.ts): each order of a page
 * is read and planned with the filters; the orders' bookings are written packed several to a
 * transaction (each order keeps its conditions), a group order in parts. An order that cannot be
 * booked is listed under the run's errors. Returns the cursor and the tallies so far; the state
 * machine loops.
 */
export const handler = stage(Input, async (first, ctx) => pageCall(first, ctx, cancelPage));

async function cancelPage(state: z.infer<typeof Input>) {
  const { input, runId } = state;
  const at = new Date().toISOString();
  const result = await runPage(state, input.performanceId, input.pageSize ?? DEFAULT_PAGE_SIZE, async (orderIds) => {
    const bookings = await bookOrders(
      orderIds,
      ({ order }) => {
        const ticketIds = selectTickets(order, input).map((t) => t.id);
        if (ticketIds.length === 0) return undefined;
        return {
          kind: 'cancellation',
          plan: planCancellation(order, {
            ticketIds,
            refundFees: input.refundFees ?? false,
            reason: 'cancellation',
            ...(input.allocationOrder ? { allocation: { order: input.allocationOrder } } : {}),
          }),
        };
      },
      {
        runId,
        at,
        requestedBy: input.requestedBy,
        note: input.reason,
        ...(input.salesChannel ? { salesChannel: input.salesChannel } : {}),
        ...(input.pointOfSale ? { pointOfSale: input.pointOfSale } : {}),
        notifyCustomers: input.notifyCustomers,
      },
      bookingOptions(),
    );
    crashPoint('cancel.afterBookings');
    return bookings;
  });
  crashPoint('cancel.afterPage');
  return { ...state, ...result };
}
