import { describe, expect, it } from 'vitest';
import type { OrderBooking } from '../../lib/core/booking.ts';
import { MAX_CARRIED_ERRORS } from '../../lib/core/report.ts';
import { pagedRunReport, runSummaryLine, tallyPage, type PagedRun } from '../../lib/core/booking-report.ts';

const chf = (amount: number) => ({ amount, currency: 'CHF' });
const refused = (orderId: string): OrderBooking => ({ orderId, outcome: 'refused', error: `${orderId} changed 8 times`, tickets: [], skipped: [], refunds: [], attempts: 8 });
const booked: OrderBooking = {
  orderId: 'O-1',
  outcome: 'booked',
  kind: 'cancellation',
  cancellationId: 'O-1-C1',
  tickets: [{ id: 'T-1', price: chf(5000) }],
  skipped: [],
  refunds: [{ id: 'R-1', paymentId: 'P-1', method: 'card', amount: chf(5000), status: 'pending' }],
  refundTotal: chf(5000),
  attempts: 1,
};
const run = { workflow: 'CancelPerformance', runId: 'run-1', startedAt: '2026-11-29T10:00:00.000Z', requestedBy: 'ops', input: { performanceId: 'P1' } };

describe("a paged booking run's tallies", () => {
  it('adds each booking and its extra tallies to what the shard carried, and lists refused orders up to the cap', () => {
    // prepare
    const carried = { tallies: { orders_refused: { count: 1, totals: {} } }, errors: Array.from({ length: MAX_CARRIED_ERRORS - 1 }, (_, i) => ({ code: 'OrderNotBooked', message: 'x', field: `E-${i}` })), moreErrors: 2 };
    // act
    const page = tallyPage(carried, [{ ...booked, extraTallies: { tickets_skipped_cancelled: { count: 1, totals: { CHF: 100 } } } }, refused('O-2'), refused('O-3')]);
    // assess
    expect(page.tallies['orders_cancelled']).toEqual({ count: 1, totals: { CHF: 5000 } });
    expect(page.tallies['tickets_skipped_cancelled']).toEqual({ count: 1, totals: { CHF: 100 } });
    expect(page.tallies['orders_refused']).toEqual({ count: 3, totals: {} });
    expect(page.errors).toHaveLength(MAX_CARRIED_ERRORS);
    expect(page.errors.at(-1)).toEqual({ code: 'OrderNotBooked', message: 'O-2 changed 8 times', field: 'O-2' });
    expect(page.moreErrors).toBe(3);
    expect(carried.errors).toHaveLength(MAX_CARRIED_ERRORS - 1);
  });
});

describe("a paged booking run's report", () => {
  it('sums the shards, sorts the outcomes, counts the refused orders past the cap and says so in its summary line', () => {
    // prepare
    const shardResults: PagedRun['shardResults'] = [
      { tallies: { tickets_cancelled: { count: 2, totals: { CHF: 8000 } } }, pages: 2 },
      { tallies: { orders_refused: { count: 1, totals: {} } }, errors: [{ code: 'OrderNotBooked', message: 'm', field: 'O-2' }], moreErrors: 4, pages: 1 },
    ];
    // act
    const report = pagedRunReport({ ...run, shardResults, extra: { performanceId: 'P1' } }, '2026-11-29T10:05:00.000Z');
    // assess
    expect(report).toEqual({
      ...run,
      status: 'completed_with_errors',
      finishedAt: '2026-11-29T10:05:00.000Z',
      outcomes: { orders_refused: { count: 1, totals: {} }, tickets_cancelled: { count: 2, totals: { CHF: 8000 } } },
      errors: [
        { code: 'OrderNotBooked', message: 'm', field: 'O-2' },
        { code: 'MoreErrors', message: '4 more order(s) refused; see the run log (mass-refund report run-1)' },
      ],
      pages: 3,
      performanceId: 'P1',
    });
    expect(runSummaryLine(report)).toBe('CancelPerformance run-1 finished with 2 error(s): orders_refused=1; tickets_cancelled=2 (8000 CHF)');
  });

  it('of a run without errors succeeds and its summary line says finished', () => {
    // act
    const report = pagedRunReport({ ...run, shardResults: [{}] }, '2026-11-29T10:05:00.000Z');
    // assess
    expect(report.status).toBe('succeeded');
    expect(report.pages).toBe(0);
    expect(runSummaryLine(report)).toBe('CancelPerformance run-1 finished: ');
  });
});
