import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../lib/adapters/dynamodb/client.ts';
import { refundItem, shardOf } from '../../lib/adapters/dynamodb/refunds.ts';
import { OPEN_REFUND_SHARDS, tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { importText } from '../../lib/cli/import.ts';
import { allRefunds, creditEntries, type Report } from '../support/dispatch-fixtures.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

/**
 * Batch sizes set by environment are tuning knobs: they make batches smaller, never invalid.
 * DISPATCH_CREDITS_PER_TRANSACTION above 50 asked for more than DynamoDB's 100 actions per
 * transaction (2 per refund) and failed the credit pass; the adapter now cuts it to the limit.
 */

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => {
  await rt?.stop();
});

/** `n` bank-transfer refunds whose ids all fall on one open-refund shard: one page of the credit pass holds them all. */
async function oneShardOfCredits(n: number, createdAt: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; ids.length < n; i++) if (shardOf(`R-bl-${i}`, OPEN_REFUND_SHARDS) === 3) ids.push(`R-bl-${i}`);
  const lines = [JSON.stringify({ type: 'performance', id: 'P-bl', name: 'Match', startsAt: '2026-07-12T18:00:00+02:00', currency: 'CHF' })];
  lines.push(JSON.stringify({ type: 'customer', id: 'C-bl', name: 'Anna Muster', email: 'anna@example.org', language: 'de' }));
  for (const id of ids) {
    const orderId = id.replace('R-', 'O-');
    const amount = 1000 + ids.indexOf(id);
    lines.push(
      JSON.stringify({
        type: 'order',
        id: orderId,
        customerId: 'C-bl',
        salesChannel: 'web',
        pointOfSale: 'webshop',
        createdAt: '2026-05-01T10:00:00Z',
        tickets: [{ id: `T-${orderId}`, performanceId: 'P-bl', quota: 'public', seatCategory: 'A', productFamily: 'single_entry', price: { amount, currency: 'CHF' }, state: 'cancelled' }],
        payments: [{ id: 'PAY1', method: 'bank_transfer', amount: { amount, currency: 'CHF' } }],
      }),
    );
  }
  const imported = await importText(lines.join('\n'));
  if (!imported.ok) throw new Error(JSON.stringify(imported.issues));
  for (const [i, id] of ids.entries()) {
    const item = refundItem({ id, orderId: id.replace('R-', 'O-'), paymentId: 'PAY1', method: 'bank_transfer', amount: { amount: 1000 + i, currency: 'CHF' }, status: 'pending', reason: 'cancellation', createdAt, ownerId: 'C-bl', ownerKind: 'customer' });
    await documentClient().send(new PutCommand({ TableName: tableName('refunds'), Item: item }));
  }
  return ids;
}

describe('batch sizes from the environment', () => {
  it('a credit pass asked to pack 80 refunds per transaction (60 in one page: 120 actions) credits every refund, exactly once', async () => {
    // prepare: 60 refunds (120 actions) on one shard, one page
    const ids = await oneShardOfCredits(60, '2026-03-02T09:00:00Z');
    const range = { from: '2026-03-02', to: '2026-03-03' };
    const sim = await rt.start('DispatchRefunds', { mode: 'simulate', ...range, requestedBy: 'op' }, 'bl-sim');
    await rt.configure({ environment: { DISPATCH_CREDITS_PER_TRANSACTION: '80' } });
    // act
    const credit = await rt.start('DispatchRefunds', { mode: 'credit', ...range, simulationRunId: 'bl-sim', requestedBy: 'op' }, 'bl-credit');
    // assess
    expect(sim.status).toBe('SUCCEEDED');
    expect(credit.status, `${credit.error} ${credit.cause}`).toBe('SUCCEEDED');
    const report = credit.output as Report;
    const total = ids.reduce((n, _id, i) => n + 1000 + i, 0);
    expect(report.outcomes.credited).toEqual({ count: 60, totals: { CHF: total } });
    const refunds = await allRefunds();
    const entries = await creditEntries();
    for (const id of ids) {
      expect(refunds.get(id)?.status, id).toBe('credited');
      expect(entries.get(id)?.ownerId, id).toBe('C-bl');
    }
    expect([...entries.keys()].filter((k) => k.startsWith('R-bl-'))).toHaveLength(60);
  });
});
