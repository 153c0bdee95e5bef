import * as z from 'zod';
import { DispatchStore, type DispatchRefund } from '../../lib/adapters/dynamodb/dispatch-store.ts';
import { pageLogKey, RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { PspConfigurationError } from '../../lib/adapters/psp/port.ts';
import { tally } from '../../lib/core/report.ts';
import { stage } from '../commons/handler.ts';
import { CallFields, pageCall, shardItem } from '../commons/paging.ts';
import { TalliesSchema } from '../../lib/core/report.ts';
import { envInt, forEachConcurrently, psp } from '../dispatch-refunds/shared.ts';
import { Difference, lookupTiming, reconcileTransaction } from './transaction.ts';
import { SCAN_SEGMENTS } from './validate.ts';

export { Difference };

const PageInput = z.object({
  runId: z.string(),
  scope: z.object({ runId: z.string().nullable(), since: z.string() }),
  segment: z.number().int().min(0),
  cursor: z.string().nullish().transform((c) => c ?? null),
  page: z.number().int().min(0).default(0),
  tallies: TalliesSchema.default({}),
  differences: z.array(Difference).default([]),
  differenceCount: z.number().int().default(0),
  ...CallFields.shape,
});
const Input = z.preprocess((raw) => shardItem(raw, 'segment'), PageInput);

const MAX_DIFFERENCES_IN_STATE = 20;

/** Sent to the PSP at least once (or in flight): its transaction is compared. */
const everSent = (r: DispatchRefund) => (r.attempt ?? 0) > 0 || r.status === 'unknown' || r.status === 'sending' || r.status === 'refunded';

/**
 * 2. Pages of one scan segment of the refunds ever sent to the PSP (several a call, functions/commons/paging.ts). Each original transaction
 * is handled once per run (by the page holding its smallest-id refund): its status read once,
 * refunds awaiting a lookup settled when old enough, late failures caught, and every PSP credit
 * our ledger does not explain listed. Never sends a refund.
 */
export const handler = stage(Input, async (first, ctx) => pageCall(first, ctx, reconcilePage));

async function reconcilePage(state: z.infer<typeof PageInput>) {
  const store = new DispatchStore();
  const client = await psp();
  const timing = lookupTiming();
  const inScope = (r: DispatchRefund) => everSent(r) && (!state.scope.runId || (r.runIds ?? []).includes(state.scope.runId));
  const page = await store.scanPage(state.segment, SCAN_SEGMENTS, state.cursor, envInt('RECONCILE_PAGE_SIZE', 200));
  const onPage = page.refunds.filter((r) => inScope(r) && r.pspTransactionId);
  const transactions = new Map<string, DispatchRefund>();
  for (const r of onPage) {
    const seen = transactions.get(r.pspTransactionId as string);
    if (!seen || r.id < seen.id) transactions.set(r.pspTransactionId as string, r);
  }
  let tallies = state.tallies;
  const lines: string[] = [];
  const differences: Difference[] = [];
  let stopped: PspConfigurationError | null = null;

  await forEachConcurrently([...transactions.entries()], 8, async ([transactionId, first]) => {
    if (stopped) return;
    const related = (await store.refundsOfOrder(first.orderId)).filter((o) => o.pspTransactionId === transactionId);
    const owner = related.filter(inScope).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))[0];
    if (!owner || !onPage.some((r) => r.id === owner.id)) return; // another page owns this transaction
    try {
      const result = await reconcileTransaction({ store, psp: client, runId: state.runId, transactionId, refunds: related, now: Date.now(), timing, confirmSince: state.scope.since });
      tallies = tally(tallies, 'transactions_compared');
      for (const e of result.events) {
        tallies = tally(tallies, e.outcome, e.refund.amount);
        lines.push(`${e.refund.id} order=${e.refund.orderId} ${e.refund.amount.amount} ${e.refund.amount.currency}: ${e.what}`);
      }
      const d = result.difference;
      if (d) {
        differences.push(d);
        tallies = tally(tallies, 'difference');
        lines.push(`DIFFERENCE transaction ${transactionId}: ours ${d.ours} ${d.currency}, PSP ${d.psp ?? 'unread'}; ${d.note}; refunds ${d.refundIds.join(', ')}`);
        for (const c of d.unexplainedCredits) lines.push(`PSP CREDIT transaction ${transactionId}: ${c.amount} ${d.currency} on ${c.date ?? 'unknown date'}, source ${c.source}`);
      }
    } catch (error) {
      if (error instanceof PspConfigurationError) stopped ??= error;
      else throw error;
    }
  });
  if (stopped) throw stopped;

  await new RunRepository().log(state.runId, pageLogKey(state.segment, state.page, { unit: 'seg' }), lines);
  return {
    ...state,
    cursor: page.cursor,
    page: state.page + 1,
    done: page.cursor === null,
    tallies,
    differences: [...state.differences, ...differences].slice(0, MAX_DIFFERENCES_IN_STATE),
    differenceCount: state.differenceCount + differences.length,
  };
}
