import type http from 'node:http';
import type { Money } from '../../core/money.ts';
import type { FaultConfig, FaultKind } from './faults.ts';

export interface SandboxTransaction {
  transactionId: string;
  amount: Money;
  /** Domain method (card, amazon_pay) or a Datatrans payment method code (VIS, AZP…). */
  paymentMethod?: string;
}

export interface LedgerCredit {
  transactionId: string;
  creditTransactionId: string;
  amount: Money;
  refno: string;
  idempotencyKey: string | null;
  at: string;
  /** failed: a late failure, reported failed by the status API after it was booked. */
  status: 'booked' | 'failed';
  /** api: requested through the API (like ours); admin: booked in the back office. */
  source: 'api' | 'admin';
}

export interface SandboxStats {
  requests: Record<string, number>;
  faultsInjected: Partial<Record<FaultKind, number>>;
  creditsBooked: number;
  creditsFailedLate: number;
  /** Repeats of a key already seen: replayed answers, 409 in flight, 422 different body. */
  duplicateCreditsBlocked: number;
  idempotentReplays: number;
  inFlightConflicts: number;
  bodyMismatches: number;
  overRefundsRefused: number;
  duplicateRefnosRefused: number;
  rateLimited: number;
  adminCredits: number;
}

/** One request and its answer as the sandbox saw them (for contract tests). */
export interface SandboxExchange {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** null when no answer was sent (time-out, reset). */
  response: { status: number; headers: Record<string, string>; body: string } | null;
  /** The fault injected into this exchange, if any. */
  fault?: FaultKind;
}

export interface PspSandboxOptions {
  port?: number;
  host?: string;
  merchantId?: string;
  password?: string;
  rateLimitPerSecond?: number | null;
  seed?: number;
  /** Clock for idempotency-key expiry, history dates and fault windows (tests); advanceClock() adds to it. */
  now?: () => number;
  /** How long an Idempotency-Key is kept (default 60 minutes, as Datatrans documents). */
  keyTtlMs?: number;
  /** Refuse a credit whose refno a booked credit already carries (DUPLICATE_REFNO), as a merchant setting may. */
  uniqueRefno?: boolean;
  onExchange?: (exchange: SandboxExchange) => void;
}

export interface SandboxSettings {
  rateLimitPerSecond?: number | null;
  keyTtlMs?: number;
  uniqueRefno?: boolean;
}

export interface PspSandbox {
  readonly url: string;
  stop(): Promise<void>;
  registerTransactions(list: readonly SandboxTransaction[]): { registered: number; unchanged: number };
  configureFaults(config: FaultConfig): void;
  setRateLimit(perSecond: number | null): void;
  configure(settings: SandboxSettings): void;
  /** Moves the sandbox's clock forward (keys expire, history dates move on). */
  advanceClock(ms: number): void;
  /** A credit booked in the back office (history `source: admin`), never through the API. */
  adminCredit(transactionId: string, amount: number): LedgerCredit;
  ledger(): LedgerCredit[];
  stats(): SandboxStats;
  reset(): void;
}

export class SandboxConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxConflict';
  }
}
