import * as z from 'zod';
import { DispatchStore, type DispatchRefund } from '../../lib/adapters/dynamodb/dispatch-store.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { PspConfigurationError, type OtherCreditOnTransaction, type PspLookupOutcome } from '../../lib/adapters/psp/port.ts';
import { tally } from '../../lib/core/report.ts';
import { stage } from '../commons/handler.ts';
import { envInt, forEachConcurrently, psp, TalliesSchema } from '../dispatch-refunds/shared.ts';
import { SCAN_SEGMENTS } from './validate.ts';

const Difference = z.object({ transactionId: z.string(), currency: z.string(), ours: z.number(), psp: z.number().nullable(), refundIds: z.array(z.string()), note: z.string() });
export type Difference = z.infer<typeof Difference>;

const Input = z.object({
  runId: z.string(),
  scope: z.object({ runId: z.string().nullable(), since: z.string() }),
  segment: z.number().int().min(0),
  cursor: z.string().nullish().transform((c) => c ?? null),
  page: z.number().int().min(0).default(0),
  tallies: TalliesSchema.default({}),
  differences: z.array(Difference).default([]),
  differenceCount: z.number().int().default(0),
});

const MAX_DIFFERENCES_IN_STATE = 20;

/**
 * 2. One page of one scan segment: settles unknown and abandoned in-flight refunds from the PSP's
 * records, detects late failures of refunded ones, and compares, per original transaction, what
 * we hold refunded with what the PSP reports credited. Never sends a refund.
 */
