import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { lambdaErrorMessage } from '../../lib/core/errors.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intermediateAccounts } from '../../lib/adapters/dynamodb/accounts.ts';
import { documentClient } from '../../lib/adapters/dynamodb/client.ts';
import { OrderRepository, orderPk, type StoredOrder } from '../../lib/adapters/dynamodb/orders.ts';
import { partialRefundMark } from '../../lib/adapters/dynamodb/partial-refunds.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { importText } from '../../lib/cli/import.ts';
import { outcomeOf } from '../../lib/cli/executions.ts';
import { planCancellation, selectTickets } from '../../lib/core/cancellation.ts';
import { percentOf } from '../../lib/core/money.ts';
import type { RunReport } from '../../lib/core/report.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { importDataset, refundsOf, stateOf } from '../support/cancellation-data.ts';
import { groupOrderDataset } from '../support/group-orders.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

const order = async (id: string) => (await new OrderRepository().get(id)) as StoredOrder;
// A rejected input's cause is the readable text; other failures carry Lambda's JSON cause.
const errorMessage = (cause: string | undefined) => lambdaErrorMessage(cause);
const boxOffice = { reason: 'group cannot travel', requestedBy: 'cashier-1', salesChannel: 'box_office', pointOfSale: 'Kasse Stadion' };
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

/**
 * Runs a workflow with MASS_REFUND_CHAOS set to `chaos` (crash points) in the stages' environment,
 * one container per stage so a point's passes count over the whole run, then clears it.
 */
async function withChaos<T>(chaos: Record<string, number>, run: () => Promise<T>): Promise<T> {
  await rt.configure({ environment: { MASS_REFUND_CHAOS: JSON.stringify(chaos) }, maxContainers: 1 });
  try {
    return await run();
  } finally {
    await rt.configure({ environment: { MASS_REFUND_CHAOS: undefined }, maxContainers: 4 });
  }
}

