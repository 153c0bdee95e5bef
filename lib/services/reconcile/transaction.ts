import type { DispatchRefund, DispatchStore } from '../../adapters/dynamodb/dispatch-store.ts';
import { PspConfigurationError, refnoFor, type RefundPsp } from '../../adapters/psp/port.ts';
import { awaitsLookup, type LookupTiming } from '../../core/psp-decisions.ts';
import { attributionOf, confirmationOf, differenceOf, notRead, settlementOf, toConfirm, unreadDifference, type Difference } from '../../core/reconciliation.ts';
import type { ReconcileOutcome } from '../../core/outcomes.ts';

export { Difference } from '../../core/reconciliation.ts';

/**
 * Reconciles one original transaction with the PSP's records: reads its status once, confirms
 * our known credits by id (late failures), attributes its credits and settles every refund of ours
 * that awaits a lookup and is old enough (lib/core/reconciliation.ts), and says what it cannot
 * explain. Never sends a refund. Used by ReconcileRefunds and, for one refund, by the psp pass.
 */

export interface RefundEvent {
  refund: DispatchRefund;
  /** The tally: refunded, back_to_pending, proven_not_booked, failed, manual, still_unknown, too_recent, confirmed, late_failure, unverified, conflict. */
  outcome: ReconcileOutcome;
  what: string;
}

export interface TransactionReconciliation {
  events: RefundEvent[];
  difference: Difference | null;
  /** The transaction's refunds after the writes (fresh copies where written). */
  refunds: DispatchRefund[];
}

/** The writes reconciliation makes: conditioned on the refund being as read. */
export type ReconcileStore = Pick<DispatchStore, 'get' | 'settleClaim' | 'lateFailure'>;


export interface ReconcileOptions {
  store: ReconcileStore;
  psp: RefundPsp;
  runId: string;
  transactionId: string;
  /** Every refund of ours on the transaction, freshly read. */
  refunds: DispatchRefund[];
  now: number;
  timing: LookupTiming & { unclearToManualMs?: number };
  /** Refunded refunds settled since then are confirmed by their credit id (late failures); null: none. */
  confirmSince: string | null;
  /** Settle only this refund (the psp pass); the others are read for the attribution. */
  only?: string;
}

export async function reconcileTransaction(o: ReconcileOptions): Promise<TransactionReconciliation> {
  const { store, psp, runId, transactionId, now } = o;
  const base = { runId, at: new Date(now).toISOString() };
  const events: RefundEvent[] = [];
  const byId = new Map(o.refunds.map((r) => [r.id, r]));
  const mine = (r: DispatchRefund) => !o.only || r.id === o.only;
  const note = (refund: DispatchRefund, e: { outcome: ReconcileOutcome; what: string } | null) => {
    if (e) events.push({ refund, outcome: e.outcome, what: e.what });
  };
  const refresh = async (r: DispatchRefund) => {
    const fresh = await store.get(r.id);
    if (fresh) byId.set(fresh.id, fresh);
  };

  // 1. Our credits known by id, settled recently: confirmed, or failed after booking (late failure).
  for (const r of o.confirmSince === null ? [] : toConfirm(o.refunds, o.confirmSince, o.only)) {
    const read = await psp.credit(r.pspCreditTransactionId as string);
    if (read.kind === 'configuration_error') throw new PspConfigurationError(read.httpStatus, read.reason);
    const confirmation = confirmationOf(r.pspCreditTransactionId as string, read, refnoFor(r.id));
    if (confirmation.outcome !== 'late_failure') note(r, confirmation);
    else if (await store.lateFailure(r, confirmation.code, confirmation.creditTransactionId, runId, base.at)) {
      note(r, confirmation);
      await refresh(r);
    } else note(r, { outcome: 'conflict', what: 'changed while reconciling' });
  }

  // 2. The original transaction's credits, attributed.
  const awaiting = [...byId.values()].filter((r) => awaitsLookup(r));
  const read = await psp.transaction(transactionId);
  if (read.kind === 'configuration_error') throw new PspConfigurationError(read.httpStatus, read.reason);
  if (read.kind === 'unknown') {
    for (const r of awaiting.filter(mine)) note(r, notRead(r, now, read.reason));
    const refunds = [...byId.values()];
    return { events, refunds, difference: unreadDifference(transactionId, refunds, read.reason) };
  }
  const attribution = attributionOf(read.view, [...byId.values()]);

  // 3. Settle what awaits a lookup and is old enough: a slow booking must have had time to show.
  for (const r of awaiting.filter(mine)) {
    const settlement = settlementOf(r, attribution, read.view, now, o.timing);
    if (!settlement?.write) {
      note(r, settlement);
      continue;
    }
    if (!(await store.settleClaim(r, r.version, { ...settlement.write, ...base }, r.status))) {
      note(r, { outcome: 'conflict', what: 'changed while reconciling' });
      continue;
    }
    note(r, settlement);
    await refresh(r);
  }

  // 4. What the PSP holds that our ledger does not explain, and what we hold that it does not.
  const refunds = [...byId.values()];
  return { events, refunds, difference: differenceOf(transactionId, refunds, attribution, read.view, events.some((e) => e.outcome === 'manual')) };
}