export const handler = stage(Input, async (state) => {
  const store = new DispatchStore();
  const client = await psp();
  const now = Date.now();
  const inScope = (r: DispatchRefund) => {
    if (state.scope.runId) return (r.runIds ?? []).includes(state.scope.runId);
    if (r.status === 'unknown') return true;
    if (r.status === 'sending') return !!r.sending && Date.parse(r.sending.leaseUntil) <= now;
    return r.status === 'refunded' && (r.settledAt ?? '') >= state.scope.since;
  };
  const page = await store.scanPage(state.segment, SCAN_SEGMENTS, state.cursor, envInt('RECONCILE_PAGE_SIZE', 200));
  const refunds = page.refunds.filter(inScope);
  let tallies = state.tallies;
  const lines: string[] = [];
  let stopped: PspConfigurationError | null = null;
  const count = (outcome: string, r: DispatchRefund, what: string) => {
    tallies = tally(tallies, outcome, r.amount);
    lines.push(`${r.id} order=${r.orderId} ${r.amount.amount} ${r.amount.currency}: ${what}`);
  };
  const at = new Date().toISOString();
  const base = { runId: state.runId, at };

  await forEachConcurrently(refunds, 8, async (r) => {
    if (stopped) return;
    // A live claim belongs to a running dispatch: not ours to settle.
    if (r.status === 'sending' && r.sending && Date.parse(r.sending.leaseUntil) > Date.now()) return count('skipped:in_flight', r, 'in flight in a running dispatch');
    if (r.status !== 'unknown' && r.status !== 'sending' && r.status !== 'refunded') return;
    const others: OtherCreditOnTransaction[] = (await store.refundsOfOrder(r.orderId))
      .filter((o) => o.id !== r.id && o.pspTransactionId === r.pspTransactionId && (o.status === 'refunded' || o.status === 'unknown' || o.status === 'sending'))
      .map((o) => ({ amount: o.amount, outcome: o.status === 'refunded' ? 'credited' : 'unknown' }));
    const outcome: PspLookupOutcome = await client.lookup({
      refundId: r.id,
      originalTransactionId: r.pspTransactionId ?? '',
      amount: r.amount,
      attempt: r.sending?.attempt ?? r.attempt ?? 1,
      creditTransactionId: r.pspCreditTransactionId ?? null,
      otherCreditsOnTransaction: others,
    });
    if (outcome.kind === 'configuration_error') {
      stopped ??= new PspConfigurationError(outcome.httpStatus, outcome.reason);
      return;
    }
    if (r.status === 'refunded') {
      if (outcome.kind === 'credited') return count('confirmed', r, 'confirmed credited by the PSP');
      if (outcome.kind === 'failed_after_credit') {
        if (await store.lateFailure(r, outcome.code, state.runId, at)) return count('late_failure', r, `late failure (${outcome.code}): back to failed for the credit pass, customer told`);
        return count('conflict', r, 'changed while reconciling');
      }
      return count('unverified', r, `PSP status unclear: ${outcome.kind === 'unknown' ? outcome.reason : outcome.kind}`);
    }
    // unknown, or an abandoned claim
    switch (outcome.kind) {
      case 'credited':
        if (await store.settleClaim(r, r.version, { to: 'refunded', creditTransactionId: outcome.creditTransactionId, ...base }, r.status)) return count('refunded', r, 'the PSP booked it: refunded');
        return count('conflict', r, 'changed while reconciling');
      case 'not_credited':
        // Back to pending with the SAME attempt: the next psp pass resends with the same idempotency
        // key, so if the PSP still holds a live request under it (keys live 60 minutes) it answers
        // that one instead of booking twice; pending card refunds are never credited by `fallback`.
        if (await store.settleClaim(r, r.version, { to: 'pending', released: 'reconciliation: not credited at the PSP', ...base }, r.status)) {
          return count('back_to_pending', r, 'not credited at the PSP: back to pending, same idempotency key for the next psp pass');
        }
        return count('conflict', r, 'changed while reconciling');
      case 'failed_after_credit':
        if (await store.settleClaim(r, r.version, { to: 'failed', pspCode: outcome.code, pspMessage: 'the PSP reports the credit failed', ...base }, r.status)) return count('failed', r, `credit failed at the PSP (${outcome.code}): failed`);
        return count('conflict', r, 'changed while reconciling');
      case 'unknown':
        if (r.status === 'sending') await store.settleClaim(r, r.version, { to: 'unknown', reason: outcome.reason, ...base }, 'sending');
        return count('still_unknown', r, `still unknown: ${outcome.reason}`);
    }
  });
  if (stopped) throw stopped;

  // Our refunded total vs the PSP's credited amount, per original transaction (each handled once: by its smallest in-scope refund id).
  const differences: Difference[] = [];
  const transactions = new Map<string, DispatchRefund>();
  for (const r of refunds) if (r.pspTransactionId) transactions.set(r.pspTransactionId, transactions.get(r.pspTransactionId) ?? r);
  if (client.creditsOf) {
    const creditsOf = client.creditsOf.bind(client);
    await forEachConcurrently([...transactions.entries()], 8, async ([transactionId, r]) => {
      const related = (await store.refundsOfOrder(r.orderId)).filter((o) => o.pspTransactionId === transactionId);
      const owner = related.filter(inScopeAfter).sort((a, b) => a.id.localeCompare(b.id))[0];
      if (owner && owner.id !== r.id && refunds.every((x) => x.id !== owner.id)) return; // another page owns it
      const refunded = related.filter((o) => o.status === 'refunded');
      const ours = refunded.reduce((s, o) => s + o.amount.amount, 0);
      const reported = await creditsOf(transactionId);
      tallies = tally(tallies, 'transactions_compared');
      if (reported.kind === 'configuration_error') throw new PspConfigurationError(reported.httpStatus, reported.reason);
      const pspAmount = reported.kind === 'found' ? reported.creditedAmount : null;
      if (pspAmount === ours) return;
      const d: Difference = {
        transactionId,
        currency: r.amount.currency,
        ours,
        psp: pspAmount,
        refundIds: related.map((o) => `${o.id}:${o.status}`),
        note: pspAmount === null ? `PSP status not read: ${reported.kind === 'unknown' ? reported.reason : ''}` : pspAmount > ours ? 'the PSP credited more than we hold refunded' : 'we hold more refunded than the PSP credited',
      };
      differences.push(d);
      tallies = tally(tallies, 'difference', { amount: Math.abs((pspAmount ?? 0) - ours), currency: r.amount.currency });
      lines.push(`DIFFERENCE transaction ${transactionId}: ours ${ours} ${d.currency}, PSP ${pspAmount ?? 'unread'} (${d.note}); refunds ${d.refundIds.join(', ')}`);
    });
  }
  await new RunRepository().log(state.runId, `seg${String(state.segment).padStart(2, '0')}#page${String(state.page).padStart(5, '0')}`, lines);
  return {
    ...state,
    cursor: page.cursor,
    page: state.page + 1,
    done: page.cursor === null,
    tallies,
    differences: [...state.differences, ...differences].slice(0, MAX_DIFFERENCES_IN_STATE),
    differenceCount: state.differenceCount + differences.length,
  };

  function inScopeAfter(o: DispatchRefund): boolean {
    return (o.status === 'refunded' || o.status === 'unknown' || o.status === 'sending') && inScope(o);
  }
});
