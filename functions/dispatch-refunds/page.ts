import { DispatchStore, type DispatchRefund } from '../../lib/adapters/dynamodb/dispatch-store.ts';
import { OrderRepository } from '../../lib/adapters/dynamodb/orders.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { PspConfigurationError, type OtherCreditOnTransaction, type PspRefundOutcome, type PspRefundRequest, type RefundPsp } from '../../lib/adapters/psp/port.ts';
import type { SelectedRefund } from '../../lib/core/dispatch.ts';
import { creditPassSelects, nextAttempt, passFor, pspPassSelects, type CreditPolicy } from '../../lib/core/refund-lifecycle.ts';
import { tally, type Tallies } from '../../lib/core/report.ts';
import { crashPoint } from '../commons/chaos.ts';
import { stage, type StageContext } from '../commons/handler.ts';
import { logger } from '../commons/powertools.ts';
import { envInt, forEachConcurrently, PageState, pageKey, psp } from './shared.ts';

/**
 * 3. One page of one open-refunds shard, for any pass: simulate (select and log, write only the
 * run's items), psp (claim, send, write the outcome) or credit (each refund's
 * transaction, packed several to one).
 * Returns the next state of the shard's paging loop.
 */
export const handler = stage(PageState, async (state, ctx) => {
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
  await new RunRepository().log(state.runId, pageKey(state.shard, state.page), lines);
  return { ...state, cursor: page.cursor, page: state.page + 1, done: page.cursor === null, tallies };
});

/** Runs stopped by a configuration error: other pages of the same run in this container stop claiming too. */
const stoppedRuns = new Map<string, PspConfigurationError>();

