import type { DispatchRefund, DispatchStore } from '../../adapters/dynamodb/dispatch-store.ts';
import type { OrderRepository } from '../../adapters/dynamodb/orders.ts';
import { PspConfigurationError, type PspRefundOutcome, type PspRefundRequest, type RefundPsp } from '../../adapters/psp/port.ts';
import { forEachConcurrently } from '../../core/concurrency.ts';
import { attemptNote, claimHeldElsewhere, lookupOutcome, lookupUndecided, pspNote, retryWait, sendableAfterLookup, timeForRetry, type PageNote } from '../../core/dispatch-pass.ts';
import { planSend, resultOfTries, retriesAfter, type AttemptResult } from '../../core/psp-decisions.ts';
import { pspPassSelects, type CreditPolicy } from '../../core/refund-lifecycle.ts';
import type { Clock } from '../clock.ts';
import type { Outcome, ReconcileOutcome } from '../../core/outcomes.ts';

/** The psp pass's tuning: lease of a claim, requests at once, tries of an attempt, how long the PSP's key is trusted. */
export interface PspPassConfig {
  leaseMs: number;
  concurrency: number;
  maxTries: number;
  keyTrustMs: number;
}

/** One refund settled from the PSP's records with ReconcileRefunds' rules (the caller adds the store and the timing). */
export type LookupOne = (one: { psp: RefundPsp; runId: string; transactionId: string; refunds: DispatchRefund[]; now: number; only: string }) => Promise<{
  events: { refund: DispatchRefund; outcome: ReconcileOutcome; what: string }[];
  refunds: DispatchRefund[];
}>;

export interface PspPassDeps {
  store: Pick<DispatchStore, 'claim' | 'settleClaim' | 'refundsOfOrder'>;
  orders: Pick<OrderRepository, 'get'>;
  psp: RefundPsp;
  lookup: LookupOne;
  config: PspPassConfig;
  /** Runs stopped by a configuration error, container-wide: other pages of the same run stop claiming too. */
  stops: Map<string, PspConfigurationError>;
  clock: Clock;
  /** Lambda time left: a retry waits only if the outcome can still be written. */
  remainingMs: () => number;
  /** Between the PSP's answer and our write (crash injection in the chaos tests). */
  afterPspAnswer: () => void;
  logger: { info(message: string, details: Record<string, unknown>): void };
}

export interface PspPassRun {
  runId: string;
  policy: CreditPolicy;
  /** false: a refund refunded by this run owes no email. */
  notify: boolean;
  /** Approved by the run's simulation (same amount and currency). */
  approved: (r: DispatchRefund) => boolean;
}

/**
 * The PSP pass over one page: bounded concurrency, claims, retries honouring Retry-After, a stop
 * on configuration errors. What to send, and what the answers prove, is the core's
 * (lib/core/psp-decisions.ts, lib/core/dispatch-pass.ts); a refund whose last request may have
 * booked is settled by a status lookup first (ReconcileRefunds' rules), never sent blindly.
 * Returns what it noted, in order; a stopped run throws its PspConfigurationError once every
 * refund of the page is handled.
 */
export async function pspPass(candidates: readonly DispatchRefund[], run: PspPassRun, deps: PspPassDeps): Promise<PageNote[]> {
  const pass = new PspPass(run, deps);
  await pass.run(candidates);
  return pass.notes;
}

class PspPass {
  readonly notes: PageNote[] = [];
  private stopped: PspConfigurationError | null = null;
  private readonly runId: string;

  constructor(
    private readonly pass: PspPassRun,
    private readonly deps: PspPassDeps,
  ) {
    this.runId = pass.runId;
  }

  async run(candidates: readonly DispatchRefund[]): Promise<void> {
    this.stopped = this.deps.stops.get(this.runId) ?? null;
    await forEachConcurrently(candidates, this.deps.config.concurrency, (r) => this.handle(r));
    if (this.stopped) {
      this.deps.stops.set(this.runId, this.stopped);
      throw this.stopped;
    }
  }

  private now(): number {
    return this.deps.clock.now();
  }

