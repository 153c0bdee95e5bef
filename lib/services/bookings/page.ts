import { bookingLine, type OrderBooking } from '../../core/booking.ts';
import { tallyPage, type PageTallies } from '../../core/booking-report.ts';
import type { Tallies } from '../../core/report.ts';
import { pageLogKey } from '../../core/run-log.ts';
import type { PagePorts } from './ports.ts';

/** A performance shard's state between pages. */
export interface ShardPageState extends Partial<PageTallies> {
  runId: string;
  shard: number;
  cursor?: string | null | undefined;
  pages?: number | undefined;
}

export interface ShardPageResult extends PageTallies {
  cursor: string | null;
  pages: number;
  done: boolean;
}

/**
 * One page of a performance shard: the order ids after the cursor, booked by `bookPage`,
 * tallies and errors added to what the state carries, detail lines logged under the page's key
 * (a retried page overwrites its own lines).
 */
export async function bookShardPage(
  ports: Pick<PagePorts, 'orderIdsPage' | 'runs'>,
  state: ShardPageState,
  performanceId: string,
  pageSize: number,
  bookPage: (orderIds: string[]) => Promise<(OrderBooking & { extraTallies?: Tallies })[]>,
): Promise<ShardPageResult> {
  const page = await ports.orderIdsPage(performanceId, state.shard, state.cursor ?? null, pageSize);
  const bookings = await bookPage(page.orderIds);
  const { tallies, errors, moreErrors } = tallyPage(state, bookings);
  const pages = (state.pages ?? 0) + 1;
  await ports.runs.log(state.runId, pageLogKey(state.shard, pages), bookings.map(bookingLine));
  return { cursor: page.cursor, pages, done: page.done, tallies, errors, moreErrors };
}
