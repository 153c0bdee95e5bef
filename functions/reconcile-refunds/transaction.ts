import * as z from 'zod';
import type { DispatchRefund, DispatchStore } from '../../lib/adapters/dynamodb/dispatch-store.ts';
import { PspConfigurationError, refnoFor, type RefundPsp } from '../../lib/adapters/psp/port.ts';
import { attributeCredits, type PspCreditAction, type PspTransactionView } from '../../lib/core/psp-attribution.ts';
import { awaitsLookup, lookupNotBefore, RECONCILE_MARGIN_MS, resolve, UNCLEAR_TO_MANUAL_MS, verdictOfKnownCredit, type LookupTiming, type LookupVerdict } from '../../lib/core/psp-decisions.ts';
import { envInt } from '../dispatch-refunds/shared.ts';

/**
 * Reconciles one original transaction with the PSP's records: reads its status once, confirms
 * our known credits by id (late failures), attributes its credits (lib/core/psp-attribution.ts),
 * settles every refund of ours that awaits a lookup and is old enough (lib/core/psp-decisions.ts),
 * and says what it cannot explain. Used by ReconcileRefunds and, for one refund, by the psp pass.
 */

export const Difference = z.object({
  transactionId: z.string(),
  currency: z.string(),
  /** What we hold refunded on it. */
  ours: z.number(),
  /** What the PSP reports credited on it (every source, late failures excluded); null when not read. */
  psp: z.number().nullable(),
  refundIds: z.array(z.string()),
  /** PSP credits no refunded refund of ours explains: back-office credits, credits of refunds still unknown, credits beyond ours. */
  unexplainedCredits: z.array(z.object({ amount: z.number(), date: z.string().nullable(), source: z.string() })).default([]),
  /** Refunds we hold refunded whose credit the PSP does not show. */
  missing: z.array(z.string()).default([]),
  note: z.string(),
});
export type Difference = z.infer<typeof Difference>;

export interface RefundEvent {
  refund: DispatchRefund;
  /** The tally: refunded, back_to_pending, proven_not_booked, failed, manual, still_unknown, too_recent, confirmed, late_failure, unverified, conflict. */
  outcome: string;
  what: string;
}

export interface TransactionReconciliation {
  events: RefundEvent[];
  difference: Difference | null;
  /** The transaction's refunds after the writes (fresh copies where written). */
  refunds: DispatchRefund[];
}

/**
 * The client time-out the dispatch used (as configured now), the margin for slow bookings (0 allowed:
 * tests, chaos), and how long a refund may stay unclear before it goes to a person.
 */
export function lookupTiming(): LookupTiming & { unclearToManualMs: number } {
  const margin = Number(process.env.MASS_REFUND_RECONCILE_MARGIN_SECONDS);
  const marginMs = process.env.MASS_REFUND_RECONCILE_MARGIN_SECONDS !== undefined && Number.isSafeInteger(margin) && margin >= 0 ? margin * 1000 : RECONCILE_MARGIN_MS;
  return { timeoutMs: envInt('MASS_REFUND_PSP_TIMEOUT_MS', 20_000), marginMs, unclearToManualMs: envInt('MASS_REFUND_UNCLEAR_TO_MANUAL_SECONDS', UNCLEAR_TO_MANUAL_MS / 1000) * 1000 };
}