  private async handle(initial: DispatchRefund): Promise<void> {
    const { store, config } = this.deps;
    let r: DispatchRefund | null = initial;
    this.stopped ??= this.deps.stops.get(this.runId) ?? null;
    if (this.stopped) return this.note(r, 'deferred:run_stopped', 'not sent: the run stopped');
    if (r.status === 'sending') {
      const claim = r.sending;
      if (claim && claimHeldElsewhere(claim, this.now(), this.runId)) return this.note(r, 'skipped:in_flight', `in flight in run ${claim.runId}`);
      // A claim whose answer never got written (crash, time-out): never resend blindly, ask the PSP first.
      r = await this.settleByLookup(r, 'abandoned claim');
      if (!r) return;
    }
    if (!pspPassSelects(r, this.pass.policy)) return;
    if (!this.pass.approved(r)) return this.note(r, 'skipped:not_in_simulation', 'not in the approved simulation (or amount changed)');
    let plan = planSend(r, this.now(), config.keyTrustMs);
    if (plan.kind === 'lookup_first') {
      r = await this.settleByLookup(r, plan.reason);
      if (!r) return;
      plan = planSend(r, this.now(), config.keyTrustMs);
    }
    if (plan.kind !== 'send') return this.note(r, 'skipped:not_sendable', plan.reason);
    const transactionId = r.pspTransactionId ?? (await this.transactionOf(r));
    const from = r.status as 'pending' | 'failed';
    const sentAt = new Date(this.now()).toISOString();
    const claimed = await store.claim(r, { runId: this.runId, attempt: plan.attempt, leaseUntil: new Date(this.now() + config.leaseMs).toISOString(), from }, { fresh: plan.fresh, at: sentAt });
    if (claimed === null) return this.note(r, 'skipped:claimed_elsewhere', 'claimed by another run');
    if (this.stopped) {
      await store.settleClaim(r, claimed, { to: from, released: 'run stopped', provenNotBooked: plan.fresh, runId: this.runId, at: new Date(this.now()).toISOString() });
      return this.note(r, 'deferred:run_stopped', 'not sent: the run stopped');
    }
    const tries = await this.send({ refundId: r.id, originalTransactionId: transactionId ?? '', amount: r.amount, attempt: plan.attempt });
    this.deps.afterPspAnswer();
    await this.write(r, claimed, from, resultOfTries(tries, plan.fresh), tries.length);
  }

  /** Writes what the tries of one attempt proved, on the claim; a configuration error releases it and stops the run. */
  private async write(r: DispatchRefund, claimed: number, from: 'pending' | 'failed', result: AttemptResult, tries: number): Promise<void> {
    const base = { runId: this.runId, at: new Date(this.now()).toISOString() };
    let written: boolean;
    switch (result.to) {
      case 'refunded':
        written = await this.deps.store.settleClaim(r, claimed, { to: 'refunded', creditTransactionId: result.creditTransactionId, notify: this.pass.notify, ...base });
        break;
      case 'failed':
        written = await this.deps.store.settleClaim(r, claimed, { to: 'failed', pspCode: result.code, pspMessage: result.message, ...base });
        break;
      case 'unknown':
        written = await this.deps.store.settleClaim(r, claimed, { to: 'unknown', reason: result.reason, pspCode: result.code, refusal: result.refusal, ...base });
        break;
      case 'release':
      case 'release_and_stop':
        written = await this.deps.store.settleClaim(r, claimed, { to: from, released: result.reason, provenNotBooked: result.provenNotBooked, ...base });
        if (result.to === 'release_and_stop') {
          this.stopped ??= new PspConfigurationError(result.httpStatus, result.reason);
          this.deps.stops.set(this.runId, this.stopped);
        }
        break;
    }
    const { outcome, what } = attemptNote(result, written, tries, from);
    this.note(r, outcome, what);
  }

  /** Sends one attempt: the same key on every try; only answers proven to book nothing (429, not sent) are tried again, Retry-After honoured. */
  private async send(req: PspRefundRequest): Promise<PspRefundOutcome[]> {
    const { psp, clock, config } = this.deps;
    const tries: PspRefundOutcome[] = [await psp.refund(req)];
    for (let n = 1; retriesAfter(tries[n - 1] as PspRefundOutcome) && n < config.maxTries; n++) {
      const last = tries[n - 1] as Extract<PspRefundOutcome, { kind: 'retryable' }>;
      const wait = retryWait(n, last.retryAfterMs, clock.random());
      if (!timeForRetry(this.deps.remainingMs(), wait)) break;
      await clock.sleep(wait);
      tries.push(await psp.refund(req));
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
    const refunds = (await this.deps.store.refundsOfOrder(r.orderId)).filter((o) => o.pspTransactionId === transactionId && o.id !== r.id);
    let result: Awaited<ReturnType<LookupOne>>;
    try {
      result = await this.deps.lookup({ psp: this.deps.psp, runId: this.runId, transactionId, refunds: [r, ...refunds], now: this.now(), only: r.id });
    } catch (error) {
      if (error instanceof PspConfigurationError) {
        this.stopped ??= error;
        return null;
      }
      throw error;
    }
    const event = result.events.find((e) => e.refund.id === r.id);
    const fresh = result.refunds.find((x) => x.id === r.id) ?? r;
    if (event) this.note(r, lookupOutcome(event), `${why}: ${event.what}`);
    if (!event || lookupUndecided(event)) return null;
    this.deps.logger.info('settled by a status lookup before sending', { refundId: r.id, outcome: event.outcome });
    return sendableAfterLookup(fresh) ? fresh : null;
  }

  private async transactionOf(r: DispatchRefund): Promise<string | null> {
    const order = await this.deps.orders.get(r.orderId);
    return order?.order.payments.find((p) => p.id === r.paymentId)?.pspTransactionId ?? null;
  }

  private note(r: DispatchRefund, outcome: Outcome, what: string): void {
    this.notes.push(pspNote(r, outcome, what));
  }
}
