import { CreditBook } from './book.ts';
import { FaultPlan } from './faults.ts';
import { IdempotencyKeys } from './idempotency.ts';
import { RateLimit, SandboxClock, SandboxCounters, type MerchantSettings } from './state.ts';
import { Transport } from './transport.ts';
import type { PspSandboxOptions, SandboxSettings } from './types.ts';

/** Idempotency keys are kept 60 minutes (Datatrans' documented window). */
export const IDEMPOTENCY_KEY_TTL_MS = 60 * 60 * 1000;

/** The sandbox's parts, shared by its API, its admin API and the handle tests hold. */
export class SandboxCore {
  readonly clock: SandboxClock;
  readonly settings: MerchantSettings;
  readonly counters = new SandboxCounters();
  readonly rateLimit: RateLimit;
  readonly book: CreditBook;
  readonly keys: IdempotencyKeys;
  readonly faults: FaultPlan;
  readonly transport: Transport;

  constructor(
    readonly merchantId: string,
    options: PspSandboxOptions,
  ) {
    this.clock = new SandboxClock(options.now ?? Date.now);
    this.settings = { keyTtlMs: options.keyTtlMs ?? IDEMPOTENCY_KEY_TTL_MS, uniqueRefno: options.uniqueRefno ?? false };
    this.faults = new FaultPlan(options.seed ?? 1);
    this.rateLimit = new RateLimit(this.clock, options.rateLimitPerSecond ?? null);
    this.book = new CreditBook(merchantId, this.clock, this.settings, this.counters);
    this.keys = new IdempotencyKeys(this.clock, this.settings);
    this.transport = new Transport(this.counters);
  }

  configure(settings: SandboxSettings): void {
    if (settings.rateLimitPerSecond !== undefined) this.rateLimit.set(settings.rateLimitPerSecond);
    if (settings.keyTtlMs !== undefined) this.settings.keyTtlMs = settings.keyTtlMs;
    if (settings.uniqueRefno !== undefined) this.settings.uniqueRefno = settings.uniqueRefno;
  }

  /** Forgets transactions, credits, keys, fault rules and counters; the clock and the settings stay. */
  reset(): void {
    this.book.clear();
    this.keys.clear();
    this.faults.clear();
    this.counters.reset();
  }
}
