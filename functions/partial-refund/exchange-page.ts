import * as z from 'zod';
import { bookOrders } from '../../lib/adapters/dynamodb/cancellations.ts';
import type { StoredOrder } from '../../lib/adapters/dynamodb/orders.ts';
import { planExchange } from '../../lib/core/exchange.ts';
import { tally, type Tallies } from '../../lib/core/report.ts';
import { bookingOptions, DEFAULT_PAGE_SIZE, PageState, runPage } from '../commons/bookings.ts';
import { crashPoint } from '../commons/chaos.ts';
import { stage } from '../commons/handler.ts';
import { CallFields, pageCall, shardItem } from '../commons/paging.ts';
import { PartialRefundInput } from './validate.ts';

const Input = z.preprocess((raw) => shardItem(raw), PageState.extend({ input: PartialRefundInput, percentHundredths: z.number().int().min(1).max(9999), ...CallFields.shape }));

/** Tickets of the performance the exchange leaves alone: cancelled before, or exchanged by another run. */
function leftAlone(stored: StoredOrder, performanceId: string, runId: string): Tallies {
  let t: Tallies = {};
  for (const ticket of stored.order.tickets) {
    if (ticket.performanceId !== performanceId || ticket.state !== 'cancelled') continue;
    const byRun = (ticket as { cancelledByRun?: string }).cancelledByRun;
    if (ticket.replacedByTicketId) {
      if (byRun !== runId) t = tally(t, 'tickets_skipped_already_exchanged', ticket.price);
    } else t = tally(t, 'tickets_skipped_cancelled', ticket.price);
  }
  return t;
}

/** 3. Pages of one shard (several a call): every valid or controlled ticket of each order exchanged for one at the reduced price (a group order in parts). */
export const handler = stage(Input, async (first, ctx) => pageCall(first, ctx, exchangePage));

async function exchangePage(state: z.infer<typeof Input>) {
  const { input, runId, percentHundredths } = state;
  const at = new Date().toISOString();
  const booking = { salesChannel: input.salesChannel, pointOfSale: input.pointOfSale };
  const result = await runPage(state, input.performanceId, input.pageSize ?? DEFAULT_PAGE_SIZE, async (orderIds) => {
    // The last read of each order (a conflict re-reads it): what the exchange left alone is counted on it.
    const lastRead = new Map<string, StoredOrder>();
    const bookings = await bookOrders(
      orderIds,
      (stored) => {
        lastRead.set(stored.order.id, stored);
        const plan = planExchange(stored.order, input.performanceId, percentHundredths, booking, input.allocationOrder ? { order: input.allocationOrder } : undefined);
        return { kind: 'exchange', plan };
      },
      { runId, at, requestedBy: input.requestedBy, note: `partial refund ${String(input.percent)} %`, ...booking },
      bookingOptions(),
    );
    crashPoint('partialRefund.afterBookings');
    return bookings.map((b) => {
      const last = lastRead.get(b.orderId);
      return { ...b, extraTallies: last ? leftAlone(last, input.performanceId, runId) : {} };
    });
  });
  crashPoint('partialRefund.afterPage');
  return { ...state, ...result };
}
