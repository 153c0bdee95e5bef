import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../lib/adapters/dynamodb/client.ts';
import { refundItem } from '../../lib/adapters/dynamodb/refunds.ts';
import { tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { allRefunds, assertConsistent, pendingRefunds, sesEmails, type Report } from '../support/dispatch-fixtures.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

async function ok(workflow: string, input: Record<string, unknown>): Promise<Report> {
  const result = await rt.start(workflow, input);
  expect(result.status, `${workflow}: ${result.error} ${result.cause}`).toBe('SUCCEEDED');
  return result.output as Report;
}

describe('ReconcileRefunds through the synthesized state machine', () => {
  it('turns a late failure back into a failed refund, tells the customer, and lets the credit pass finish', async () => {
    // prepare: two card refunds, one of which the PSP will report failed after booking it
    const [late, fine] = await pendingRefunds('late', '2026-03-01T09:00:00Z', [{ method: 'card', language: 'fr' }, { method: 'card' }]);
    rt.sandbox.configureFaults({ rules: [{ transactionId: late!.transactionId!, fault: { kind: 'late_failure' } }] });
    const range = { from: '2026-03-01', to: '2026-03-02' };
    const sim = await ok('DispatchRefunds', { mode: 'simulate', ...range, requestedBy: 'op' });
    const psp = await ok('DispatchRefunds', { mode: 'psp', ...range, simulationRunId: sim.runId, requestedBy: 'op' });
    expect(psp.outcomes.refunded?.count).toBe(2);
    // act
    const reconcile = await ok('ReconcileRefunds', {});
    // assess
    expect(reconcile.outcomes.late_failure?.count).toBe(1);
    expect(reconcile.outcomes.confirmed?.count).toBe(1);
    expect(reconcile.differenceCount).toBe(0);
    let refunds = await allRefunds();
    expect(refunds.get(late!.id)?.status).toBe('failed');
    expect(refunds.get(late!.id)?.pspCode).toBe('declined');
    expect(refunds.get(fine!.id)?.status).toBe('refunded');
    // the customer is told by the next dispatch run's mailer, then the credit pass credits it
    const credit = await ok('DispatchRefunds', { mode: 'credit', ...range, simulationRunId: sim.runId, requestedBy: 'op' });
    expect(credit.outcomes.credited?.count).toBe(1);
    refunds = await allRefunds();
    expect(refunds.get(late!.id)?.status).toBe('credited');
    // In French: refunded to the card, then the late failure (the psp run's policy, fallback: the money goes to the credit account), then the credit.
    const mails = (await sesEmails(rt)).filter((m) => m.body.text?.includes(late!.orderId));
    expect(mails.map((m) => m.subject)).toEqual(['Votre remboursement pour «\u00a0Match late\u00a0»', 'Votre remboursement pour «\u00a0Match late\u00a0» n’a pas abouti', 'Votre avoir pour «\u00a0Match late\u00a0»']);
    expect(mails[1]!.body.text).toContain('Nous allons créditer ce montant sur votre compte d’avoir');
    expect(mails[2]!.body.text).toContain('Le remboursement sur votre carte n’a malheureusement pas été possible');
    await assertConsistent(rt);
  });

  it('lists every difference between our refunded refunds and the credits the PSP reports', async () => {
    // prepare: a refund we hold refunded although the PSP never credited it
    const [ghost] = await pendingRefunds('ghost', '2026-03-05T09:00:00Z', [{ method: 'card' }]);
    const item = refundItem({ id: ghost!.id, orderId: ghost!.orderId, paymentId: 'PAY1', method: 'card', amount: { amount: ghost!.amount, currency: 'CHF' }, status: 'refunded', reason: 'cancellation', createdAt: '2026-03-05T09:00:00Z', ownerId: ghost!.ownerId, ownerKind: 'customer', pspTransactionId: ghost!.transactionId });
    await documentClient().send(new PutCommand({ TableName: tableName('refunds'), Item: { ...item, settledAt: new Date().toISOString(), attempt: 1 } }));
    // act
    const reconcile = await ok('ReconcileRefunds', { requestedBy: 'auditor' });
    // assess
    expect(reconcile.differenceCount).toBe(1);
    expect(reconcile.differences).toEqual([
      expect.objectContaining({ transactionId: ghost!.transactionId, ours: ghost!.amount, psp: 0, missing: [ghost!.id], note: `we hold refunded but the PSP shows no such credit: ${ghost!.id}` }),
    ]);
    expect(reconcile.errors[0]?.code).toBe('LedgerDifference');
    expect(reconcile.status).toBe('completed_with_errors'); // a difference is left for a person to settle
  });

  it('rejects an unknown run id at the first state', async () => {
    const result = await rt.start('ReconcileRefunds', { runId: 'no-such-run' });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('NotFoundError');
  });
});
