import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intermediateAccounts } from '../../lib/adapters/dynamodb/accounts.ts';
import { OrderRepository } from '../../lib/adapters/dynamodb/orders.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import type { RunReport } from '../../lib/core/report.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { cancellationDataset, importDataset, refundsOf, stateOf } from '../support/cancellation-data.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

// A rejected input ends with the readable `field: reason` text alone as the Cause.
const errorMessage = (cause: string | undefined) => cause ?? '';

describe('CancelPerformance through the synthesized state machine', () => {
  it('refuses bad input at the first state, naming fields and existing values, and writes nothing', async () => {
    // prepare
    await importDataset(cancellationDataset('bad-'));
    // act
    const unknownPerf = await rt.start('CancelPerformance', { performanceId: 'nope', reason: 'storm', requestedBy: 'op' }, 'cp-bad-1');
    const unknownValues = await rt.start('CancelPerformance', { performanceId: 'bad-P1', quotas: ['vip', 'public'], seatCategories: [], reason: 'storm', requestedBy: 'op' }, 'cp-bad-2');
    const badShape = await rt.start('CancelPerformance', { performanceId: 'bad-P1', reason: '', refundFees: 'yes', allocationOrder: ['paypal'] }, 'cp-bad-3');
    // assess
    expect(unknownPerf).toMatchObject({ status: 'FAILED', error: 'NotFoundError' });
    expect(errorMessage(unknownPerf.cause)).toContain('performanceId: no performance "nope"');
    expect(unknownValues).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    const message = errorMessage(unknownValues.cause);
    expect(message).toContain('quotas: unknown "vip"; existing: public, season, sponsor');
    expect(message).toContain('seatCategories: must list at least one value or be omitted; existing: A, B, C');
    expect(badShape).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    for (const part of ['reason: must say why', 'requestedBy: is required', 'refundFees:', 'allocationOrder[0]:']) expect(errorMessage(badShape.cause)).toContain(part);
    for (const name of ['cp-bad-1', 'cp-bad-2', 'cp-bad-3']) expect(await new RunRepository().get(name)).toBeUndefined();
    expect((await new OrderRepository().get('bad-O1'))?.header.version).toBe(0);
  });

  it('cancels only what the filters select (AND across filters, OR within one)', async () => {
    // prepare
    await importDataset(cancellationDataset('f-'));
    // act
    const result = await rt.start('CancelPerformance', { performanceId: 'f-P1', quotas: ['sponsor', 'season'], seatCategories: ['A'], reason: 'sponsor block moved', requestedBy: 'op' }, 'cp-filter');
    // assess
    expect(result.status).toBe('SUCCEEDED');
    const report = result.output as RunReport;
    expect(report.outcomes.tickets_cancelled).toEqual({ count: 1, totals: { CHF: 10000 } });
    const state = await stateOf('f-');
    const cancelled = (state.tickets as { id: string; state: string }[]).filter((t) => t.state === 'cancelled').map((t) => t.id);
    expect(cancelled.sort()).toEqual(['T3', 'T8']); // T8 was cancelled before
  });

  it('filters by tariff, sales channel and payment method, and names unknown values with the existing ones', async () => {
    // prepare
    await importDataset(cancellationDataset('g-'));
    await importDataset(cancellationDataset('h-'));
    // act
    const unknown = await rt.start('CancelPerformance', { performanceId: 'g-P1', tariffs: ['senior'], salesChannels: ['agency'], paymentMethods: ['card', 'paypal'], reason: 'x', requestedBy: 'op' }, 'cp-filters-bad');
    const children = await rt.start('CancelPerformance', { performanceId: 'g-P1', tariffs: ['child'], salesChannels: ['web'], reason: 'children block closed', requestedBy: 'op' }, 'cp-tariff');
    const byMethod = await rt.start('CancelPerformance', { performanceId: 'h-P1', paymentMethods: ['klarna', 'bank_transfer'], reason: 'payments to review', requestedBy: 'op' }, 'cp-methods');
    // assess
    expect(unknown).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    const message = errorMessage(unknown.cause);
    expect(message).toContain('tariffs: unknown "senior"; existing: adult, child');
    expect(message).toContain('salesChannels: unknown "agency"; existing: box_office, web');
    expect(message).toContain('paymentMethods: unknown "paypal"; existing: bank_transfer, card, intermediate_account, klarna, voucher');
    expect(await new RunRepository().get('cp-filters-bad')).toBeUndefined();
    // T2 is the only child ticket sold on the web (T9 is a child's, sold at the box office)
    expect(children.status, children.cause).toBe('SUCCEEDED');
    expect((children.output as RunReport).outcomes.tickets_cancelled).toEqual({ count: 1, totals: { CHF: 8000 } });
    const g = (await stateOf('g-')).tickets as { id: string; state: string }[];
    expect(g.filter((t) => t.state === 'cancelled').map((t) => t.id).sort()).toEqual(['T2', 'T8']); // T8 was cancelled before
    // O5 paid with Klarna (T9; T8 cancelled before), O6 partly by bank transfer (T10): AND with the performance, OR within the list
    expect(byMethod.status, byMethod.cause).toBe('SUCCEEDED');
    expect((byMethod.output as RunReport).outcomes.tickets_cancelled).toEqual({ count: 2, totals: { CHF: 7000 + 10000 } });
    const h = (await stateOf('h-')).tickets as { id: string; state: string }[];
    expect(h.filter((t) => t.state === 'cancelled').map((t) => t.id).sort()).toEqual(['T10', 'T8', 'T9']);
  });

  it('cancels a whole performance: pending refunds per payment, unsettled agency money back on its account, other performance untouched', async () => {
    // prepare
    await importDataset(cancellationDataset('a-'));
    const openBefore = (await intermediateAccounts()).find((a) => a.agencyId === 'a-AG1');
    // act
    const result = await rt.start('CancelPerformance', { performanceId: 'a-P1', reason: 'storm warning', requestedBy: 'op-1', refundFees: true }, 'cp-all');
    // assess
    expect(result.status).toBe('SUCCEEDED');
    const report = result.output as RunReport;
    expect(report).toMatchObject({ runId: 'cp-all', workflow: 'CancelPerformance', status: 'succeeded', requestedBy: 'op-1', errors: [] });
    expect(report.outcomes).toMatchObject({
      tickets_cancelled: { count: 8, totals: { CHF: 10000 + 8000 + 10000 + 6000 + 6000 + 8000 + 7000 + 10000 } },
      orders_cancelled: { count: 6, totals: { CHF: 18300 + 10000 + 12000 + 8000 + 7000 + 10000 } },
      pending_refunds: { count: 6, totals: { CHF: 18300 + 10000 + 8000 + 7000 + 10000 } },
      returned_to_account: { count: 1, totals: { CHF: 12000 } },
      tickets_skipped_already_cancelled: { count: 1 },
      fees_refunded: { count: 1, totals: { CHF: 300 } },
    });
    // O2: only the P1 ticket is cancelled, its refund drawn on the card, the P2 ticket keeps its value.
    const o2 = await new OrderRepository().get('a-O2');
    expect(o2?.order.tickets.map((t) => [t.id, t.state])).toEqual([['a-T3', 'cancelled'], ['a-T4', 'valid']]);
    expect(await refundsOf('a-O2')).toMatchObject([{ id: 'a-O2-C1-PAY1', method: 'card', amount: { amount: 10000 }, status: 'pending', reason: 'cancellation', pspTransactionId: '974500000000000002', ownerId: 'a-C2', ownerKind: 'customer', createdByRun: 'cp-all' }]);
    // O6: card first, then bank transfer.
    expect((await refundsOf('a-O6')).map((r) => [r.paymentId, r.method, r.amount.amount])).toEqual([['PAY1', 'bank_transfer', 5000], ['PAY2', 'card', 5000]]);
    // O3: money goes back on the unsettled agency account, the agency is owed the email.
    const [o3Refund] = await refundsOf('a-O3');
    // The agency is owed its email with the return; SendEmails, run after the cancellation locally, has sent it.
    expect(o3Refund).toMatchObject({ status: 'returned_to_account', ownerId: 'a-AG1', ownerKind: 'agency', notification: { kind: 'returned_to_account', status: 'sent' } });
    expect(o3Refund).not.toHaveProperty('openShard');
    expect(openBefore?.openItems).toEqual([{ amount: 12000, currency: 'CHF' }]);
    expect((await intermediateAccounts()).find((a) => a.agencyId === 'a-AG1')?.openItems).toEqual([{ amount: 0, currency: 'CHF' }]);
    // O4: a settled agency purchase is a pending refund like any other.
    expect(await refundsOf('a-O4')).toMatchObject([{ status: 'pending', method: 'intermediate_account', ownerKind: 'agency' }]);
    // Header and cancellation record.
    const o1 = await new OrderRepository().get('a-O1');
    expect(o1?.header).toMatchObject({ version: 1, cancellationCount: 1, feesRefunded: true });
    expect(o1?.cancellations[0]).toMatchObject({ id: 'a-O1-C1', runId: 'cp-all', reason: 'cancellation', note: 'storm warning', salesChannel: 'web', pointOfSale: 'webshop' });
    const log: string[] = [];
    for await (const line of new RunRepository().logLines('cp-all')) log.push(line);
    expect(log.some((l) => l.startsWith('a-O1 a-O1-C1: cancelled a-T1 10000 CHF, a-T2 8000 CHF; refund 18300 CHF'))).toBe(true);

    // A second run of the same cancellation finds nothing to do and creates no refund.
    const again = await rt.start('CancelPerformance', { performanceId: 'a-P1', reason: 'storm warning', requestedBy: 'op-1', refundFees: true }, 'cp-all-again');
    expect(again.status).toBe('SUCCEEDED');
    const againReport = again.output as RunReport;
    expect(againReport.outcomes.tickets_cancelled).toBeUndefined();
    expect(againReport.outcomes.tickets_skipped_already_cancelled?.count).toBe(9);
    expect((await stateOf('a-')).refunds).toHaveLength(7);
  });

  it('with notifyCustomers tells each customer once per order that the tickets are cancelled and the refund follows; by default it tells no one', async () => {
    // prepare
    await importDataset(cancellationDataset('n-'));
    await importDataset(cancellationDataset('q-'));
    const mailsOf = async (p: string) => (await rt.emails()).filter((m) => m.text.includes(`${p}O`));
    // act
    const told = await rt.start('CancelPerformance', { performanceId: 'n-P1', notifyCustomers: true, reason: 'storm', requestedBy: 'op' }, 'cp-notify');
    const again = await rt.start('CancelPerformance', { performanceId: 'n-P1', notifyCustomers: true, reason: 'storm', requestedBy: 'op' }, 'cp-notify-again');
    const quiet = await rt.start('CancelPerformance', { performanceId: 'q-P1', reason: 'storm', requestedBy: 'op' }, 'cp-quiet');
    // assess: one notice per order with something cancelled (O3's agency got its money back on account: it gets that email instead)
    expect([told.status, again.status, quiet.status]).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const mails = await mailsOf('n-');
    const notices = mails.filter((m) => /storniert|annulés|annulé/.test(m.subject));
    expect(notices.map((m) => m.to).sort()).toEqual(['c1@example.org', 'c1@example.org', 'c2@example.org', 'c2@example.org', 'office@ag2.example.com']);
    expect(mails).toHaveLength(6);
    const o1 = notices.find((m) => m.text.includes('n-O1'))!;
    expect(o1.subject).toBe('Ihre Tickets für «Match» wurden storniert');
    expect(o1.text).toContain('Ihre 2 Tickets für «Match» am Sonntag, 12. Juli 2026, 18:00 Uhr storniert wurden');
    expect(o1.text).toMatch(/Sie erhalten CHF\s180\.00 zurück\./);
    const o2 = notices.find((m) => m.text.includes('n-O2'))!;
    expect(o2.subject).toBe('Vos billets pour «\u00a0Match\u00a0» ont été annulés');
    expect(o2.text).toContain('votre billet pour «\u00a0Match\u00a0» du dimanche');
    const agency = mails.find((m) => m.to === 'office@ag1.example.com')!;
    expect(agency.subject).toBe('Annulation «\u00a0Match\u00a0»\u00a0: montants crédités sur votre compte d’attente');
    expect(agency.text).toMatch(/n-O3\s+120\.00\sCHF/);
    // the second run cancelled nothing more and told no one again; without notifyCustomers only the agency's return is mailed
    expect((again.output as RunReport).outcomes.tickets_cancelled).toBeUndefined();
    expect(await mailsOf('q-')).toHaveLength(1);
  });

  it('a run crashed between pages, run again, ends exactly as an uninterrupted run', async () => {
    // prepare: two identical copies
    await importDataset(cancellationDataset('x-', 20));
    await importDataset(cancellationDataset('y-', 20));
    const input = (p: string) => ({ performanceId: `${p}P1`, reason: 'storm', requestedBy: 'op', pageSize: 2 });
    // act
    const reference = await rt.start('CancelPerformance', input('y-'), 'cp-reference');
    // One container for the page stage, so its fifth page is the one that crashes.
    const page = 'functions/cancel-performance/cancel-page.ts';
    await rt.configure({ environment: { MASS_REFUND_CHAOS: JSON.stringify({ 'cancel.afterPage': 4 }) }, maxContainers: 1 }, page);
    const crashed = await rt.start('CancelPerformance', input('x-'), 'cp-crashed').finally(() => rt.configure({ environment: { MASS_REFUND_CHAOS: undefined }, maxContainers: 4 }, page));
    const partial = await stateOf('x-');
    const rerun = await rt.start('CancelPerformance', input('x-'), 'cp-rerun');
    // assess
    expect(reference.status).toBe('SUCCEEDED');
    expect(crashed).toMatchObject({ status: 'FAILED', error: 'InjectedCrash' });
    expect((await new RunRepository().get('cp-crashed'))?.status).toBe('failed');
    expect((partial.tickets as { state: string }[]).filter((t) => t.state === 'cancelled').length).toBeGreaterThan(1);
    expect(rerun.status).toBe('SUCCEEDED');
    const after = await stateOf('x-');
    const expected = await stateOf('y-');
    expect(after).toEqual(expected);
    const r = rerun.output as RunReport;
    const ref = reference.output as RunReport;
    expect((r.outcomes.tickets_cancelled?.count ?? 0) + (r.outcomes.tickets_skipped_already_cancelled?.count ?? 0)).toBe(ref.outcomes.tickets_cancelled!.count + 1);
  });

  it('two runs started at once cancel each ticket once and refund the right total', async () => {
    // prepare
    await importDataset(cancellationDataset('c-', 30));
    // act
    const [one, two] = await Promise.all([
      rt.start('CancelPerformance', { performanceId: 'c-P1', reason: 'storm', requestedBy: 'op-a', pageSize: 3 }, 'cp-concurrent-1'),
      rt.start('CancelPerformance', { performanceId: 'c-P1', reason: 'storm', requestedBy: 'op-b', pageSize: 3 }, 'cp-concurrent-2'),
    ]);
    // assess
    expect([one.status, two.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    const a = (one.output as RunReport).outcomes;
    const b = (two.output as RunReport).outcomes;
    const extraValue = Array.from({ length: 30 }, (_, i) => 3001 + i).reduce((s, x) => s + x, 0);
    expect((a.tickets_cancelled?.count ?? 0) + (b.tickets_cancelled?.count ?? 0)).toBe(8 + 30);
    expect((a.orders_cancelled?.count ?? 0) + (b.orders_cancelled?.count ?? 0)).toBe(6 + 30);
    const state = await stateOf('c-');
    const refunds = state.refunds as { id: string; amount: { amount: number } }[];
    expect(new Set(refunds.map((r) => r.id)).size).toBe(refunds.length);
    expect(refunds.reduce((s, r) => s + r.amount.amount, 0)).toBe(18000 + 10000 + 12000 + 8000 + 7000 + 10000 + extraValue);
    expect((state.headers as { cancellationCount: number }[]).every((h) => h.cancellationCount === 1)).toBe(true);
  });
});
