import { createHash } from 'node:crypto';
import type { Money } from '../../core/money.ts';
import { DomainError } from '../../core/errors.ts';

/**
 * The PSP port: what the dispatch and the reconciliation need from any PSP that can refund
 * a card (or Amazon Pay) payment to its source. No Datatrans specifics here, so a second
 * adapter (Worldline/Ogone, Adyen, Stripe) plugs in without touching the dispatch.
 */
export interface RefundPsp {
  readonly name: string;
  /** Sends one refund attempt. Never throws for PSP or network trouble: the outcome says it. */
  refund(req: PspRefundRequest): Promise<PspRefundOutcome>;
  /** Reconciliation: reads the PSP's records only, never sends a refund. */
  lookup(req: PspLookupRequest): Promise<PspLookupOutcome>;
  /** Reconciliation report: what the PSP holds as credited on one original transaction (read-only). */
  creditsOf?(originalTransactionId: string): Promise<PspTransactionCredits>;
}

export type PspTransactionCredits =
  /** creditedAmount: the net amount the PSP reports credited (late-failed credits excluded). */
  | { kind: 'found'; currency: string | null; creditedAmount: number; successfulCredits: number }
  | { kind: 'unknown'; reason: string }
  | { kind: 'configuration_error'; httpStatus: number; reason: string };

export interface PspRefundRequest {
  refundId: string;
  /** The PSP's id of the captured payment (18-digit string for Datatrans; never a Number). */
  originalTransactionId: string;
  amount: Money;
  /**
   * 1 for the first request of a refund. Only increases after a final decline, when a new
   * request is safe; every retry and re-run of the same attempt sends the same idempotency key.
   */
  attempt: number;
}

export type PspRefundOutcome =
  | { kind: 'succeeded'; creditTransactionId: string }
  /** A final refusal (card expired, blocked, transaction not creditable…): safe to fall back. */
  | { kind: 'declined'; code: string; message: string }
  /** Nothing was booked: the same request (same key) may be sent again, after retryAfterMs if given. */
  | { kind: 'retryable'; reason: string; retryAfterMs?: number }
  /** The request may have been booked: never send again blindly, reconcile with lookup(). */
  | { kind: 'unknown'; reason: string }
  /** Credentials or merchant setup are wrong: stop the whole dispatch run. */
  | { kind: 'configuration_error'; httpStatus: number; reason: string };

export interface OtherCreditOnTransaction {
  amount: Money;
  /** credited: known booked at the PSP; unknown: sent, outcome not settled yet. */
  outcome: 'credited' | 'unknown';
}

export interface PspLookupRequest {
  refundId: string;
  originalTransactionId: string;
  amount: Money;
  attempt: number;
  /** The PSP's credit id when a previous answer gave it (needed to see a late failure). */
  creditTransactionId?: string | null;
  /**
   * Other refunds of the same payment that were sent to the PSP and not declined. The PSP's
   * history of the original transaction lists credits by amount only, so these are needed
   * to tell whether a credit of this amount is ours (see DatatransPsp.lookup).
   */
  otherCreditsOnTransaction?: readonly OtherCreditOnTransaction[];
}

export type PspLookupOutcome =
  /** creditTransactionId is null when only the original's history proves the credit. */
  | { kind: 'credited'; creditTransactionId: string | null }
  | { kind: 'not_credited' }
  /** The credit was booked, then reported failed by the PSP (late failure): money did not move. */
  | { kind: 'failed_after_credit'; creditTransactionId: string; code: string }
  | { kind: 'unknown'; reason: string }
  | { kind: 'configuration_error'; httpStatus: number; reason: string };

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
