import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intermediateAccounts } from '../../lib/adapters/dynamodb/accounts.ts';
import { OrderRepository } from '../../lib/adapters/dynamodb/orders.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import type { RunReport } from '../../lib/core/report.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { cancellationDataset, importDataset, refundsOf } from '../support/cancellation-data.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
  await importDataset(cancellationDataset('k-'));
});
afterAll(async () => rt?.stop());

// A rejected input ends with the readable `field: reason` text alone as the Cause.
const errorMessage = (cause: string | undefined) => cause ?? '';
const boxOffice = { reason: 'customer cannot come', requestedBy: 'cashier-3', salesChannel: 'box_office', pointOfSale: 'Kasse Stadion' };

describe('CancelTickets through the synthesized state machine', () => {
  it('cancels one ticket of an order at the box office: pending refund capped to that ticket, booked on the given channel', async () => {
    // act
    const result = await rt.start('CancelTickets', { orderId: 'k-O1', ticketIds: ['k-T2'], ...boxOffice }, 'ct-1');
    // assess
    expect(result.status).toBe('SUCCEEDED');
    const report = result.output as RunReport;
    expect(report.outcomes).toEqual({
      tickets_cancelled: { count: 1, totals: { CHF: 8000 } },
      orders_cancelled: { count: 1, totals: { CHF: 8000 } },
      pending_refunds: { count: 1, totals: { CHF: 8000 } },
    });
    const o1 = await new OrderRepository().get('k-O1');
    expect(o1?.order.tickets.map((t) => t.state)).toEqual(['valid', 'cancelled']);
    expect(o1?.cancellations[0]).toMatchObject({ id: 'k-O1-C1', salesChannel: 'box_office', pointOfSale: 'Kasse Stadion', runId: 'ct-1' });
    expect(await refundsOf('k-O1')).toMatchObject([{ id: 'k-O1-C1-PAY1', amount: { amount: 8000, currency: 'CHF' }, status: 'pending', reason: 'cancellation' }]);
  });

  it('a second cancellation of the same order gets the next number and the fees when asked', async () => {
    const result = await rt.start('CancelTickets', { orderId: 'k-O1', ticketIds: ['k-T1'], refundFees: true, ...boxOffice }, 'ct-2');
    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as RunReport).outcomes.pending_refunds).toEqual({ count: 1, totals: { CHF: 10300 } });
    const o1 = await new OrderRepository().get('k-O1');
    expect(o1?.header).toMatchObject({ version: 2, cancellationCount: 2, feesRefunded: true });
    expect(o1?.order.payments[0]?.refunded.amount).toBe(18300);
  });

  it('returns unsettled agency money to its account', async () => {
    const result = await rt.start('CancelTickets', { orderId: 'k-O3', ticketIds: ['k-T5'], ...boxOffice }, 'ct-3');
    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as RunReport).outcomes.returned_to_account).toEqual({ count: 1, totals: { CHF: 6000 } });
    expect((await intermediateAccounts()).find((a) => a.agencyId === 'k-AG1')?.openItems).toEqual([{ amount: 6000, currency: 'CHF' }]);
  });

  it('refuses an unknown order, a ticket not in the order and a ticket already cancelled, writing nothing', async () => {
    const unknown = await rt.start('CancelTickets', { orderId: 'k-O404', ticketIds: ['k-T1'], ...boxOffice }, 'ct-bad-1');
    const wrong = await rt.start('CancelTickets', { orderId: 'k-O2', ticketIds: ['k-T3', 'k-T9', 'k-T1'], ...boxOffice }, 'ct-bad-2');
    const missing = await rt.start('CancelTickets', { orderId: 'k-O2', ticketIds: [], reason: 'x', requestedBy: 'op' }, 'ct-bad-3');
    expect(unknown).toMatchObject({ status: 'FAILED', error: 'NotFoundError' });
    expect(errorMessage(unknown.cause)).toBe('orderId: no order "k-O404"');
    expect(wrong).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    expect(errorMessage(wrong.cause)).toContain('ticketIds[1]: ticket "k-T9" is not in order "k-O2"');
    expect(errorMessage(wrong.cause)).toContain('ticketIds[2]: ticket "k-T1" is not in order "k-O2"');
    const already = await rt.start('CancelTickets', { orderId: 'k-O5', ticketIds: ['k-T8'], ...boxOffice }, 'ct-bad-4');
    expect(errorMessage(already.cause)).toContain('ticketIds[0]: ticket "k-T8" is already cancelled');
    expect(missing).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    expect(errorMessage(missing.cause)).toContain('ticketIds: must name at least one ticket');
    expect(errorMessage(missing.cause)).toContain('salesChannel: is required');
    for (const name of ['ct-bad-1', 'ct-bad-2', 'ct-bad-3', 'ct-bad-4']) expect(await new RunRepository().get(name)).toBeUndefined();
    expect((await new OrderRepository().get('k-O2'))?.header.version).toBe(0);
  });
});
