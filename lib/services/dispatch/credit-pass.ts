import type { DispatchRefund } from '../../adapters/dynamodb/dispatch-store.ts';
import type { RefundCredits } from '../../adapters/dynamodb/refund-credits.ts';
import { creditNote, creditRefusal, type PageNote } from '../../core/dispatch-pass.ts';

export interface CreditPassRun {
  runId: string;
  simulationRunId: string;
  /** false: the run owes no credit emails. */
  notify: boolean;
  /** When the credits are booked (one instant for the page). */
  at: string;
  /** Refunds packed to a transaction: DynamoDB (Local most of all) pays per transaction. */
  perTransaction: number;
  /** Approved by the run's simulation (same amount and currency). */
  approved: (r: DispatchRefund) => boolean;
}

/**
 * The credit pass over one page: refunds in flight at the PSP and refunds the simulation did not
 * approve are noted and left; the others are credited to their owner's account, packed several to
 * a transaction. Returns what it noted, in order.
 */
export async function creditPass(candidates: readonly DispatchRefund[], run: CreditPassRun, credits: Pick<RefundCredits, 'creditMany'>): Promise<PageNote[]> {
  const notes: PageNote[] = [];
  const eligible: DispatchRefund[] = [];
  for (const r of candidates) {
    const refusal = creditRefusal(r, run.approved(r), run.simulationRunId);
    if (refusal) notes.push(refusal);
    else eligible.push(r);
  }
  const credited = await credits.creditMany(eligible, run.runId, run.at, run.perTransaction, 1, run.notify);
  for (const r of eligible) notes.push(creditNote(r, credited.has(r.id)));
  return notes;
}
