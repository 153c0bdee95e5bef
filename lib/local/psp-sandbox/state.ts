import type { FaultKind } from './faults.ts';
import type { SandboxStats } from './types.ts';

/** The sandbox's clock: the given one (tests) plus how far it was moved forward. */
export class SandboxClock {
  #offset = 0;
  constructor(private readonly base: () => number) {}

  now(): number {
    return this.base() + this.#offset;
  }

  advance(ms: number): void {
    this.#offset += ms;
  }
}

/** What a merchant (or a test) may change while the sandbox runs, besides the rate limit. */
export interface MerchantSettings {
  keyTtlMs: number;
  uniqueRefno: boolean;
}

function emptyStats(): SandboxStats {
  return {
    requests: {}, faultsInjected: {}, creditsBooked: 0, creditsFailedLate: 0, duplicateCreditsBlocked: 0, idempotentReplays: 0, inFlightConflicts: 0,
    bodyMismatches: 0, overRefundsRefused: 0, duplicateRefnosRefused: 0, rateLimited: 0, adminCredits: 0,
  };
}

/** The sandbox's counters; a reset starts them afresh (read `stats` each time, never keep it). */
export class SandboxCounters {
  stats: SandboxStats = emptyStats();

  request(key: string): void {
    this.stats.requests[key] = (this.stats.requests[key] ?? 0) + 1;
  }

  fault(kind: FaultKind): void {
    this.stats.faultsInjected[kind] = (this.stats.faultsInjected[kind] ?? 0) + 1;
  }

  reset(): void {
    this.stats = emptyStats();
  }
}

/** Token bucket: capacity = one second of requests; no limit while the rate is null. */
export class RateLimit {
  #rate: number | null = null;
  #tokens = 0;
  #lastRefill = 0;

  constructor(private readonly clock: SandboxClock, perSecond: number | null) {
    this.set(perSecond);
  }

  get perSecond(): number | null {
    return this.#rate;
  }

  set(perSecond: number | null): void {
    this.#rate = perSecond;
    this.#tokens = perSecond ?? 0;
    this.#lastRefill = this.clock.now();
  }

  /** 0 when a token was taken, else seconds to wait. */
  take(): number {
    const rate = this.#rate;
    if (rate === null) return 0;
    const t = this.clock.now();
    this.#tokens = Math.min(rate, this.#tokens + ((t - this.#lastRefill) / 1000) * rate);
    this.#lastRefill = t;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.#tokens) / rate));
  }
}
