import { DispatchStore, type DispatchRefund } from '../../lib/adapters/dynamodb/dispatch-store.ts';
import { OrderRepository } from '../../lib/adapters/dynamodb/orders.ts';
import { pageLogKey, RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { PspConfigurationError, type PspRefundOutcome, type PspRefundRequest, type RefundPsp } from '../../lib/adapters/psp/port.ts';
import type { SelectedRefund } from '../../lib/core/dispatch.ts';
import { KEY_TRUST_MS, planSend, resultOfTries, retriesAfter, type AttemptResult } from '../../lib/core/psp-decisions.ts';
import { creditPassSelects, passFor, pspPassSelects, type CreditPolicy } from '../../lib/core/refund-lifecycle.ts';
import { tally, type Tallies } from '../../lib/core/report.ts';
import { crashPoint } from '../commons/chaos.ts';
import * as z from 'zod';
import { stage, type StageContext } from '../commons/handler.ts';
import { CallFields, pageCall, shardItem } from '../commons/paging.ts';
import { logger } from '../commons/powertools.ts';
import { lookupTiming, reconcileTransaction } from '../../lib/services/reconcile/transaction.ts';
import { envInt, forEachConcurrently, PageState, psp } from './shared.ts';

const PageInput = PageState.extend(CallFields.shape);
const Input = z.preprocess((raw) => shardItem(raw), PageInput);

/**
 * 3. Pages of one open-refunds shard (several a call, functions/commons/paging.ts), for any pass:
 * simulate (select and log, write only the run's items), psp (claim, send, write the outcome) or
 * credit (each refund's transaction, packed several to one).
 * Returns the next state of the shard's paging loop.
 */
export const handler = stage(Input, async (first, ctx) => pageCall(first, ctx, (state) => dispatchPage(state, ctx)));

async function dispatchPage(state: z.infer<typeof PageInput>, ctx: StageContext) {
  const store = new DispatchStore();
  const limit = state.mode === 'psp' ? envInt('DISPATCH_PSP_PAGE_SIZE', 100) : envInt('DISPATCH_PAGE_SIZE', 250);
  const page = await store.openRefundsPage(state.shard, state.from, state.to, state.cursor, limit, state.performanceId);
  const lines: string[] = [];
  let tallies = state.tallies;
  const count = (outcome: string, r?: DispatchRefund) => (tallies = tally(tallies, outcome, r?.amount));

  if (state.mode === 'simulate') {
    const selection: SelectedRefund[] = [];
    for (const r of page.refunds) {
      const pass = passFor(r, state.creditPolicy);
      if (pass) {
        selection.push({ id: r.id, amount: r.amount.amount, currency: r.amount.currency, status: r.status, pass });
        count(pass === 'psp' ? 'to_psp' : 'to_credit', r);
      } else count(`skipped:${r.status === 'sending' ? 'in_flight' : r.status}`, r);
      lines.push(`${r.id} order=${r.orderId} ${r.method} ${r.amount.amount} ${r.amount.currency} ${r.status} -> ${pass ?? 'none'}`);
    }
    await store.saveSelection(state.runId, selection);
  } else {
    const candidates = page.refunds.filter((r) => r.status === 'sending' || (state.mode === 'psp' ? pspPassSelects(r, state.creditPolicy) : creditPassSelects(r, state.creditPolicy)));
    const approved = await store.selectedOf(state.simulationRunId, candidates.map((r) => r.id));
    const inSimulation = (r: DispatchRefund) => {
      const s = approved.get(r.id);
      return s !== undefined && s.amount === r.amount.amount && s.currency === r.amount.currency;
    };
    if (state.mode === 'psp') {
      const pass = new PspPass(store, await psp(), state.runId, state.creditPolicy, ctx, count, lines, inSimulation, state.notifyCustomers);
      await pass.run(candidates);
    } else {
      const at = new Date().toISOString();
      const eligible: DispatchRefund[] = [];
      for (const r of candidates) {
        if (r.status === 'sending') {
          // In flight at the PSP: never credited, and never left out of the report silently.
          count('skipped:in_flight', r);
          lines.push(`${r.id} ${r.amount.amount} ${r.amount.currency}: in flight at the PSP, not credited; ReconcileRefunds settles it`);
          continue;
        }
        if (!inSimulation(r)) {
          count('skipped:not_in_simulation', r);
          lines.push(`${r.id} ${r.amount.amount} ${r.amount.currency}: not in simulation ${state.simulationRunId} (or amount changed), left ${r.status}`);
        } else eligible.push(r);
      }
      // Packed several refunds to a transaction: DynamoDB (Local most of all) pays per transaction.
      const credited = await store.creditMany(eligible, state.runId, at, envInt('DISPATCH_CREDITS_PER_TRANSACTION', 50), 1, state.notifyCustomers);
      for (const r of eligible) {
        if (credited.has(r.id)) {
          count('credited', r);
          lines.push(`${r.id} order=${r.orderId} ${r.method} ${r.amount.amount} ${r.amount.currency} ${r.status} -> credited to ${r.ownerKind} account`);
        } else {
          count('skipped:changed_concurrently', r);
          lines.push(`${r.id}: changed by another run, left as it is`);
        }
      }
    }
  }
  await new RunRepository().log(state.runId, pageLogKey(state.shard, state.page, { prefix: state.logPrefix }), lines);
  return { ...state, cursor: page.cursor, page: state.page + 1, done: page.cursor === null, tallies };
}

/** Runs stopped by a configuration error: other pages of the same run in this container stop claiming too. */
const stoppedRuns = new Map<string, PspConfigurationError>();

/**
 * The PSP pass over one page: bounded concurrency, claims, retries honouring Retry-After, a stop
 * on configuration errors. What to send, and what the answers prove, is the core's
 * (lib/core/psp-decisions.ts); a refund whose last request may have booked is settled by a status
 * lookup first (functions/reconcile-refunds/transaction.ts), never sent blindly.
 */
class PspPass {
  private stopped: PspConfigurationError | null = null;
  private readonly leaseMs = envInt('MASS_REFUND_SENDING_LEASE_SECONDS', 900) * 1000;
  private readonly concurrency = envInt('DISPATCH_PSP_CONCURRENCY', 16);
  private readonly maxTries = envInt('DISPATCH_PSP_TRIES', 6);
  private readonly keyTrustMs = envInt('MASS_REFUND_KEY_TRUST_SECONDS', KEY_TRUST_MS / 1000) * 1000;
  private readonly orders = new OrderRepository();

  constructor(
    private readonly store: DispatchStore,
    private readonly psp: RefundPsp,
    private readonly runId: string,
    private readonly policy: CreditPolicy,
    private readonly ctx: StageContext,
    private readonly count: (outcome: string, r?: DispatchRefund) => void,
    private readonly lines: string[],
    private readonly inSimulation: (r: DispatchRefund) => boolean,
    /** false: a refund refunded by this run owes no email. */
    private readonly notify = true,
  ) {}

  async run(candidates: DispatchRefund[]): Promise<void> {
    this.stopped = stoppedRuns.get(this.runId) ?? null;
    await forEachConcurrently(candidates, this.concurrency, (r) => this.handle(r));
    if (this.stopped) {
      stoppedRuns.set(this.runId, this.stopped);
      throw this.stopped;
    }
  }

  private async handle(initial: DispatchRefund): Promise<void> {
    let r: DispatchRefund | null = initial;
    this.stopped ??= stoppedRuns.get(this.runId) ?? null;
    if (this.stopped) return this.note(r, 'deferred:run_stopped', 'not sent: the run stopped');
    if (r.status === 'sending') {
      const claim = r.sending;
      const live = claim && Date.parse(claim.leaseUntil) > Date.now() && claim.runId !== this.runId;
      if (live) return this.note(r, 'skipped:in_flight', `in flight in run ${claim.runId}`);
      // A claim whose answer never got written (crash, time-out): never resend blindly, ask the PSP first.
      r = await this.settleByLookup(r, 'abandoned claim');
      if (!r) return;
    }
    if (!pspPassSelects(r, this.policy)) return;
    if (!this.inSimulation(r)) return this.note(r, 'skipped:not_in_simulation', 'not in the approved simulation (or amount changed)');
    let plan = planSend(r, Date.now(), this.keyTrustMs);
    if (plan.kind === 'lookup_first') {
      r = await this.settleByLookup(r, plan.reason);
      if (!r) return;
      plan = planSend(r, Date.now(), this.keyTrustMs);
    }
    if (plan.kind !== 'send') return this.note(r, 'skipped:not_sendable', plan.reason);
    const transactionId = r.pspTransactionId ?? (await this.transactionOf(r));
    const from = r.status as 'pending' | 'failed';
    const sentAt = new Date().toISOString();
    const claimed = await this.store.claim(r, { runId: this.runId, attempt: plan.attempt, leaseUntil: new Date(Date.now() + this.leaseMs).toISOString(), from }, { fresh: plan.fresh, at: sentAt });
    if (claimed === null) return this.note(r, 'skipped:claimed_elsewhere', 'claimed by another run');
    if (this.stopped) {
      await this.store.settleClaim(r, claimed, { to: from, released: 'run stopped', provenNotBooked: plan.fresh, runId: this.runId, at: new Date().toISOString() });
      return this.note(r, 'deferred:run_stopped', 'not sent: the run stopped');
    }
    const tries = await this.send({ refundId: r.id, originalTransactionId: transactionId ?? '', amount: r.amount, attempt: plan.attempt });
    crashPoint('dispatch.afterPspAnswer');
    await this.write(r, claimed, from, resultOfTries(tries, plan.fresh), tries.length);
  }

  /** Writes what the tries of one attempt proved, on the claim; a configuration error releases it and stops the run. */
  private async write(r: DispatchRefund, claimed: number, from: 'pending' | 'failed', result: AttemptResult, tries: number): Promise<void> {
    const base = { runId: this.runId, at: new Date().toISOString() };
    let written: boolean;
    switch (result.to) {
      case 'refunded':
        written = await this.store.settleClaim(r, claimed, { to: 'refunded', creditTransactionId: result.creditTransactionId, notify: this.notify, ...base });
        if (written) this.note(r, 'refunded', `refunded at the PSP (credit ${result.creditTransactionId})`);
        break;
      case 'failed':
        written = await this.store.settleClaim(r, claimed, { to: 'failed', pspCode: result.code, pspMessage: result.message, ...base });
        if (written) this.note(r, 'declined', `declined by the PSP: ${result.code}`);
        break;
      case 'unknown':
        written = await this.store.settleClaim(r, claimed, { to: 'unknown', reason: result.reason, pspCode: result.code, refusal: result.refusal, ...base });
        if (written) this.note(r, 'unknown', `outcome unknown after ${tries} request(s) (${result.reason}): never sent again nor credited before a status lookup (ReconcileRefunds)`);
        break;
      case 'release':
        written = await this.store.settleClaim(r, claimed, { to: from, released: result.reason, provenNotBooked: result.provenNotBooked, ...base });
        if (written) this.note(r, 'deferred', `nothing booked (${result.reason}): back to ${from} for a later pass`);
        break;
      case 'release_and_stop':
        written = await this.store.settleClaim(r, claimed, { to: from, released: result.reason, provenNotBooked: result.provenNotBooked, ...base });
        this.stopped ??= new PspConfigurationError(result.httpStatus, result.reason);
        stoppedRuns.set(this.runId, this.stopped);
        this.note(r, 'deferred:run_stopped', `PSP configuration error (HTTP ${result.httpStatus}): run stopped`);
        return;
    }
    if (!written) this.note(r, 'conflict', 'claim resolved elsewhere before the outcome was written');
  }

  /** Sends one attempt: the same key on every try; only answers proven to book nothing (429, not sent) are tried again, Retry-After honoured. */
  private async send(req: PspRefundRequest): Promise<PspRefundOutcome[]> {
    const tries: PspRefundOutcome[] = [await this.psp.refund(req)];
    for (let n = 1; retriesAfter(tries[n - 1] as PspRefundOutcome) && n < this.maxTries; n++) {
      const last = tries[n - 1] as Extract<PspRefundOutcome, { kind: 'retryable' }>;
      const backoff = Math.min(10_000, last.retryAfterMs ?? 200 * 2 ** (n - 1));
      const wait = backoff + Math.floor(Math.random() * Math.max(100, backoff / 2));
      // Keep a margin so the outcome is written before the Lambda's own time-out.
      if (this.ctx.lambda.getRemainingTimeInMillis() < wait + 30_000) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
      tries.push(await this.psp.refund(req));
    }
    return tries;
  }

  /**
   * Settles a refund whose last request may have booked from the PSP's records (the same rules as
   * ReconcileRefunds). Returns the refund, fresh, if it may now be sent; null if it is settled,
   * still unclear, or too recent to tell.
   */
  private async settleByLookup(r: DispatchRefund, why: string): Promise<DispatchRefund | null> {
    const transactionId = r.pspTransactionId ?? (await this.transactionOf(r));
    if (!transactionId) {
      this.note(r, 'skipped:no_transaction', `${why}: no PSP transaction to look up`);
      return null;
    }
    const refunds = (await this.store.refundsOfOrder(r.orderId)).filter((o) => o.pspTransactionId === transactionId && o.id !== r.id);
    let result: Awaited<ReturnType<typeof reconcileTransaction>>;
    try {
      result = await reconcileTransaction({ store: this.store, psp: this.psp, runId: this.runId, transactionId, refunds: [r, ...refunds], now: Date.now(), timing: lookupTiming(), confirmSince: null, only: r.id });
    } catch (error) {
      if (error instanceof PspConfigurationError) {
        this.stopped ??= error;
        return null;
      }
      throw error;
    }
    const event = result.events.find((e) => e.refund.id === r.id);
    const fresh = result.refunds.find((x) => x.id === r.id) ?? r;
    if (event) this.note(r, event.outcome === 'refunded' ? 'refunded' : `lookup:${event.outcome}`, `${why}: ${event.what}`);
    if (!event || event.outcome === 'too_recent' || event.outcome === 'conflict') return null;
    logger.info('settled by a status lookup before sending', { refundId: r.id, outcome: event.outcome });
    return (fresh.status === 'pending' || fresh.status === 'failed') && fresh.attemptNotBooked === true ? fresh : null;
  }

  private async transactionOf(r: DispatchRefund): Promise<string | null> {
    const order = await this.orders.get(r.orderId);
    return order?.order.payments.find((p) => p.id === r.paymentId)?.pspTransactionId ?? null;
  }

  private note(r: DispatchRefund, outcome: string, what: string): void {
    this.count(outcome, r);
    this.lines.push(`${r.id} order=${r.orderId} ${r.method} ${r.amount.amount} ${r.amount.currency}: ${what}`);
  }
}

export type { Tallies };
