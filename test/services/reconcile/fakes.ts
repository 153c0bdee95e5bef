import type { DispatchRefund } from '../../../lib/adapters/dynamodb/dispatch-store.ts';
import type { PspCreditLookup, PspTransactionLookup, RefundPsp } from '../../../lib/adapters/psp/port.ts';
import type { ReconcilePageStore } from '../../../lib/services/reconcile/page.ts';

/**
 * In-memory doubles of the refunds table and the PSP for the reconcile services: the store keeps
 * DispatchStore's condition (status and version as read) and records every write it accepts; the
 * PSP answers reads from what a test put in it and counts credit requests (there must be none).
 */

export const T0 = Date.parse('2026-07-13T02:00:00Z');
export const iso = (ms: number) => new Date(T0 + ms).toISOString();
export const MIN = 60_000;

export function dispatchRefund(id: string, over: Partial<DispatchRefund> = {}): DispatchRefund {
  return {
    id,
    orderId: `O-${id}`,
    paymentId: 'PAY1',
    method: 'card',
    amount: { amount: 1000, currency: 'CHF' },
    status: 'unknown',
    reason: 'cancellation',
    createdAt: iso(-MIN),
    ownerId: 'C1',
    ownerKind: 'customer',
    pspTransactionId: 'T1',
    version: 3,
    attempt: 1,
    attemptSentAt: iso(0),
    lastPspAt: iso(0),
    ...over,
  };
}

type SettleClaim = ReconcilePageStore['settleClaim'];

export class FakeStore implements ReconcilePageStore {
  readonly refunds = new Map<string, DispatchRefund>();
  readonly writes: { id: string; outcome: Parameters<SettleClaim>[2]; expect: string | undefined }[] = [];

  constructor(refunds: DispatchRefund[] = []) {
    for (const r of refunds) this.refunds.set(r.id, r);
  }

  async get(id: string): Promise<DispatchRefund | undefined> {
    const r = this.refunds.get(id);
    return r && { ...r };
  }

  async refundsOfOrder(orderId: string): Promise<DispatchRefund[]> {
    return [...this.refunds.values()].filter((r) => r.orderId === orderId).map((r) => ({ ...r }));
  }

  /** One segment: the refunds in id order, `limit` a page, the cursor the next index. */
  async scanPage(_segment: number, _total: number, cursor: string | null, limit: number): Promise<{ refunds: DispatchRefund[]; cursor: string | null }> {
    const all = [...this.refunds.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    const from = cursor === null ? 0 : Number(cursor);
    return { refunds: all.slice(from, from + limit).map((r) => ({ ...r })), cursor: from + limit < all.length ? String(from + limit) : null };
  }

  settleClaim: SettleClaim = async (r, version, outcome, expect = 'sending') => {
    const now = this.refunds.get(r.id);
    if (!now || now.status !== expect || now.version !== version) return false;
    this.writes.push({ id: r.id, outcome, expect });
    // What the lookup needs of the real write: the credit held, whether the attempt is proven not booked, our failed credits.
    const fields: Partial<DispatchRefund> =
      outcome.to === 'refunded'
        ? { pspCreditTransactionId: outcome.creditTransactionId, settledAt: outcome.at, attemptNotBooked: false }
        : 'released' in outcome
          ? { attemptNotBooked: outcome.provenNotBooked }
          : outcome.to === 'failed' && 'pspCode' in outcome
            ? { attemptNotBooked: true, failedCredits: [...(now.failedCredits ?? []), ...(outcome.failedCredit ? [{ ...outcome.failedCredit, at: outcome.at }] : [])] }
            : {};
    this.refunds.set(r.id, { ...now, status: outcome.to, version: now.version + 1, ...fields });
    return true;
  };

  async lateFailure(r: DispatchRefund, pspCode: string, creditTransactionId: string, runId: string, at: string): Promise<boolean> {
    const failedCredit = { creditTransactionId, amount: r.amount.amount };
    return this.settleClaim(r, r.version, { to: 'failed', pspCode, pspMessage: 'the PSP reported the credit failed after booking it', runId, at, notify: 'late_failure', failedCredit }, 'refunded');
  }
}

export class FakePsp implements RefundPsp {
  readonly name = 'fake';
  readonly transactions = new Map<string, PspTransactionLookup>();
  readonly credits = new Map<string, PspCreditLookup>();
  creditRequests = 0;

  async refund(): Promise<never> {
    this.creditRequests++;
    throw new Error('reconciliation never sends a refund');
  }

  async transaction(id: string): Promise<PspTransactionLookup> {
    return this.transactions.get(id) ?? { kind: 'unknown', reason: `no such transaction ${id}` };
  }

  async credit(id: string): Promise<PspCreditLookup> {
    return this.credits.get(id) ?? { kind: 'unknown', reason: `no such credit ${id}` };
  }
}