/** For every order of the copy: either a booking in parts still holds it and none of its money moved, or it is booked whole. */
async function neverHalfVisible(ids: string[]): Promise<{ held: number }> {
  let held = 0;
  for (const id of ids) {
    const stored = await order(id);
    const refunds = await refundsOf(id);
    if (stored.header.booking) {
      held++;
      expect(refunds, `${id} has refunds while its booking is open`).toEqual([]);
      expect(stored.order.payments.every((pay) => pay.refunded.amount === 0)).toBe(true);
    } else if (stored.cancellations.length > 0) {
      expect(stored.order.tickets.every((t) => t.state === 'cancelled')).toBe(true);
      expect(refunds.length).toBeGreaterThan(0);
    }
  }
  return { held };
}

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
    for (const plan of plans) {
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

  it('imports a 2,000-ticket order with 20 payments whole, and a second import of the same file changes nothing', async () => {
    // prepare
    const text = groupOrderDataset('imp-', { orders: ['BIG2000'] });
    // act
    const first = await importText(text);
    const second = await importText(text);
    // assess
    expect(first).toMatchObject({ ok: true, written: { order: 1 } });
    expect(second).toMatchObject({ ok: true, unchanged: first.records });
    const stored = await order('imp-BIG2000');
    expect(stored.order.tickets).toHaveLength(2000);
    expect(stored.order.payments).toHaveLength(20);
  });

  it('CancelPerformance cancels a 2,000-ticket order with 20 payments: cards and Amazon Pay first, each payment capped, fees once, one record', async () => {
    // prepare
    const p = 'g2-';
    await importDataset(groupOrderDataset(p, { orders: ['BIG2000'], small: 3 }));
    const before = await order(`${p}BIG2000`);
    const plan = planCancellation(before.order, { ticketIds: before.order.tickets.map((t) => t.id), refundFees: true, reason: 'cancellation' });
    // act
    const result = await rt.start('CancelPerformance', { performanceId: `${p}P1`, reason: 'stadium closed', requestedBy: 'op', refundFees: true }, 'go-cp-big');
    // assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const report = result.output as RunReport;
    expect(report).toMatchObject({ status: 'succeeded', errors: [] });
    expect(report.outcomes.tickets_cancelled?.count).toBe(1980 + 3);
    expect(report.outcomes.tickets_skipped_already_cancelled?.count).toBe(20);
    expect(report.outcomes.fees_refunded).toEqual({ count: 1, totals: { CHF: 200_000 } });
    const refunds = await refundsOf(`${p}BIG2000`);
    expect(sum(refunds.map((r) => r.amount.amount))).toBe(plan.refundTotal.amount);
    expect(plan.refundTotal.amount).toBe(plan.ticketValue.amount + 200_000);
    expect(refunds.map((r) => [r.paymentId, r.amount.amount]).sort()).toEqual(plan.allocations.map((a) => [a.paymentId, a.amount.amount]).sort());
    // Every card and Amazon Pay payment is drawn to its capture before any other method is touched.
    const after = await order(`${p}BIG2000`);
    const toSource = after.order.payments.filter((pay) => pay.method === 'card' || pay.method === 'amazon_pay');
    expect(toSource.every((pay) => pay.refunded.amount === pay.amount.amount)).toBe(true);
    expect(after.order.payments.every((pay) => pay.refunded.amount <= pay.amount.amount)).toBe(true);
    expect(after.header).toMatchObject({ version: 1, cancellationCount: 1, feesRefunded: true });
    expect(after.cancellations).toHaveLength(1);
    expect(after.cancellations[0]).toMatchObject({ status: 'booked', ticketCount: 1980, skippedCount: 20, parts: 22 });
    expect(after.parts).toHaveLength(22);
    expect(after.order.tickets.every((t) => t.state === 'cancelled')).toBe(true);
  });

  it('CancelTickets cancels 200 tickets of a group order at the box office in parts, then the rest with the fees in one transaction', async () => {
    // prepare
    const p = 'g3-';
    await importDataset(groupOrderDataset(p, { orders: ['CARD240'] }));
    const before = await order(`${p}CARD240`);
    const valid = before.order.tickets.filter((t) => t.state !== 'cancelled');
    const first = valid.slice(0, 200);
    const rest = valid.slice(200);
    // act
    const one = await rt.start('CancelTickets', { orderId: `${p}CARD240`, ticketIds: first.map((t) => t.id), ...boxOffice }, 'go-ct-1');
    const two = await rt.start('CancelTickets', { orderId: `${p}CARD240`, ticketIds: rest.map((t) => t.id), refundFees: true, ...boxOffice }, 'go-ct-2');
    // assess
    expect(one.status, one.cause).toBe('SUCCEEDED');
    expect(two.status, two.cause).toBe('SUCCEEDED');
    const firstValue = sum(first.map((t) => t.price.amount));
    const restValue = sum(rest.map((t) => t.price.amount));
    expect((one.output as RunReport).outcomes).toEqual({
      tickets_cancelled: { count: 200, totals: { CHF: firstValue } },
      orders_cancelled: { count: 1, totals: { CHF: firstValue } },
      pending_refunds: { count: 1, totals: { CHF: firstValue } },
      orders_booked_in_parts: { count: 1, totals: {} },
    });
    expect((two.output as RunReport).outcomes.orders_booked_in_parts).toBeUndefined();
    expect((one.output as RunReport).cancellationId).toBe(`${p}CARD240-C1`);
    const refunds = await refundsOf(`${p}CARD240`);
    expect(refunds.map((r) => [r.id, r.method, r.amount.amount])).toEqual([
      [`${p}CARD240-C1-PAY2`, 'card', firstValue],
      [`${p}CARD240-C2-PAY1`, 'voucher', firstValue + restValue + 60_000 - 1_660_000],
      [`${p}CARD240-C2-PAY2`, 'card', 1_660_000 - firstValue],
    ]);
    const after = await order(`${p}CARD240`);
    expect(after.header).toMatchObject({ version: 2, cancellationCount: 2, feesRefunded: true });
    expect(after.cancellations.map((c) => [c.id, c.status ?? 'booked', c.salesChannel])).toEqual([
      [`${p}CARD240-C1`, 'booked', 'box_office'],
      [`${p}CARD240-C2`, 'booked', 'box_office'],
    ]);
    expect(after.cancellations[1]?.tickets).toHaveLength(38); // one transaction: the record lists its tickets
  });

  it('PartialRefund exchanges every ticket of a 160-ticket order in parts: scanned tickets stay scanned, price = new price + refund', async () => {
    // prepare
    const p = 'g4-';
    await importDataset(groupOrderDataset(p, { orders: ['PR160'] }));
    const before = await order(`${p}PR160`);
    // act
    const result = await rt.start('PartialRefund', { performanceId: `${p}P2`, percent: 60, salesChannel: 'back_office', pointOfSale: 'head_office', requestedBy: 'op' }, 'go-pr-1');
    // assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const report = result.output as RunReport;
    const refundOf = (amount: number) => percentOf(amount, 6000);
    const oldValue = sum(before.order.tickets.map((t) => t.price.amount));
    const refundValue = sum(before.order.tickets.map((t) => refundOf(t.price.amount)));
    expect(report).toMatchObject({ status: 'succeeded', errors: [] });
    expect(report.outcomes).toMatchObject({
      tickets_exchanged: { count: 160, totals: { CHF: oldValue } },
      replacement_tickets: { count: 160, totals: { CHF: oldValue - refundValue } },
      orders_exchanged: { count: 1, totals: { CHF: refundValue } },
      pending_refunds: { count: 1, totals: { CHF: refundValue } },
    });
    const after = await order(`${p}PR160`);
    const byId = new Map(after.order.tickets.map((t) => [t.id, t]));
    for (const old of before.order.tickets) {
      const replacement = byId.get(`${old.id}-X`);
      expect(byId.get(old.id)).toMatchObject({ state: 'cancelled', replacedByTicketId: `${old.id}-X` });
      expect(replacement).toMatchObject({ state: old.state, replacesTicketId: old.id, seatCategory: old.seatCategory, quota: old.quota });
      expect((replacement?.price.amount ?? 0) + refundOf(old.price.amount)).toBe(old.price.amount);
    }
    expect(await refundsOf(`${p}PR160`)).toMatchObject([{ id: `${p}PR160-C1-PAY1`, method: 'card', amount: { amount: refundValue }, reason: 'partial_refund', status: 'pending' }]);
    expect(after.parts).toHaveLength(5); // 160 exchanges, 49 a part (two writes each), then the money
    expect(await partialRefundMark(`${p}P2`)).toMatchObject({ runId: 'go-pr-1' });
  });

  it('a run crashed between the parts of a booking, then run again, ends exactly as an uninterrupted run; no money of a half-booked order is ever visible', async () => {
    // prepare: the reference copy, and one copy per crash point (after the claim, after a ticket part, after the last part)
    const dataset = (p: string) => groupOrderDataset(p, { orders: ['CARD240', 'AGENCY130'], small: 3 });
    const ids = (p: string) => [`${p}CARD240`, `${p}AGENCY130`, `${p}S1`, `${p}S2`, `${p}S3`];
    const input = (p: string) => ({ performanceId: `${p}P1`, reason: 'storm', requestedBy: 'op' });
    await importDataset(dataset('cr-ref-'));
    const reference = await rt.start('CancelPerformance', input('cr-ref-'), 'go-crash-ref');
    expect(reference.status).toBe('SUCCEEDED');
    const expected = await stateOf('cr-ref-');
    const crashes: [string, Record<string, number>][] = [
      ['cr-a-', { 'booking.afterClaim': 0 }],
      ['cr-b-', { 'booking.afterPart': 1 }],
      ['cr-c-', { 'booking.afterPart': 4 }],
      ['cr-d-', { 'booking.afterPart': 6 }],
    ];
    for (const [p, chaos] of crashes) {
      await importDataset(dataset(p));
      // act
      const crashed = await withChaos(chaos, () => rt.start('CancelPerformance', input(p), `go-crash-${p}`));
      const { held } = await neverHalfVisible(ids(p));
      const rerun = await rt.start('CancelPerformance', input(p), `go-rerun-${p}`);
      // assess
      expect(crashed, JSON.stringify(chaos)).toMatchObject({ status: 'FAILED', error: 'InjectedCrash' });
      if (!('booking.afterPart' in chaos && chaos['booking.afterPart'] === 6)) expect(held, JSON.stringify(chaos)).toBeGreaterThan(0);
      expect(rerun.status, rerun.cause).toBe('SUCCEEDED');
      expect(await stateOf(p)).toEqual(expected);
      const r = (rerun.output as RunReport).outcomes;
      expect((r.tickets_cancelled?.count ?? 0) + (r.tickets_skipped_already_cancelled?.count ?? 0)).toBe(238 + 130 + 3 + 2);
      if (held > 0) expect(r.bookings_finished_for_other_runs?.count).toBe(held);
    }
  });

  it('a box-office cancellation crashed half-way is finished by running it again', async () => {
    // prepare
    await importDataset(groupOrderDataset('ctr-ref-', { orders: ['CARD240'] }));
    await importDataset(groupOrderDataset('ctr-x-', { orders: ['CARD240'] }));
    const ticketIds = (p: string) => Array.from({ length: 150 }, (_, i) => `${p}CARD240-T${String(i + 80).padStart(4, '0')}`);
    const reference = await rt.start('CancelTickets', { orderId: 'ctr-ref-CARD240', ticketIds: ticketIds('ctr-ref-'), ...boxOffice }, 'go-ctr-ref');
    // act
    const crashed = await withChaos({ 'booking.afterPart': 1 }, () => rt.start('CancelTickets', { orderId: 'ctr-x-CARD240', ticketIds: ticketIds('ctr-x-'), ...boxOffice }, 'go-ctr-crashed'));
    const { held } = await neverHalfVisible(['ctr-x-CARD240']);
    const rerun = await rt.start('CancelTickets', { orderId: 'ctr-x-CARD240', ticketIds: ticketIds('ctr-x-'), ...boxOffice }, 'go-ctr-rerun');
    // assess
    expect(reference.status).toBe('SUCCEEDED');
    expect(crashed).toMatchObject({ status: 'FAILED', error: 'InjectedCrash' });
    expect(held).toBe(1);
    expect(rerun.status, errorMessage(rerun.cause)).toBe('SUCCEEDED');
    expect(rerun.output).toMatchObject({ status: 'succeeded', cancellationId: 'ctr-x-CARD240-C1', finishedForOtherRuns: [{ cancellationId: 'ctr-x-CARD240-C1', runId: 'go-ctr-crashed' }] });
    expect(await stateOf('ctr-x-')).toEqual(await stateOf('ctr-ref-'));
  });

  it('a partial refund crashed between the exchange parts of a group order is finished by the run that takes it over', async () => {
    // prepare
    const input = (p: string) => ({ performanceId: `${p}P2`, percent: '12.5', salesChannel: 'back_office', pointOfSale: 'head_office', requestedBy: 'op' });
    await importDataset(groupOrderDataset('prc-ref-', { orders: ['PR160'], small: 2 }));
    await importDataset(groupOrderDataset('prc-x-', { orders: ['PR160'], small: 2 }));
    const reference = await rt.start('PartialRefund', input('prc-ref-'), 'go-prc-ref');
    // act
    const crashed = await withChaos({ 'booking.afterPart': 2 }, () => rt.start('PartialRefund', input('prc-x-'), 'go-prc-crashed'));
    const { held } = await neverHalfVisible(['prc-x-PR160']);
    const rerun = await rt.start('PartialRefund', input('prc-x-'), 'go-prc-rerun');
    // assess
    expect(reference.status).toBe('SUCCEEDED');
    expect(crashed).toMatchObject({ status: 'FAILED', error: 'InjectedCrash' });
    expect(held).toBe(1);
    expect(rerun.output).toMatchObject({ status: 'succeeded', outcomes: { bookings_finished_for_other_runs: { count: 1 }, tickets_skipped_already_exchanged: { count: 160 } } });
    expect(await stateOf('prc-x-')).toEqual(await stateOf('prc-ref-'));
  });

  it('two runs started at once book every ticket of group and small orders once, one record per order, the refunds exact', async () => {
    // prepare
    const p = 'cc-';
    await importDataset(groupOrderDataset(p, { orders: ['CARD240', 'AGENCY130'], small: 20 }));
    const ids = [`${p}CARD240`, `${p}AGENCY130`, ...Array.from({ length: 20 }, (_, i) => `${p}S${i + 1}`)];
    const plans = new Map<string, number>();
    let validTickets = 0;
    for (const id of ids) {
      const o = (await order(id)).order;
      const plan = planCancellation(o, { ticketIds: o.tickets.map((t) => t.id), refundFees: false, reason: 'cancellation' });
      plans.set(id, plan.refundTotal.amount);
      validTickets += plan.cancel.length;
    }
    // act
    const [one, two] = await Promise.all([
      rt.start('CancelPerformance', { performanceId: `${p}P1`, reason: 'storm', requestedBy: 'op-a', pageSize: 3 }, 'go-cc-1'),
      rt.start('CancelPerformance', { performanceId: `${p}P1`, reason: 'storm', requestedBy: 'op-b', pageSize: 3 }, 'go-cc-2'),
    ]);
    // assess
    expect([one.status, two.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const a = (one.output as RunReport).outcomes;
    const b = (two.output as RunReport).outcomes;
    expect((a.tickets_cancelled?.count ?? 0) + (b.tickets_cancelled?.count ?? 0)).toBe(validTickets);
    expect((a.orders_cancelled?.count ?? 0) + (b.orders_cancelled?.count ?? 0)).toBe(ids.length);
    for (const id of ids) {
      const stored = await order(id);
      expect(stored.header, id).toMatchObject({ version: 1, cancellationCount: 1 });
      expect(stored.header.booking ?? null).toBeNull();
      expect(stored.order.tickets.every((t) => t.state === 'cancelled')).toBe(true);
      const refunds = await refundsOf(id);
      expect(sum(refunds.map((r) => r.amount.amount)), id).toBe(plans.get(id));
      for (const pay of stored.order.payments) expect(pay.refunded.amount).toBe(sum(refunds.filter((r) => r.paymentId === pay.id).map((r) => r.amount.amount)));
    }
  });

  it('an order that cannot be booked is listed under errors: status completed_with_errors in the report and the run record, start exits 1; the rest is booked', async () => {
    // prepare: S1's payment claims another currency (corrupt data), S2 lost its header (an import that stopped half-way)
    const p = 'err-';
    await importDataset(groupOrderDataset(p, { orders: ['CARD240'], small: 3 }));
    await documentClient().send(new UpdateCommand({ TableName: tableName('orders'), Key: { pk: orderPk(`${p}S1`), sk: 'PAYMENT#PAY1' }, UpdateExpression: 'SET currency = :eur', ExpressionAttributeValues: { ':eur': 'EUR' } }));
    await documentClient().send(new DeleteCommand({ TableName: tableName('orders'), Key: { pk: orderPk(`${p}S2`), sk: 'HEADER' } }));
    // act
    const result = await rt.start('CancelPerformance', { performanceId: `${p}P1`, reason: 'storm', requestedBy: 'op' }, 'go-err-1');
    const again = await rt.start('CancelPerformance', { performanceId: `${p}P1`, reason: 'storm', requestedBy: 'op' }, 'go-err-2');
    // assess
    expect(result.status).toBe('SUCCEEDED');
    const report = result.output as RunReport;
    expect(report.status).toBe('completed_with_errors');
    expect(report.errors.map((e) => [e.code, e.field])).toEqual(
      expect.arrayContaining([
        ['OrderNotBooked', `${p}S1`],
        ['OrderNotBooked', `${p}S2`],
      ]),
    );
    expect(report.errors).toHaveLength(2);
    expect(report.errors.find((e) => e.field === `${p}S1`)?.message).toContain('currency');
    expect(report.errors.find((e) => e.field === `${p}S2`)?.message).toContain('import it again');
    expect(report.outcomes.orders_refused?.count).toBe(2);
    expect(report.outcomes.tickets_cancelled?.count).toBe(238 + 1);
    expect((await new RunRepository().get('go-err-1'))?.status).toBe('completed_with_errors');
    expect((await order(`${p}S1`)).header.version).toBe(0);
    expect(await refundsOf(`${p}S1`)).toEqual([]);
    expect(outcomeOf('CancelPerformance', 'go-err-2', { status: again.status, output: JSON.stringify(again.output), $metadata: {} } as never).exitCode).toBe(1);
    expect(again.output).toMatchObject({ status: 'completed_with_errors' });
    expect((await logOf('go-err-1')).some((l) => l.startsWith(`${p}S1 NOT BOOKED:`))).toBe(true);
  });

  it('a partial refund that completed with errors is finished by a run with the same percent once the order is repaired', async () => {
    // prepare
    const p = 'prerr-';
    await importDataset(groupOrderDataset(p, { orders: ['PR160'] }));
    const corrupt = (currency: string) =>
      documentClient().send(new UpdateCommand({ TableName: tableName('orders'), Key: { pk: orderPk(`${p}PR160`), sk: 'PAYMENT#PAY2' }, UpdateExpression: 'SET currency = :c', ExpressionAttributeValues: { ':c': currency } }));
    await corrupt('EUR');
    const input = { performanceId: `${p}P2`, percent: 25, salesChannel: 'back_office', pointOfSale: 'head_office', requestedBy: 'op' };
    // act
    const first = await rt.start('PartialRefund', input, 'go-prerr-1');
    const otherPercent = await rt.start('PartialRefund', { ...input, percent: 30 }, 'go-prerr-2');
    await corrupt('CHF');
    const second = await rt.start('PartialRefund', input, 'go-prerr-3');
    // assess
    expect(first.output).toMatchObject({ status: 'completed_with_errors', errors: [{ code: 'OrderNotBooked', field: `${p}PR160` }] });
    expect(otherPercent).toMatchObject({ status: 'FAILED', error: 'ConflictError' });
    expect(errorMessage(otherPercent.cause)).toContain('which left orders undone: run it again with the same percent (25 %)');
    expect(second.output).toMatchObject({ status: 'succeeded', outcomes: { tickets_exchanged: { count: 160 } } });
    expect(await partialRefundMark(`${p}P2`)).toMatchObject({ runId: 'go-prerr-3', previousRuns: ['go-prerr-1'] });
  });
});
