import * as z from 'zod';
import { cancelPerformancePage } from '../../lib/services/bookings/cancel-performance.ts';
import { DEFAULT_PAGE_SIZE, PageState, pagePorts } from '../commons/bookings.ts';
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
export const handler = stage(Input, async (first, ctx) => {
  const ports = pagePorts();
  return pageCall(first, ctx, (state) => cancelPerformancePage(ports, state, state.input.pageSize ?? DEFAULT_PAGE_SIZE));
});