/** The PSP pass over one page: bounded concurrency, claims, retries honouring Retry-After, a stop on configuration errors. */
class PspPass {
  private stopped: PspConfigurationError | null = null;
  private readonly leaseMs = envInt('MASS_REFUND_SENDING_LEASE_SECONDS', 900) * 1000;
  private readonly concurrency = envInt('DISPATCH_PSP_CONCURRENCY', 16);
  private readonly maxTries = envInt('DISPATCH_PSP_TRIES', 6);
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
    let r = initial;
    this.stopped ??= stoppedRuns.get(this.runId) ?? null;
    if (this.stopped) return this.note(r, 'deferred:run_stopped', 'not sent: the run stopped');
    if (r.status === 'sending') {
      const claim = r.sending;
      const live = claim && Date.parse(claim.leaseUntil) > Date.now() && claim.runId !== this.runId;
      if (live) return this.note(r, 'skipped:in_flight', `in flight in run ${claim.runId}`);
      // A claim whose answer never got written (crash, time-out): never resend blindly, ask the PSP first.
      const resolved = await this.resolveByLookup(r);
      if (!resolved) return;
      r = resolved;
    }
    if (!pspPassSelects(r, this.policy)) return;
    if (!this.inSimulation(r)) return this.note(r, 'skipped:not_in_simulation', 'not in the approved simulation (or amount changed)');
    const transactionId = r.pspTransactionId ?? (await this.transactionOf(r));
    const attempt = nextAttempt(r.status as 'pending' | 'failed', r.attempt);
    const from = r.status as 'pending' | 'failed';
    const claimed = await this.store.claim(r, { runId: this.runId, attempt, leaseUntil: new Date(Date.now() + this.leaseMs).toISOString(), from });
    if (claimed === null) return this.note(r, 'skipped:claimed_elsewhere', 'claimed by another run');
    if (this.stopped) {
      await this.store.settleClaim(r, claimed, { to: from, released: 'run stopped', runId: this.runId, at: new Date().toISOString() });
      return this.note(r, 'deferred:run_stopped', 'not sent: the run stopped');
    }
    const outcome = await this.send({ refundId: r.id, originalTransactionId: transactionId ?? '', amount: r.amount, attempt });
    crashPoint('dispatch.afterPspAnswer');
    await this.write(r, claimed, from, outcome);
  }

  /** Writes one PSP outcome on the claim; a configuration error releases it and stops the run. */
  private async write(r: DispatchRefund, claimed: number, from: 'pending' | 'failed', outcome: PspRefundOutcome): Promise<void> {
    const at = new Date().toISOString();
    const base = { runId: this.runId, at };
    let written: boolean;
    switch (outcome.kind) {
      case 'succeeded':
        written = await this.store.settleClaim(r, claimed, { to: 'refunded', creditTransactionId: outcome.creditTransactionId, notify: this.notify, ...base });
        if (written) this.note(r, 'refunded', `refunded at the PSP (credit ${outcome.creditTransactionId})`);
        break;
      case 'declined':
        written = await this.store.settleClaim(r, claimed, { to: 'failed', pspCode: outcome.code, pspMessage: outcome.message, ...base });
        if (written) this.note(r, 'declined', `declined by the PSP: ${outcome.code}`);
        break;
      case 'unknown':
        written = await this.store.settleClaim(r, claimed, { to: 'unknown', reason: outcome.reason, ...base });
        if (written) this.note(r, 'unknown', `outcome unknown (${outcome.reason}): left to ReconcileRefunds`);
        break;
      case 'retryable':
        // A 409 means a request with this key is still being processed: it may still book. Reconcile, never credit.
        if (/409/.test(outcome.reason)) {
          written = await this.store.settleClaim(r, claimed, { to: 'unknown', reason: outcome.reason, ...base });
          if (written) this.note(r, 'unknown', `still in flight at the PSP (${outcome.reason}): left to ReconcileRefunds`);
        } else {
          written = await this.store.settleClaim(r, claimed, { to: from, released: outcome.reason, ...base });
          if (written) this.note(r, 'deferred', `not booked (${outcome.reason}): back to ${from} for a later pass`);
        }
        break;
      case 'configuration_error':
        written = await this.store.settleClaim(r, claimed, { to: from, released: outcome.reason, ...base });
        this.stopped ??= new PspConfigurationError(outcome.httpStatus, outcome.reason);
        stoppedRuns.set(this.runId, this.stopped);
        this.note(r, 'deferred:run_stopped', `PSP configuration error (HTTP ${outcome.httpStatus}): run stopped`);
        return;
    }
    if (!written) this.note(r, 'conflict', 'claim resolved elsewhere before the outcome was written');
  }

  /** Sends one attempt, retrying retryable answers with the same key: Retry-After honoured, waits bounded. */
  private async send(req: PspRefundRequest): Promise<PspRefundOutcome> {
    let outcome: PspRefundOutcome = await this.psp.refund(req);
    for (let tries = 1; outcome.kind === 'retryable' && tries < this.maxTries; tries++) {
      const backoff = Math.min(10_000, outcome.retryAfterMs ?? 200 * 2 ** (tries - 1));
      const wait = backoff + Math.floor(Math.random() * Math.max(100, backoff / 2));
      // Keep a margin so the outcome is written before the Lambda's own time-out.
      if (this.ctx.lambda.getRemainingTimeInMillis() < wait + 30_000) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
      outcome = await this.psp.refund(req);
    }
    return outcome;
  }

  /** Settles an abandoned claim from what the PSP knows; returns the refund if it may be sent (again), with the same key. */
  private async resolveByLookup(r: DispatchRefund): Promise<DispatchRefund | null> {
    const attempt = r.sending?.attempt ?? r.attempt ?? 1;
    const others: OtherCreditOnTransaction[] = (await this.store.refundsOfOrder(r.orderId))
      .filter((o) => o.id !== r.id && o.pspTransactionId === r.pspTransactionId && (o.status === 'refunded' || o.status === 'unknown' || o.status === 'sending'))
      .map((o) => ({ amount: o.amount, outcome: o.status === 'refunded' ? 'credited' : 'unknown' }));
    const outcome = await this.psp.lookup({
      refundId: r.id,
      originalTransactionId: r.pspTransactionId ?? '',
      amount: r.amount,
      attempt,
      creditTransactionId: r.pspCreditTransactionId ?? null,
      otherCreditsOnTransaction: others,
    });
    const at = new Date().toISOString();
    const base = { runId: this.runId, at };
    switch (outcome.kind) {
      case 'credited':
        if (await this.store.settleClaim(r, r.version, { to: 'refunded', creditTransactionId: outcome.creditTransactionId, notify: this.notify, ...base })) {
          this.note(r, 'refunded', 'abandoned claim: the PSP booked it, recorded as refunded (not resent)');
        }
        return null;
      case 'failed_after_credit':
        if (await this.store.settleClaim(r, r.version, { to: 'failed', pspCode: outcome.code, pspMessage: 'credit failed after booking', ...base })) {
          this.note(r, 'declined', `abandoned claim: the PSP reports the credit failed (${outcome.code})`);
        }
        return null;
      case 'unknown':
        if (await this.store.settleClaim(r, r.version, { to: 'unknown', reason: outcome.reason, ...base })) {
          this.note(r, 'unknown', `abandoned claim, PSP status unclear (${outcome.reason}): left to ReconcileRefunds`);
        }
        return null;
      case 'configuration_error':
        this.stopped ??= new PspConfigurationError(outcome.httpStatus, outcome.reason);
        return null;
      case 'not_credited': {
        // Back to pending with the same attempt: the resend below reuses the same idempotency key.
        if (!(await this.store.settleClaim(r, r.version, { to: 'pending', released: 'abandoned claim, not credited at the PSP', ...base }))) return null;
        logger.info('abandoned claim not credited at the PSP: sending again with the same key', { refundId: r.id, attempt });
        return (await this.store.get(r.id)) ?? null;
      }
    }
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
