import { describe, expect, it } from 'vitest';
import { bookingLine, tallyBooking, type OrderBooking } from '../../lib/core/booking.ts';

const chf = (amount: number) => ({ amount, currency: 'CHF' });
const booked: OrderBooking = {
  orderId: 'O-1',
  outcome: 'booked',
  kind: 'cancellation',
  cancellationId: 'C-1',
  tickets: [
    { id: 'T-1', price: chf(5000) },
    { id: 'T-2', price: chf(3000) },
  ],
  skipped: [{ ticketId: 'T-3', reason: 'already_cancelled' }],
  refunds: [
    { id: 'R-1', paymentId: 'P-1', method: 'card', amount: chf(6000), status: 'pending' },
    { id: 'R-2', paymentId: 'P-2', method: 'intermediate_account', amount: chf(2000), status: 'returned_to_account' },
  ],
  refundTotal: chf(8000),
  attempts: 1,
};

describe("an order's booking in the report", () => {
  it('tallies tickets, the order, and each refund by where the money goes', () => {
    // act
    const t = tallyBooking({}, booked);
    // assess
    expect(t).toEqual({
      tickets_cancelled: { count: 2, totals: { CHF: 8000 } },
      orders_cancelled: { count: 1, totals: { CHF: 8000 } },
      pending_refunds: { count: 1, totals: { CHF: 6000 } },
      returned_to_account: { count: 1, totals: { CHF: 2000 } },
      tickets_skipped_already_cancelled: { count: 1, totals: {} },
    });
  });

  it('counts a refused order and says why in its log line, with ids and amounts only', () => {
    // prepare
    const refused: OrderBooking = { orderId: 'O-2', outcome: 'refused', error: 'order changed 8 times', tickets: [], skipped: [], refunds: [], attempts: 8 };
    // act / assess
    expect(tallyBooking({}, refused)).toEqual({ orders_refused: { count: 1, totals: {} } });
    expect(bookingLine(refused)).toBe('O-2 NOT BOOKED: order changed 8 times');
    expect(bookingLine(booked)).toBe('O-1 C-1: cancelled T-1 5000 CHF, T-2 3000 CHF; refund 8000 CHF: R-1 card 6000 CHF pending, R-2 intermediate_account 2000 CHF returned_to_account');
  });
});
