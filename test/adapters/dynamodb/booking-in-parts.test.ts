import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookOrder, bookOrders, MAX_TRANSACTION_ITEMS, type OrderBooking, type OrderPlan } from '../../../lib/adapters/dynamodb/cancellations.ts';
import { documentClient } from '../../../lib/adapters/dynamodb/client.ts';
import { OrderRepository, orderPk, type StoredOrder } from '../../../lib/adapters/dynamodb/orders.ts';
import { tableName } from '../../../lib/adapters/dynamodb/table-names.ts';
import { partActions, singleTransactionActions, type BookingPart } from '../../../lib/core/booking-parts.ts';
import { planCancellation } from '../../../lib/core/cancellation.ts';
import { cancellationDataset, importDataset, refundsOf } from '../../support/cancellation-data.ts';
import { groupOrderDataset } from '../../support/group-orders.ts';
import { startTestRuntime, type TestRuntime } from '../../support/local-runtime.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

const planAll = ({ order }: StoredOrder): OrderPlan | undefined => {
  const ticketIds = order.tickets.filter((t) => t.state === 'valid' || t.state === 'controlled').map((t) => t.id);
  return ticketIds.length ? { kind: 'cancellation', plan: planCancellation(order, { ticketIds, refundFees: true, reason: 'cancellation' }) } : undefined;
};
const ctx = (runId: string) => ({ runId, at: '2026-07-12T20:00:00Z', requestedBy: 'test' });
const order = async (id: string) => (await new OrderRepository().get(id)) as StoredOrder;

/** The sizes of the transactions sent while `fn` runs. */
async function transactionSizes<T>(fn: () => Promise<T>): Promise<{ result: T; sizes: number[] }> {
  const sizes: number[] = [];
  const client = documentClient();
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { TransactItems?: unknown[] };
      if (input.TransactItems) sizes.push(input.TransactItems.length);
      return next(args);
    },
    { step: 'initialize', name: 'countTransactions' },
  );
  try {
    return { result: await fn(), sizes };
  } finally {
    client.middlewareStack.remove('countTransactions');
  }
}

