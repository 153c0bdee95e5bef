import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intermediateAccounts } from '../../lib/adapters/dynamodb/accounts.ts';
import { OrderRepository, type StoredOrder } from '../../lib/adapters/dynamodb/orders.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { planCancellation, selectTickets } from '../../lib/core/cancellation.ts';
import type { RunReport } from '../../lib/core/report.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { importDataset, refundsOf } from '../support/cancellation-data.ts';
import { groupOrderDataset } from '../support/group-orders.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

const order = async (id: string) => (await new OrderRepository().get(id)) as StoredOrder;
const logOf = async (runId: string) => {
  const lines: string[] = [];
  for await (const line of new RunRepository().logLines(runId)) lines.push(line);
  return lines;
};

describe('group orders through the synthesized state machines', () => {
  it('CancelPerformance books a 240-ticket card + voucher order and a 130-ticket unsettled agency order in parts, exactly as the plan of a small order says', async () => {
    // prepare
    const p = 'g1-';
    await importDataset(groupOrderDataset(p, { orders: ['CARD240', 'AGENCY130'], small: 5 }));
    const before = await Promise.all([order(`${p}CARD240`), order(`${p}AGENCY130`)]);
    const plans = before.map((s) => planCancellation(s.order, { ticketIds: selectTickets(s.order, { performanceId: `${p}P1` }).map((t) => t.id), refundFees: false, reason: 'cancellation' }));
    // act
    const result = await rt.start('CancelPerformance', { performanceId: `${p}P1`, reason: 'storm', requestedBy: 'op' }, 'go-cp-1');
    // assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const report = result.output as RunReport;
    expect(report).toMatchObject({ status: 'succeeded', errors: [] });
    expect(report.outcomes).toMatchObject({
      tickets_cancelled: { count: 238 + 130 + 5 },
      orders_cancelled: { count: 2 + 5 },
      tickets_skipped_already_cancelled: { count: 2 },
      returned_to_account: { count: 1, totals: { CHF: 948_750 } },
    });
    // Card first (refundable to source), capped by what it captured, the rest on the voucher.
    expect((await refundsOf(`${p}CARD240`)).map((r) => [r.id, r.method, r.amount.amount, r.status])).toEqual([
      [`${p}CARD240-C1-PAY1`, 'voucher', 1_736_750 - 1_660_000, 'pending'],
      [`${p}CARD240-C1-PAY2`, 'card', 1_660_000, 'pending'],
    ]);
    expect((await refundsOf(`${p}AGENCY130`)).map((r) => [r.method, r.amount.amount, r.status])).toEqual([['intermediate_account', 948_750, 'returned_to_account']]);
    expect((await intermediateAccounts()).find((a) => a.agencyId === `${p}AG1`)?.openItems).toEqual([{ amount: 0, currency: 'CHF' }]);
    // The same allocation the one-transaction plan makes.
    for (const [i, plan] of plans.entries()) {
      const refunds = await refundsOf(plan.orderId);
      expect(refunds.map((r) => [r.paymentId, r.amount])).toEqual(plan.allocations.map((a) => [a.paymentId, a.amount]).sort());
    }
    for (const id of [`${p}CARD240`, `${p}AGENCY130`]) {
      const after = await order(id);
      expect(after.header).toMatchObject({ version: 1, cancellationCount: 1 });
      expect(after.header.booking ?? undefined).toBeUndefined();
      expect(after.cancellations).toHaveLength(1);
      expect(after.cancellations[0]).toMatchObject({ runId: 'go-cp-1', status: 'booked' });
      expect(after.parts.every((part) => part.done === true)).toBe(true);
      expect(after.order.tickets.every((t) => t.state === 'cancelled')).toBe(true);
      expect(after.order.payments.every((pay) => pay.refunded.amount <= pay.amount.amount)).toBe(true);
    }
    expect((await order(`${p}CARD240`)).parts).toHaveLength(4); // 3 ticket parts (98 + 98 + 42 and the 2 skipped), 1 money part
    const log = await logOf('go-cp-1');
    expect(log.find((l) => l.startsWith(`${p}CARD240 `))).toMatch(/in 5 transactions/);
  });
});
