import type { DispatchStore } from '../../adapters/dynamodb/dispatch-store.ts';
import { PspConfigurationError, type RefundPsp } from '../../adapters/psp/port.ts';
import { forEachConcurrently } from '../../core/concurrency.ts';
import type { LookupTiming } from '../../core/psp-decisions.ts';
import { pageOwnsTransaction, recordPage, transactionsOnPage, type ComparedTransaction, type ReconcileScope, type SegmentRecord } from '../../core/reconciliation.ts';
import { reconcileTransaction, type ReconcileStore } from './transaction.ts';

/** What a page reads and writes: one scan segment's page, an order's refunds, and reconciliation's writes. */
export type ReconcilePageStore = ReconcileStore & Pick<DispatchStore, 'scanPage' | 'refundsOfOrder'>;

export interface SegmentState extends SegmentRecord {
  runId: string;
  scope: ReconcileScope;
  segment: number;
  cursor: string | null;
}

export interface PageSettings {
  totalSegments: number;
  pageSize: number;
  timing: LookupTiming & { unclearToManualMs?: number };
  /** Transactions compared at once. */
  concurrency?: number;
  now?: () => number;
}

/** The segment's record after the page, the next page's cursor (null: segment done), and the page's run-log lines. */
export type ReconciledPage = SegmentRecord & { cursor: string | null; lines: string[] };

/**
 * One page of a scan segment of the refunds ever sent to the PSP. Each original transaction is
 * reconciled once per run, by the page holding its smallest-id refund in scope (lib/core/reconciliation.ts);
 * the others on the page are left to it. A configuration error stops the page once the transactions
 * under way are done; any other error fails it. Never sends a refund.
 */
export async function reconcilePage(deps: { store: ReconcilePageStore; psp: RefundPsp }, state: SegmentState, settings: PageSettings): Promise<ReconciledPage> {
  const { store, psp } = deps;
  const now = settings.now ?? Date.now;
  const page = await store.scanPage(state.segment, settings.totalSegments, state.cursor, settings.pageSize);
  const { onPage, transactions } = transactionsOnPage(page.refunds, state.scope);
  const compared: ComparedTransaction[] = [];
  let stopped: PspConfigurationError | null = null;

  await forEachConcurrently([...transactions.entries()], settings.concurrency ?? 8, async ([transactionId, first]) => {
    if (stopped) return;
    const related = (await store.refundsOfOrder(first.orderId)).filter((o) => o.pspTransactionId === transactionId);
    if (!pageOwnsTransaction(related, onPage, state.scope)) return; // another page owns this transaction
    try {
      const result = await reconcileTransaction({ store, psp, runId: state.runId, transactionId, refunds: related, now: now(), timing: settings.timing, confirmSince: state.scope.since });
      compared.push({ transactionId, events: result.events, difference: result.difference });
    } catch (error) {
      if (error instanceof PspConfigurationError) stopped ??= error;
      else throw error;
    }
  });
  if (stopped) throw stopped;

  return { ...recordPage(state, compared), cursor: page.cursor };
}
