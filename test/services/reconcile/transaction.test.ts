import { describe, expect, it } from 'vitest';
import { reconcileTransaction, type ReconcileOptions } from '../../../lib/services/reconcile/transaction.ts';
import { dispatchRefund, FakePsp, FakeStore, iso, MIN, T0 } from './fakes.ts';

const TIMING = { timeoutMs: 20_000, marginMs: 5 * MIN, unclearToManualMs: 24 * 60 * MIN };
const LATER = T0 + 60 * MIN;
const AT = new Date(LATER).toISOString();

function options(store: FakeStore, psp: FakePsp, over: Partial<ReconcileOptions> = {}): ReconcileOptions {
  return { store, psp, runId: 'rec-1', transactionId: 'T1', refunds: [...store.refunds.values()], now: LATER, timing: TIMING, confirmSince: null, ...over };
}

describe('reconciling one original transaction', () => {
  it('sends an unknown refund the PSP never credited back to pending under the same key, without sending anything', async () => {
    // prepare
    const store = new FakeStore([dispatchRefund('A')]);
    const psp = new FakePsp();
    psp.transactions.set('T1', { kind: 'found', view: { currency: 'CHF', settledAmount: 5000, creditedAmount: 0, credits: [] } });
    // act
    const result = await reconcileTransaction(options(store, psp));
    // assess
    expect(store.writes).toEqual([{ id: 'A', outcome: { to: 'pending', released: 'status lookup: not credited at the PSP', provenNotBooked: true, runId: 'rec-1', at: AT }, expect: 'unknown' }]);
    expect(result.events.map((e) => [e.refund.id, e.outcome])).toEqual([['A', 'back_to_pending']]);
    expect(result.refunds[0]).toMatchObject({ status: 'pending', version: 4 });
    expect(result.difference).toBeNull();
    expect(psp.creditRequests).toBe(0);
  });

  it('holds a refund refunded when its credit shows, and confirms or catches the late failure of our credits known by id', async () => {
    // prepare: A unknown, its credit at the PSP; B and C refunded recently, C's credit failed after booking
    const store = new FakeStore([
      dispatchRefund('A'),
      dispatchRefund('B', { status: 'refunded', pspCreditTransactionId: 'CB', settledAt: iso(0), attemptSentAt: iso(-10 * MIN) }),
      dispatchRefund('C', { status: 'refunded', pspCreditTransactionId: 'CC', settledAt: iso(0), attemptSentAt: iso(-20 * MIN), amount: { amount: 700, currency: 'CHF' } }),
    ]);
    const psp = new FakePsp();
    const credit = { type: 'credit', amount: 1000, currency: 'CHF', state: 'booked' as const, failReason: null };
    psp.credits.set('CB', { kind: 'found', credit: { ...credit, creditTransactionId: 'CB', refno: 'B' } });
    psp.credits.set('CC', { kind: 'found', credit: { ...credit, creditTransactionId: 'CC', refno: 'C', amount: 700, state: 'failed', failReason: 'declined' } });
    const credits = [{ amount: 700, date: iso(-19 * MIN), source: 'api' }, { amount: 1000, date: iso(-9 * MIN), source: 'api' }, { amount: 1000, date: iso(MIN), source: 'api' }];
    psp.transactions.set('T1', { kind: 'found', view: { currency: 'CHF', settledAmount: 5000, creditedAmount: 2000, credits } });
    // act
    const result = await reconcileTransaction(options(store, psp, { confirmSince: iso(-MIN) }));
    // assess
    expect(result.events.map((e) => [e.refund.id, e.outcome])).toEqual([['B', 'confirmed'], ['C', 'late_failure'], ['A', 'refunded']]);
    expect(store.writes.map((w) => [w.id, w.outcome.to, w.expect])).toEqual([['C', 'failed', 'refunded'], ['A', 'refunded', 'unknown']]);
    expect(Object.fromEntries(result.refunds.map((r) => [r.id, r.status]))).toEqual({ A: 'refunded', B: 'refunded', C: 'failed' });
    // C's credit, still listed as successful, is explained by its late failure: nothing left over.
    expect(result.refunds.find((r) => r.id === 'C')?.failedCredits).toEqual([{ creditTransactionId: 'CC', amount: 700, at: AT }]);
    expect(result.difference).toBeNull();
  });

  it('writes nothing over a refund changed meanwhile, and leaves a live claim to the dispatch', async () => {
    // prepare: A read at version 3, now at 4; B claimed until later
    const a = dispatchRefund('A');
    const store = new FakeStore([{ ...a, version: 4 }, dispatchRefund('B', { status: 'sending', sending: { runId: 'd', attempt: 1, leaseUntil: iso(90 * MIN), from: 'pending' } })]);
    const psp = new FakePsp();
    psp.transactions.set('T1', { kind: 'found', view: { currency: 'CHF', settledAmount: 5000, creditedAmount: 0, credits: [] } });
    // act
    const result = await reconcileTransaction(options(store, psp, { refunds: [a, store.refunds.get('B')!] }));
    // assess
    expect(store.writes).toEqual([]);
    expect(result.events.map((e) => [e.refund.id, e.outcome])).toEqual([['A', 'conflict']]);
  });

  it('settles only the refund asked for (the psp pass), and lists the transaction when its status cannot be read', async () => {
    // prepare
    const store = new FakeStore([dispatchRefund('A'), dispatchRefund('B')]);
    const psp = new FakePsp();
    // act
    const result = await reconcileTransaction(options(store, psp, { only: 'B' }));
    // assess
    expect(result.events.map((e) => [e.refund.id, e.outcome, e.what])).toEqual([['B', 'still_unknown', 'PSP status not read: no such transaction T1']]);
    expect(result.difference).toMatchObject({ psp: null, refundIds: ['A:unknown', 'B:unknown'], note: 'PSP status not read: no such transaction T1' });
    expect(store.writes).toEqual([]);
  });

  it('stops on a configuration error (by its name: the state machine catches it)', async () => {
    // prepare
    const store = new FakeStore([dispatchRefund('A')]);
    const psp = new FakePsp();
    psp.transactions.set('T1', { kind: 'configuration_error', httpStatus: 401, reason: 'unauthorized' });
    // act, assess
    await expect(reconcileTransaction(options(store, psp))).rejects.toMatchObject({ name: 'PspConfigurationError', httpStatus: 401 });
    expect(store.writes).toEqual([]);
  });
});
