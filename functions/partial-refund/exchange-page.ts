import * as z from 'zod';
import { partialRefundPage } from '../../lib/services/bookings/partial-refund.ts';
import { DEFAULT_PAGE_SIZE, PageState, pagePorts } from '../commons/bookings.ts';
import { stage } from '../commons/handler.ts';
import { CallFields, pageCall, shardItem } from '../commons/paging.ts';
import { PartialRefundInput } from './validate.ts';

const Input = z.preprocess((raw) => shardItem(raw), PageState.extend({ input: PartialRefundInput, percentHundredths: z.number().int().min(1).max(9999), ...CallFields.shape }));

/** 3. Pages of one shard (several a call): every valid or controlled ticket of each order exchanged for one at the reduced price (a group order in parts). */
export const handler = stage(Input, async (first, ctx) => {
  const ports = pagePorts();
  return pageCall(first, ctx, (state) => partialRefundPage(ports, state, state.input.pageSize ?? DEFAULT_PAGE_SIZE));
});
