import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../lib/adapters/dynamodb/client.ts';
import { RefundRepository, refundItem } from '../../lib/adapters/dynamodb/refunds.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

async function pendingRefund(id: string, status: 'pending' | 'refunded' = 'pending') {
  await documentClient().send(
    new PutCommand({
      TableName: tableName('refunds'),
      Item: refundItem({
        id,
        orderId: 'O1',
        paymentId: 'PAY1',
        method: 'card',
        amount: { amount: 10300, currency: 'CHF' },
        status,
        reason: 'cancellation',
        createdAt: '2026-07-13T08:00:00Z',
        ownerId: 'C1',
        ownerKind: 'customer',
      }),
    }),
  );
}

describe('SwitchRefundToManual through the synthesized state machine', () => {
  it('takes a pending refund out of automation and reports it', async () => {
    // prepare
    await pendingRefund('R-1');
    // act
    const result = await rt.start('SwitchRefundToManual', { refundId: 'R-1', method: 'bank_transfer', note: 'customer asked by phone', requestedBy: 'operator-7' }, 'switch-1');
    // assess
    expect(result.status).toBe('SUCCEEDED');
    const report = result.output as { runId: string; outcomes: Record<string, { count: number; totals: Record<string, number> }>; errors: unknown[] };
    expect(report.runId).toBe('switch-1');
    expect(report.outcomes.switched_to_manual).toEqual({ count: 1, totals: { CHF: 10300 } });
    const refund = await new RefundRepository().get('R-1');
    expect(refund?.status).toBe('manual');
    expect(refund?.manual?.method).toBe('bank_transfer');
    const run = await new RunRepository().get('switch-1');
    expect(run?.status).toBe('succeeded');
  });

  it('rejects bad input at the first state, naming the fields, and writes nothing', async () => {
    const result = await rt.start('SwitchRefundToManual', { refundId: '', method: 'card', extra: 1 }, 'switch-bad');
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ValidationError');
    const message = result.cause ?? '';
    expect(message).toContain('refundId:');
    expect(message).toContain('method:');
    expect(message).toContain('requestedBy: is required');
    expect(await new RunRepository().get('switch-bad')).toBeUndefined();
  });

  it('refuses a refund that already ended, and leaves it as it was', async () => {
    await pendingRefund('R-2', 'refunded');
    const result = await rt.start('SwitchRefundToManual', { refundId: 'R-2', method: 'cash', note: 'n', requestedBy: 'op' }, 'switch-2');
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ConflictError');
    expect((await new RefundRepository().get('R-2'))?.status).toBe('refunded');
  });
});