export interface ReconcileOptions {
  store: DispatchStore;
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

const fmtCredit = (c: PspCreditAction) => `${c.amount} on ${c.date ?? 'an unknown date'} (source ${c.source})`;

/** A refund's lookup window starts with its attempt's first send (or its creation, on records older than that field). */
function windowFrom(r: DispatchRefund): string | null {
  return r.attemptSentAt ?? r.createdAt ?? null;
}

function liveClaim(r: DispatchRefund, now: number): boolean {
  return r.status === 'sending' && !!r.sending && Date.parse(r.sending.leaseUntil) > now;
}

export async function reconcileTransaction(o: ReconcileOptions): Promise<TransactionReconciliation> {
  const { store, psp, runId, transactionId, now } = o;
  const at = new Date(now).toISOString();
  const base = { runId, at };
  const events: RefundEvent[] = [];
  const byId = new Map(o.refunds.map((r) => [r.id, r]));
  const mine = (r: DispatchRefund) => !o.only || r.id === o.only;
  const note = (r: DispatchRefund, outcome: string, what: string) => events.push({ refund: r, outcome, what });
  const refresh = async (r: DispatchRefund) => {
    const fresh = await store.get(r.id);
    if (fresh) byId.set(fresh.id, fresh);
  };

  // 1. Our credits known by id, settled recently: confirmed, or failed after booking (late failure).
  if (o.confirmSince !== null) {
    for (const r of o.refunds.filter((x) => x.status === 'refunded' && x.pspCreditTransactionId && mine(x) && (x.settledAt ?? '') >= (o.confirmSince as string))) {
      const read = await psp.credit(r.pspCreditTransactionId as string);
      if (read.kind === 'configuration_error') throw new PspConfigurationError(read.httpStatus, read.reason);
      if (read.kind === 'unknown') {
        note(r, 'unverified', `credit ${r.pspCreditTransactionId} not read: ${read.reason}`);
        continue;
      }
      const verdict = verdictOfKnownCredit(read.credit, refnoFor(r.id));
      if (verdict.kind === 'credited') note(r, 'confirmed', `confirmed by credit ${verdict.creditTransactionId}`);
      else if (verdict.kind === 'failed_after_credit') {
        if (await store.lateFailure(r, verdict.code, read.credit.creditTransactionId, runId, at)) {
          note(r, 'late_failure', `late failure of credit ${read.credit.creditTransactionId} (${verdict.code}): back to failed for the credit pass, customer told`);
          await refresh(r);
        } else note(r, 'conflict', 'changed while reconciling');
      } else note(r, 'unverified', verdict.kind === 'ambiguous' ? verdict.reason : 'not confirmed');
    }
  }

  // 2. The original transaction's credits, attributed.
  const awaiting = [...byId.values()].filter((r) => awaitsLookup(r));
  const read = await psp.transaction(transactionId);
  if (read.kind === 'configuration_error') throw new PspConfigurationError(read.httpStatus, read.reason);
  if (read.kind === 'unknown') {
    for (const r of awaiting.filter(mine)) if (!liveClaim(r, now)) note(r, 'still_unknown', `PSP status not read: ${read.reason}`);
    const refunds = [...byId.values()];
    const ours = refunds.filter((r) => r.status === 'refunded').reduce((s, r) => s + r.amount.amount, 0);
    const currency = refunds[0]?.amount.currency ?? '';
    return { events, refunds, difference: { transactionId, currency, ours, psp: null, refundIds: refunds.map((r) => `${r.id}:${r.status}`), unexplainedCredits: [], missing: [], note: `PSP status not read: ${read.reason}` } };
  }
  const view: PspTransactionView = read.view;
  const attribution = attributeCredits(
    view,
    [...byId.values()].map((r) => ({
      id: r.id,
      amount: r.amount.amount,
      holdsCredit: r.status === 'refunded',
      failedCredits: (r.failedCredits ?? []).map((c) => c.amount),
      awaitsLookup: awaitsLookup(r),
      windowFrom: windowFrom(r),
    })),
  );

  // 3. Settle what awaits a lookup and is old enough: a slow booking must have had time to show.
  for (const r of awaiting.filter(mine)) {
    if (liveClaim(r, now)) continue;
    const notBefore = lookupNotBefore(r, o.timing);
    if (now < notBefore) {
      note(r, 'too_recent', `last request too recent to settle (a slow booking may not show yet): reconcile after ${new Date(notBefore).toISOString()}`);
      continue;
    }
    const verdict: LookupVerdict = attribution.verdicts.get(r.id) ?? { kind: 'ambiguous', reason: 'no verdict' };
    const lastOutcome = Date.parse(r.lastPspAt ?? r.attemptSentAt ?? r.createdAt ?? '');
    const resolution = resolve(
      { ...r, amount: r.amount.amount, sendingFrom: r.sending?.from ?? null },
      verdict,
      { remaining: attribution.remaining, otherCredits: attribution.otherCredits },
      { forMs: Number.isFinite(lastOutcome) ? now - lastOutcome : 0, manualAfterMs: o.timing.unclearToManualMs ?? UNCLEAR_TO_MANUAL_MS },
    );
    const expect = r.status;
    let written = false;
    let outcome = '';
    let what = '';
    switch (resolution.to) {
      case 'refunded':
        written = await store.settleClaim(r, r.version, { to: 'refunded', creditTransactionId: resolution.creditTransactionId, ...base }, expect);
        [outcome, what] = ['refunded', 'the PSP holds its credit: refunded (not sent again)'];
        break;
      case 'proven':
        written = await store.settleClaim(r, r.version, { to: resolution.status, released: 'status lookup: not credited at the PSP', provenNotBooked: true, ...base }, expect);
        [outcome, what] =
          expect === 'unknown' || expect === 'sending'
            ? ['back_to_pending', `not credited at the PSP: back to ${resolution.status} for the next psp pass, same idempotency key`]
            : ['proven_not_booked', `not credited at the PSP: its last attempt is proven not booked (stays ${resolution.status})`];
        break;
      case 'failed':
        written = await store.settleClaim(
          r,
          r.version,
          { to: 'failed', pspCode: resolution.code, pspMessage: resolution.message, refusal: resolution.refusal, ...(resolution.failedCredit ? { failedCredit: { creditTransactionId: resolution.failedCredit.creditTransactionId, amount: r.amount.amount } } : {}), ...base },
          expect,
        );
        [outcome, what] = ['failed', `${resolution.message} (${resolution.code}): failed, for the credit pass`];
        break;
      case 'manual':
        written = await store.settleClaim(r, r.version, { to: 'manual', reason: resolution.reason, ...base }, expect);
        [outcome, what] = ['manual', `${resolution.reason}; PSP credits on the transaction: ${view.credits.map(fmtCredit).join('; ') || 'none'}`];
        break;
      case 'unknown':
        written = expect === 'unknown' ? true : await store.settleClaim(r, r.version, { to: 'unknown', reason: resolution.reason, ...base }, expect);
        [outcome, what] = ['still_unknown', `still unknown: ${resolution.reason}`];
        break;
    }
    if (!written) {
      note(r, 'conflict', 'changed while reconciling');
      continue;
    }
    note(r, outcome, what);
    if (expect !== 'unknown' || resolution.to !== 'unknown') await refresh(r);
  }

  // 4. What the PSP holds that our ledger does not explain, and what we hold that it does not.
  const refunds = [...byId.values()];
  const refundedNow = new Set(refunds.filter((r) => r.status === 'refunded').map((r) => r.id));
  const unexplained = [...attribution.unexplained, ...[...attribution.attributed].filter(([id]) => !refundedNow.has(id)).map(([, c]) => c)];
  const ours = refunds.filter((r) => r.status === 'refunded').reduce((s, r) => s + r.amount.amount, 0);
  const refused = refunds.some((r) => r.refusal === 'not_creditable') || events.some((e) => e.outcome === 'manual');
  let difference: Difference | null = null;
  if (unexplained.length > 0 || attribution.missing.length > 0 || refused) {
    const notes: string[] = [];
    if (unexplained.length > 0) notes.push(`${unexplained.length} PSP credit(s) not explained by a refunded refund of ours: ${unexplained.map(fmtCredit).join('; ')}`);
    if (attribution.missing.length > 0) notes.push(`we hold refunded but the PSP shows no such credit: ${attribution.missing.join(', ')}`);
    if (refused) notes.push(`the PSP refused a credit as exceeding what the transaction allows; its credits: ${view.credits.map(fmtCredit).join('; ') || 'none'}`);
    difference = {
      transactionId,
      currency: view.currency ?? refunds[0]?.amount.currency ?? '',
      ours,
      psp: view.creditedAmount,
      refundIds: refunds.map((r) => `${r.id}:${r.status}`),
      unexplainedCredits: refused ? [...view.credits] : unexplained,
      missing: attribution.missing,
      note: notes.join('; '),
    };
  }
  return { events, refunds, difference };
}