describe('booking in parts through DynamoDB Local', () => {
  it('writes a small order in one transaction of exactly the modelled size, and a group order in parts of exactly their modelled sizes, none over 100', async () => {
    // prepare
    await importDataset(cancellationDataset('bp-'));
    await importDataset(groupOrderDataset('bpg-', { orders: ['CARD240'] }));
    const small = planAll(await order('bp-O1')) as OrderPlan;
    const big = await order('bpg-CARD240');
    // act
    const one = await transactionSizes(() => bookOrder('bp-O1', planAll, ctx('run-1')));
    const parts = await transactionSizes(() => bookOrder('bpg-CARD240', planAll, ctx('run-1')));
    // assess
    expect(one.sizes).toEqual([singleTransactionActions(small)]);
    const stored = (await order('bpg-CARD240')).parts.sort((a, b) => (a.index as number) - (b.index as number));
    const modelled = stored.map((p) => partActions(p.part as BookingPart));
    expect(parts.sizes).toEqual([2 + stored.length, ...modelled]); // claim (header, record, the parts), then each part
    expect(Math.max(...parts.sizes)).toBeLessThanOrEqual(MAX_TRANSACTION_ITEMS);
    expect(parts.result).toMatchObject({ outcome: 'booked', cancellationId: 'bpg-CARD240-C1', transactions: stored.length + 1 });
    expect(parts.result.tickets).toHaveLength(238);
    expect(parts.result.skipped).toEqual([]); // planAll names only the valid tickets
    expect(big.header.version).toBe(0);
  });

  it('a second pass of the same run reports the booking in parts again from its parts, writing nothing', async () => {
    // prepare
    await importDataset(groupOrderDataset('rp-', { orders: ['CARD240'] }));
    const first = await bookOrder('rp-CARD240', planAll, ctx('run-rp'));
    // act
    const again = await transactionSizes(() => bookOrder('rp-CARD240', planAll, ctx('run-rp')));
    // assess
    expect(again.sizes).toEqual([]);
    const { outcome, attempts: _a, transactions: _t, ...rest } = again.result;
    const { outcome: _o, attempts: _b, transactions: _u, ...expected } = first;
    expect(outcome).toBe('replayed');
    expect(rest).toEqual(expected);
  });

  it('writes the parts before the claim when they do not fit in it, and a lost claim leaves no part behind', async () => {
    // prepare: two runs want the same group order at once, both writing their parts first
    await importDataset(groupOrderDataset('pw-', { orders: ['CARD240'] }));
    const stored = await order('pw-CARD240');
    // act: both plan on the same read; one claim wins, the other deletes its parts, reads again and finds nothing to do
    const [a, b] = await Promise.all([
      bookOrder('pw-CARD240', planAll, ctx('run-a'), { stored, partsInClaim: 'before' }),
      bookOrder('pw-CARD240', planAll, ctx('run-b'), { stored, partsInClaim: 'before' }),
    ]);
    // assess
    expect([a.outcome, b.outcome].sort()).toEqual(['booked', 'nothing_to_do']);
    const after = await order('pw-CARD240');
    const winner = after.cancellations[0];
    expect(after.cancellations).toHaveLength(1);
    expect(after.parts.every((p) => p.intentId === winner?.intentId && p.done === true)).toBe(true);
    expect(after.parts).toHaveLength(winner?.parts as number);
    expect(await refundsOf('pw-CARD240')).toHaveLength(2);
  });

  it('a booking whose run stopped after two parts is finished by the next run that touches the order, and by the same run resumed, each part once', async () => {
    // prepare: the owner stops (throws) right after its second part
    await importDataset(groupOrderDataset('hp-', { orders: ['CARD240', 'AGENCY130'] }));
    let written = 0;
    const stop = new Error('stopped after two parts');
    await expect(
      bookOrder('hp-CARD240', planAll, ctx('owner'), {
        afterPart: () => {
          if (++written === 2) throw stop;
        },
      }),
    ).rejects.toBe(stop);
    const half = await order('hp-CARD240');
    // act: another run and the owner resumed, at once
    const [helper, owner] = await Promise.all([bookOrder('hp-CARD240', planAll, ctx('helper')), bookOrder('hp-CARD240', planAll, ctx('owner'))]);
    // assess
    expect(half.header.booking).toMatchObject({ runId: 'owner', cancellationId: 'hp-CARD240-C1' });
    expect(half.parts.filter((p) => p.done === true)).toHaveLength(2);
    expect(await refundsOf('hp-CARD240')).toHaveLength(2);
    expect(owner).toMatchObject({ outcome: 'booked', cancellationId: 'hp-CARD240-C1' });
    expect(owner.tickets).toHaveLength(238);
    expect(helper.outcome).toBe('nothing_to_do');
    const after = await order('hp-CARD240');
    expect(after.header.booking ?? null).toBeNull();
    expect(after.header).toMatchObject({ version: 1, cancellationCount: 1, feesRefunded: true });
    expect(after.order.tickets.every((t) => t.state === 'cancelled' && ((t as { cancelledByRun?: string }).cancelledByRun === 'owner' || t.id.endsWith('T0008') || t.id.endsWith('T0078')))).toBe(true);
    expect(after.order.payments.map((p) => p.refunded.amount)).toEqual((await refundsOf('hp-CARD240')).map((r) => r.amount.amount));
  });

  it('books a page of small and group orders: the small ones packed, the group order in parts, a corrupt order refused alone', async () => {
    // prepare
    await importDataset(groupOrderDataset('pg-', { orders: ['AGENCY130'], small: 6 }));
    await documentClient().send(new UpdateCommand({ TableName: tableName('orders'), Key: { pk: orderPk('pg-S3'), sk: 'PAYMENT#PAY1' }, UpdateExpression: 'SET currency = :eur', ExpressionAttributeValues: { ':eur': 'EUR' } }));
    const ids = ['pg-S1', 'pg-S2', 'pg-AGENCY130', 'pg-S3', 'pg-S4', 'pg-S5', 'pg-S6'];
    // act
    const { result, sizes } = await transactionSizes(() => bookOrders(ids, planAll, ctx('run-page')));
    // assess
    expect(result.map((b: OrderBooking) => [b.orderId, b.outcome])).toEqual(ids.map((id) => [id, id === 'pg-S3' ? 'refused' : 'booked']));
    expect(result[3]?.error).toContain('currency');
    expect(sizes[0]).toBe(5 * 5); // the five good small orders in one packed transaction
    expect(sizes.slice(1).every((n) => n <= MAX_TRANSACTION_ITEMS)).toBe(true);
    expect((await order('pg-S3')).header.version).toBe(0);
  });
});
