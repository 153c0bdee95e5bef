import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookOrders, MAX_TRANSACTION_ITEMS, packBookings } from '../../../lib/adapters/dynamodb/cancellations.ts';
import { documentClient } from '../../../lib/adapters/dynamodb/client.ts';
import { OrderRepository, orderPk } from '../../../lib/adapters/dynamodb/orders.ts';
import { tableName } from '../../../lib/adapters/dynamodb/table-names.ts';
import { planCancellation } from '../../../lib/core/cancellation.ts';
import type { StoredOrder } from '../../../lib/adapters/dynamodb/orders.ts';
import { cancellationDataset, importDataset, refundsOf } from '../../support/cancellation-data.ts';
import { startTestRuntime, type TestRuntime } from '../../support/local-runtime.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

describe('packBookings', () => {
  it('keeps every order whole and in order, and no transaction over the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: MAX_TRANSACTION_ITEMS }), { maxLength: 300 }), fc.integer({ min: 1, max: MAX_TRANSACTION_ITEMS }), (sizes, limit) => {
        // prepare
        const built = sizes.map((n, i) => ({ i, actions: Array.from({ length: n }, () => 0) }));
        // act
        const groups = packBookings(built, limit);
        // assess
        expect(groups.flat().map((b) => b.i)).toEqual(built.map((b) => b.i));
        for (const g of groups) {
          const items = g.reduce((s, b) => s + b.actions.length, 0);
          // An order alone may exceed a smaller limit (it is never split); a group of several never does.
          if (g.length > 1) expect(items).toBeLessThanOrEqual(limit);
          expect(g.length).toBeGreaterThan(0);
        }
        // Greedy: a group plus the next group's first order would not have fitted.
        for (let k = 0; k + 1 < groups.length; k++) {
          const items = groups[k]!.reduce((s, b) => s + b.actions.length, 0);
          expect(items + groups[k + 1]![0]!.actions.length).toBeGreaterThan(limit);
        }
      }),
    );
  });
});

describe('bookOrders through DynamoDB Local', () => {
  const planAll = ({ order }: StoredOrder) => {
    const ticketIds = order.tickets.filter((t) => t.state === 'valid' || t.state === 'controlled').map((t) => t.id);
    return ticketIds.length ? { kind: 'cancellation' as const, plan: planCancellation(order, { ticketIds, refundFees: false, reason: 'cancellation' }) } : undefined;
  };

  it('packs several orders to a transaction and, when one changed meanwhile, books each order of that transaction alone from a fresh read', async () => {
    // prepare: 12 one-ticket orders; the first packed transaction finds one of them changed since it was read
    await importDataset(cancellationDataset('pk-', 12));
    const ids = Array.from({ length: 12 }, (_, i) => `pk-E${i + 1}`);
    const sent: number[] = [];
    let interfered = false;
    const client = documentClient();
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { TransactItems?: unknown[] };
        if (input.TransactItems) {
          sent.push(input.TransactItems.length);
          if (!interfered && input.TransactItems.length > 10) {
            interfered = true;
            // Another writer touches order E5 between our read and our write.
            await client.send(new UpdateCommand({ TableName: tableName('orders'), Key: { pk: orderPk('pk-E5'), sk: 'HEADER' }, UpdateExpression: 'SET version = version + :one', ExpressionAttributeValues: { ':one': 1 } }));
          }
        }
        return next(args);
      },
      { step: 'initialize', name: 'interfereOnce' },
    );
    try {
      // act
      const bookings = await bookOrders(ids, planAll, { runId: 'pack-run', at: '2026-07-12T20:00:00Z', requestedBy: 'test' }, { transactionItems: 40 });
      const again = await bookOrders(ids, planAll, { runId: 'pack-run', at: '2026-07-12T20:00:00Z', requestedBy: 'test' });
      // assess
      expect(bookings.map((b) => b.orderId)).toEqual(ids);
      expect(bookings.every((b) => b.outcome === 'booked')).toBe(true);
      // Each one-ticket order writes 5 actions: 8 orders fit in 40, so the 12 orders make two transactions, then one by one after the conflict.
      expect(sent[0]).toBe(40);
      expect(sent.filter((n) => n === 5).length).toBeGreaterThanOrEqual(8);
      expect(bookings.filter((b) => b.attempts > 1).map((b) => b.orderId)).toEqual(ids.slice(0, 8));
      for (const id of ids) {
        const refunds = await refundsOf(id);
        expect(refunds).toHaveLength(1);
        const stored = (await new OrderRepository().get(id)) as StoredOrder;
        expect(stored.order.payments[0]!.refunded.amount).toBe(stored.order.payments[0]!.amount.amount);
        expect(stored.order.tickets.every((t) => t.state === 'cancelled')).toBe(true);
      }
      // A second pass of the same run books nothing and reports what the run booked.
      expect(again.map((b) => b.outcome)).toEqual(ids.map(() => 'replayed'));
    } finally {
      client.middlewareStack.remove('interfereOnce');
    }
  });
});
