import { createHash } from 'node:crypto';
import type { Money } from '../../core/money.ts';
import { DomainError } from '../../core/errors.ts';
import type { PspTransactionView } from '../../core/psp-attribution.ts';
import type { PspRefundOutcome } from '../../core/psp-decisions.ts';

/**
 * The PSP port: what the dispatch and the reconciliation need from any PSP that can refund
 * a card (or Amazon Pay) payment to its source. No Datatrans specifics here, so a second
 * adapter (Worldline/Ogone, Adyen, Stripe) plugs in without touching the dispatch. The adapter
 * classifies answers by what they prove (lib/core/psp-decisions.ts) and reads records; the
 * decisions (what is ours, when to send again) are the core's.
 */
export interface RefundPsp {
  readonly name: string;
  /** Sends one request of one refund attempt. Never throws for PSP or network trouble: the outcome says it. */
  refund(req: PspRefundRequest): Promise<PspRefundOutcome>;
  /** Reconciliation: the original transaction's credits as the PSP records them (read-only). */
  transaction(originalTransactionId: string): Promise<PspTransactionLookup>;
  /** Reconciliation: one credit transaction, known by the id a success answer gave (read-only). */
  credit(creditTransactionId: string): Promise<PspCreditLookup>;
}

export type { PspRefundOutcome };

/** A reconciliation read: what was found, or why nothing was (unknown; a configuration error stops the run). */
export type PspLookup<Found> = Found | { kind: 'unknown'; reason: string } | { kind: 'configuration_error'; httpStatus: number; reason: string };

export type PspTransactionLookup = PspLookup<{ kind: 'found'; view: PspTransactionView }>;

export interface PspCreditRecord {
  creditTransactionId: string;
  /** `credit` for a credit; anything else is not a credit (never ours). */
  type: string;
  refno: string | null;
  amount: number | null;
  currency: string | null;
  /** booked: settled/transmitted/authorized; failed: failed or canceled after booking; in_progress: anything else. */
  state: 'booked' | 'failed' | 'in_progress';
  /** The PSP's failure reason when failed. */
  failReason: string | null;
}

export type PspCreditLookup = PspLookup<{ kind: 'found'; credit: PspCreditRecord }>;

export interface PspRefundRequest {
  refundId: string;
  /** The PSP's id of the captured payment (18-digit string for Datatrans; never a Number). */
  originalTransactionId: string;
  amount: Money;
  /**
   * 1 for the first request of a refund. Grows only once the previous attempt is proven not
   * booked (lib/core/psp-decisions.ts planSend); every retry of an attempt sends the same key.
   */
  attempt: number;
}

/** For callers who prefer throwing: the dispatch run must stop, refunds must not fail one by one. */
export class PspConfigurationError extends DomainError {
  override readonly name: string = 'PspConfigurationError';
  readonly httpStatus: number;
  constructor(httpStatus: number, reason: string, options?: { cause?: unknown }) {
    super(`PSP configuration error (HTTP ${httpStatus}): ${reason}`, options);
    this.httpStatus = httpStatus;
  }
}

/** Throws PspConfigurationError for a configuration_error outcome, returns any other outcome. */
export function orThrowConfigurationError<T extends { kind: string }>(outcome: T): Exclude<T, { kind: 'configuration_error' }> {
  if (outcome.kind === 'configuration_error') {
    const o = outcome as unknown as { httpStatus: number; reason: string };
    throw new PspConfigurationError(o.httpStatus, o.reason);
  }
  return outcome as Exclude<T, { kind: 'configuration_error' }>;
}

// UUID namespace of mass-refund idempotency keys (random, fixed forever: changing it changes every key).
const IDEMPOTENCY_NAMESPACE = '6f1c9a52-3d0e-4b7a-9c1f-2e8d5b4a7c30';

/**
 * The Idempotency-Key of one refund attempt: a UUID v5 of (refundId, attempt). Datatrans asks
 * for a UUID; v5 keeps it deterministic, so a retry or a re-run after a crash sends the same key.
 */
export function idempotencyKeyFor(refundId: string, attempt: number): string {
  if (!Number.isSafeInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be an integer >= 1, got ${attempt}`);
  const ns = Buffer.from(IDEMPOTENCY_NAMESPACE.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(`${refundId}#${attempt}`, 'utf8').digest();
  const b = hash.subarray(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x50;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Datatrans' refno is 1..40 characters (CreditRequest.refno). */
export const REFNO_MAX_LENGTH = 40;
const DIRECT_REFNO = /^[A-Za-z0-9_-]{1,40}$/;

/**
 * The merchant reference sent with every attempt of a refund (the same for all attempts, so
 * the credit is recognisable as this refund's whatever attempt booked it):
 * - the refund id itself when it has 1..40 characters of [A-Za-z0-9_-];
 * - otherwise the first 23 such characters of the id, ".", and 16 hex digits of SHA-256(refundId):
 *   40 characters, traceable by eye, and the "." cannot appear in the direct form.
 */
export function refnoFor(refundId: string): string {
  if (DIRECT_REFNO.test(refundId)) return refundId;
  const prefix = refundId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 23);
  const hash = createHash('sha256').update(refundId, 'utf8').digest('hex').slice(0, 16);
  return `${prefix}.${hash}`;
}
