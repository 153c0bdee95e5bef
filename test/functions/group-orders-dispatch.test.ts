import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creditAccounts } from '../../lib/adapters/dynamodb/accounts.ts';
import { documentClient } from '../../lib/adapters/dynamodb/client.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { OrderRepository, type StoredOrder } from '../../lib/adapters/dynamodb/orders.ts';
import { planCancellation } from '../../lib/core/cancellation.ts';
import { planExchange } from '../../lib/core/exchange.ts';
import type { RunReport } from '../../lib/core/report.ts';
import { importDataset } from '../support/cancellation-data.ts';
import { allRefunds, assertConsistent, pendingRefunds } from '../support/dispatch-fixtures.ts';
import { groupOrderDataset } from '../support/group-orders.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

describe('the refunds of group orders through the dispatch', () => {
  it('simulates, refunds at the PSP and credits every refund of the group orders once: no payment refunded above its capture, totals exact', async () => {
    // prepare: a match cancelled (2,000 tickets with 20 payments, 240-ticket card + voucher, 130-ticket agency on account, small orders), another partially refunded (160 tickets)
    const p = 'gd-';
    await importDataset(groupOrderDataset(p, { orders: ['BIG2000', 'CARD240', 'AGENCY130', 'PR160'], small: 3 }));
    const ids = [`${p}BIG2000`, `${p}CARD240`, `${p}AGENCY130`, `${p}PR160`, `${p}S1`, `${p}S2`, `${p}S3`];
    const before = new Map<string, StoredOrder>();
    for (const id of ids) before.set(id, (await new OrderRepository().get(id)) as StoredOrder);
    const expected = new Map<string, number>();
    for (const [id, s] of before) {
      if (id.endsWith('PR160')) expected.set(id, planExchange(s.order, `${p}P2`, 6000, { salesChannel: 'x', pointOfSale: 'y' }).refundTotal.amount);
      else expected.set(id, planCancellation(s.order, { ticketIds: s.order.tickets.map((t) => t.id), refundFees: true, reason: 'cancellation' }).refundTotal.amount);
    }
    const cancel = await rt.start('CancelPerformance', { performanceId: `${p}P1`, reason: 'storm', requestedBy: 'op', refundFees: true }, 'gd-cancel');
    const partial = await rt.start('PartialRefund', { performanceId: `${p}P2`, percent: 60, salesChannel: 'back_office', pointOfSale: 'head_office', requestedBy: 'op' }, 'gd-partial');
    expect([cancel.status, partial.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const range = { from: day(-1), to: day(2), requestedBy: 'op' };
    const created = [...(await allRefunds()).values()];
    const open = created.filter((r) => r.status === 'pending');
    // act
    const sim = await rt.start('DispatchRefunds', { mode: 'simulate', ...range }, 'gd-sim');
    const psp = await rt.start('DispatchRefunds', { mode: 'psp', ...range, simulationRunId: 'gd-sim' }, 'gd-psp');
    const credit = await rt.start('DispatchRefunds', { mode: 'credit', ...range, simulationRunId: 'gd-sim' }, 'gd-credit');
    // assess: every run succeeded, the simulation showed exactly what was then paid out
    for (const r of [sim, psp, credit]) expect(r.status, r.cause).toBe('SUCCEEDED');
    for (const r of [sim, psp, credit]) expect((r.output as RunReport).status).toBe('succeeded');
    const selection = (sim.output as RunReport).selection as { count: number; totals: Record<string, number> };
    expect(selection).toMatchObject({ count: open.length, totals: { CHF: sum(open.map((r) => r.amount.amount)) } });
    const refunds = [...(await allRefunds()).values()];
    expect(refunds.filter((r) => r.status === 'pending' || r.status === 'failed' || r.status === 'unknown')).toEqual([]);
    const paidOut = refunds.filter((r) => r.status === 'refunded' || r.status === 'credited');
    expect(sum(paidOut.map((r) => r.amount.amount))).toBe(selection.totals.CHF);
    expect(refunds.filter((r) => r.status === 'refunded').every((r) => r.method === 'card' || r.method === 'amazon_pay')).toBe(true);
    // Per order: refunds exactly what the plan said; per payment never above what it captured.
    for (const [id, s] of before) {
      const mine = refunds.filter((r) => r.orderId === id);
      expect(sum(mine.map((r) => r.amount.amount)), id).toBe(expected.get(id));
      for (const pay of s.order.payments) expect(sum(mine.filter((r) => r.paymentId === pay.id).map((r) => r.amount.amount)), `${id} ${pay.id}`).toBeLessThanOrEqual(pay.amount.amount);
    }
    expect(refunds.filter((r) => r.orderId === `${p}BIG2000`)).toHaveLength(20);
    // The PSP: each original transaction credited at most what it captured, once per refund.
    const captured = new Map<string, number>();
    for (const s of before.values()) for (const pay of s.order.payments) if (pay.pspTransactionId) captured.set(pay.pspTransactionId, pay.amount.amount);
    const credits = rt.sandbox.ledger().filter((c) => c.status === 'booked');
    expect(credits).toHaveLength(refunds.filter((r) => r.status === 'refunded').length);
    const perTransaction = new Map<string, number>();
    for (const c of credits) perTransaction.set(c.transactionId, (perTransaction.get(c.transactionId) ?? 0) + c.amount.amount);
    for (const [tx, amount] of perTransaction) expect(amount).toBeLessThanOrEqual(captured.get(tx) as number);
    // Credit accounts hold exactly the credited refunds; the ledger, the sandbox and the emails agree.
    const creditedByOwner = new Map<string, number>();
    for (const r of refunds.filter((x) => x.status === 'credited')) creditedByOwner.set(r.ownerId, (creditedByOwner.get(r.ownerId) ?? 0) + r.amount.amount);
    for (const account of await creditAccounts()) expect(account.balance).toEqual([{ amount: creditedByOwner.get(account.ownerId), currency: 'CHF' }]);
    await assertConsistent(rt);
  });

  it('a dispatch whose email cannot be sent moves the money; SendEmails lists the email under errors and completes with errors', async () => {
    // prepare: two refunds; one customer's record (and so the address) is gone
    const [kept, lost] = await pendingRefunds('noaddress', '2026-02-03T09:00:00Z', [{ method: 'klarna' }, { method: 'klarna' }]);
    await documentClient().send(new DeleteCommand({ TableName: tableName('catalog'), Key: { pk: `CUSTOMER#${lost!.ownerId}`, sk: 'CUSTOMER' } }));
    const range = { from: '2026-02-03', to: '2026-02-04', requestedBy: 'op' };
    // act
    const sim = await rt.start('DispatchRefunds', { mode: 'simulate', ...range }, 'na-sim');
    const credit = await rt.start('DispatchRefunds', { mode: 'credit', ...range, simulationRunId: 'na-sim' }, 'na-credit');
    const emails = rt.lastEmails();
    // assess: the money moved and the pass succeeded; the sender that followed says one email could not go
    expect([sim.status, credit.status, emails?.status]).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const report = credit.output as RunReport;
    expect(report.outcomes.credited?.count).toBe(2);
    expect(report.status).toBe('succeeded');
    const sent = emails?.output as RunReport;
    expect(sent.errors.map((e) => e.code)).toEqual(['NoEmailAddress']);
    expect(sent.status).toBe('completed_with_errors');
    expect((await new RunRepository().get(emails!.name))?.status).toBe('completed_with_errors');
    expect((await allRefunds()).get(kept!.id)?.status).toBe('credited');
  });
});
