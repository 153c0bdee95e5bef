import * as z from 'zod';
import { isKnownCurrency } from '../../core/money.ts';
import {
  idempotencyKeyFor,
  refnoFor,
  type PspLookupOutcome,
  type PspLookupRequest,
  type PspRefundOutcome,
  type PspRefundRequest,
  type PspTransactionCredits,
  type RefundPsp,
} from './port.ts';
import { fetchTransport, nodeHttpTransport, type HttpExchangeResult, type HttpTransport } from './transport.ts';

/** Where PSP trouble is reported: ids, HTTP status and reasons only, never bodies, card or personal data. */
export interface PspLogger {
  warn(message: string, details: Record<string, unknown>): void;
}

const stderrLogger: PspLogger = {
  warn: (message, details) => process.stderr.write(JSON.stringify({ level: 'WARN', component: 'psp', message, ...details }) + '\n'),
};

export interface DatatransOptions {
  /** Base URL of the JSON API, e.g. https://api.sandbox.datatrans.com (no trailing /v1). */
  baseUrl: string;
  merchantId: string;
  password: string;
  /** Time allowed for one exchange; past it the outcome of a credit is unknown. */
  timeoutMs: number;
  /** Optional fetch implementation; by default node:http, which tells "not sent" from "sent" better. */
  fetch?: typeof fetch;
  transport?: HttpTransport;
  logger?: PspLogger;
}

/** Datatrans transaction ids: 18 digits, kept as strings (beyond Number's safe integers). */
export const TRANSACTION_ID = /^\d{18}$/;

// Final refusals of a credit: the refund can go to the credit-account fallback.
const DECLINE_CODES = new Set([
  'EXPIRED_CARD', 'BLOCKED_CARD', 'DECLINED', 'SOFT_DECLINED', 'INVALID_TRANSACTION_STATUS', 'REFERRAL', 'INVALID_CARD',
  'INVALID_CVV', 'UNSUPPORTED_CARD', 'NOT_SUPPORTED_BY_THIRD_PARTY', 'UNSUPPORTED_PAYMENT_METHOD', 'BLOCKED_BY_VELOCITY_CHECKER',
  'TRANSACTION_NOT_FOUND', 'INVALID_PROPERTY', 'INVALID_STATE', 'INVALID_ALIAS',
]);
// Refusals that would repeat for every refund (credentials, merchant setup, a request shape the PSP rejects).
const CONFIGURATION_CODES = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'INVALID_SETUP', 'INVALID_SIGN', 'INVALID_HEADER', 'INVALID_JSON_PAYLOAD', 'UNRECOGNIZED_PROPERTY', 'CLIENT_ERROR']);
// Anything else (UNKNOWN_ERROR, SERVER_ERROR, THIRD_PARTY_ERROR, DUPLICATE_REFNO: our refno is already
// booked?) or an unlisted code leaves the outcome open: unknown, settled by reconciliation.

const creditResponseSchema = z.object({ transactionId: z.string().regex(TRANSACTION_ID), acquirerAuthorizationCode: z.string().optional() });
const errorResponseSchema = z.object({ error: z.object({ code: z.string().min(1), message: z.string().optional() }) });
// Only the fields reconciliation reads; zod drops the rest (card, customer) so it is never kept.
const statusResponseSchema = z.object({
  transactionId: z.string().regex(TRANSACTION_ID),
  type: z.enum(['payment', 'credit', 'card_check']),
  status: z.string(),
  currency: z.string().optional(),
  refno: z.string().optional(),
  detail: z
    .object({ fail: z.object({ reason: z.string().optional(), message: z.string().optional() }).optional(), credit: z.object({ amount: z.number().int().optional() }).optional() })
    .optional(),
  history: z.array(z.object({ action: z.string().optional(), amount: z.number().int().optional(), success: z.boolean().optional() })).optional(),
});
type StatusView = z.infer<typeof statusResponseSchema>;

const BOOKED_STATUSES = new Set(['settled', 'transmitted', 'authorized']);

/** Retry-After as seconds or an HTTP date, in ms; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export class DatatransPsp implements RefundPsp {
  readonly name = 'datatrans';
  private readonly baseUrl: string;
  private readonly authorization: string;
  private readonly timeoutMs: number;
  private readonly transport: HttpTransport;
  private readonly logger: PspLogger;

  constructor(options: DatatransOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.authorization = 'Basic ' + Buffer.from(`${options.merchantId}:${options.password}`, 'utf8').toString('base64');
    this.timeoutMs = options.timeoutMs;
    this.transport = options.transport ?? (options.fetch ? fetchTransport(options.fetch) : nodeHttpTransport());
    this.logger = options.logger ?? stderrLogger;
  }

  async refund(req: PspRefundRequest): Promise<PspRefundOutcome> {
    const invalid = this.invalidRequest(req);
    if (invalid) return { kind: 'declined', code: 'INVALID_PROPERTY', message: `not sent: ${invalid}` };
    const body = JSON.stringify({ amount: req.amount.amount, currency: req.amount.currency, refno: refnoFor(req.refundId) });
    const result = await this.transport({
      method: 'POST',
      url: `${this.baseUrl}/v1/transactions/${req.originalTransactionId}/credit`,
      headers: { ...this.headers(), 'Content-Type': 'application/json; charset=UTF-8', 'Idempotency-Key': idempotencyKeyFor(req.refundId, req.attempt) },
      body,
      timeoutMs: this.timeoutMs,
    });
    const outcome = this.creditOutcome(result);
    if (outcome.kind === 'unknown' || outcome.kind === 'configuration_error') {
      this.logger.warn('PSP credit outcome not settled', { refundId: req.refundId, attempt: req.attempt, transactionId: req.originalTransactionId, outcome: outcome.kind, reason: outcome.reason });
    }
    return outcome;
  }

  /**
   * Reconciliation, read-only. How a credit is recognised as this refund's, from what the spec exposes:
   * 1. With a known creditTransactionId: GET that transaction; it is ours if `type` is `credit` and
   *    its `refno` is refnoFor(refundId). settled/transmitted/authorized -> credited; failed or
   *    canceled -> failed_after_credit (late failure, code = detail.fail.reason).
   * 2. Otherwise: GET the original transaction. Its `history` lists credits with amount and success
   *    but neither refno nor credit id, so: h = successful credit entries of exactly this amount,
   *    b / u = other refunds of this payment with the same amount known credited / still unknown.
   *    h - b = 0 -> not_credited; h - b = 1 + u -> credited (every candidate is booked);
   *    anything else -> unknown (ambiguous or inconsistent: left to an operator).
   */
  async lookup(req: PspLookupRequest): Promise<PspLookupOutcome> {
    if (!TRANSACTION_ID.test(req.originalTransactionId)) return { kind: 'unknown', reason: 'original transaction id is not 18 digits' };
    if (req.creditTransactionId) {
      const credit = await this.status(req.creditTransactionId);
      if ('kind' in credit) return credit;
      if (credit.type !== 'credit' || credit.refno !== refnoFor(req.refundId)) {
        return this.unknownLookup(req, 'the credit transaction does not carry this refund\'s refno');
      }
      if (BOOKED_STATUSES.has(credit.status)) return { kind: 'credited', creditTransactionId: credit.transactionId };
      if (credit.status === 'failed' || credit.status === 'canceled') {
        return { kind: 'failed_after_credit', creditTransactionId: credit.transactionId, code: credit.detail?.fail?.reason ?? credit.status };
      }
      return this.unknownLookup(req, `credit transaction in status ${credit.status}`);
    }
    const original = await this.status(req.originalTransactionId);
    if ('kind' in original) return original;
    if (original.currency !== undefined && original.currency !== req.amount.currency) {
      return this.unknownLookup(req, 'original transaction currency differs from the refund currency');
    }
    const sameAmount = (m: { amount: number; currency: string }) => m.amount === req.amount.amount && m.currency === req.amount.currency;
    const h = (original.history ?? []).filter((a) => a.action === 'credit' && a.success === true && a.amount === req.amount.amount).length;
    const others = (req.otherCreditsOnTransaction ?? []).filter((o) => sameAmount(o.amount));
    const b = others.filter((o) => o.outcome === 'credited').length;
    const u = others.length - b;
    // The history keeps a credit that failed after booking as a success; the credited amount does not.
    const credits = (original.history ?? []).filter((a) => a.action === 'credit' && a.success === true);
    const failedLate = credits.reduce((s, a) => s + (a.amount ?? 0), 0) - (original.detail?.credit?.amount ?? 0);
    let booked = h;
    if (failedLate > 0) {
      // Which credits failed? Only the combinations of credits that add up to the failed amount can have;
      // decide only when all of them agree on how many credits of THIS amount failed.
      const failedOfThisAmount = failedCountsOfAmount(credits.map((a) => a.amount ?? 0), failedLate, req.amount.amount);
      if (failedOfThisAmount.size !== 1) return this.unknownLookup(req, `a credit on this transaction failed after booking (${failedLate} minor units) and the history cannot say whose`);
      booked = h - ([...failedOfThisAmount][0] as number);
    }
    const ours = booked - b;
    if (ours === 0) return { kind: 'not_credited' };
    if (ours === 1 + u) return { kind: 'credited', creditTransactionId: null };
    return this.unknownLookup(req, `ambiguous history: ${h} credit(s) of this amount, ${b} known booked, ${u} unsettled`);
  }

  /** GET the original transaction: the amount it reports credited (detail.credit) and its successful credit actions. */
  async creditsOf(originalTransactionId: string): Promise<PspTransactionCredits> {
    if (!TRANSACTION_ID.test(originalTransactionId)) return { kind: 'unknown', reason: 'original transaction id is not 18 digits' };
    const view = await this.status(originalTransactionId);
    if ('kind' in view) return view.kind === 'configuration_error' ? view : { kind: 'unknown', reason: view.kind === 'unknown' ? view.reason : view.kind };
    const successfulCredits = (view.history ?? []).filter((a) => a.action === 'credit' && a.success === true).length;
    return { kind: 'found', currency: view.currency ?? null, creditedAmount: view.detail?.credit?.amount ?? 0, successfulCredits };
  }

  private unknownLookup(req: PspLookupRequest, reason: string): PspLookupOutcome {
    this.logger.warn('PSP lookup left the refund unknown', { refundId: req.refundId, transactionId: req.originalTransactionId, reason });
    return { kind: 'unknown', reason };
  }

  private headers(): Record<string, string> {
    return { Authorization: this.authorization, Accept: 'application/json' };
  }

  private invalidRequest(req: PspRefundRequest): string | null {
    if (!TRANSACTION_ID.test(req.originalTransactionId)) return 'original transaction id is not 18 digits';
    if (!Number.isSafeInteger(req.amount.amount) || req.amount.amount <= 0) return 'amount must be a positive integer of minor units';
    if (!isKnownCurrency(req.amount.currency)) return 'currency is not ISO 4217';
    if (!Number.isSafeInteger(req.attempt) || req.attempt < 1) return 'attempt must be an integer >= 1';
    return null;
  }

  private creditOutcome(result: HttpExchangeResult): PspRefundOutcome {
    if (result.kind === 'not_sent') return { kind: 'retryable', reason: result.reason };
    if (result.kind === 'no_answer') return { kind: 'unknown', reason: result.reason };
    const { status } = result;
    const json = parseJson(result.body);
    if (status === 200) {
      const parsed = creditResponseSchema.safeParse(json);
      if (parsed.success) return { kind: 'succeeded', creditTransactionId: parsed.data.transactionId };
      return { kind: 'unknown', reason: `malformed credit answer (HTTP 200${describeIssues(parsed.error, json)})` };
    }
    if (status === 401 || status === 403) return { kind: 'configuration_error', httpStatus: status, reason: `PSP refused the credentials (HTTP ${status})` };
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(result.headers['retry-after']);
      return retryAfterMs === undefined ? { kind: 'retryable', reason: 'rate limited (HTTP 429)' } : { kind: 'retryable', reason: 'rate limited (HTTP 429)', retryAfterMs };
    }
    if (status === 409) return { kind: 'retryable', reason: 'idempotent request still in flight (HTTP 409)' };
    if (status === 422) return { kind: 'unknown', reason: 'idempotency key already used with a different body (HTTP 422)' };
    if (status >= 500) return { kind: 'retryable', reason: `PSP server error (HTTP ${status})` };
    const parsedError = errorResponseSchema.safeParse(json);
    if (!parsedError.success) return { kind: 'unknown', reason: `unexpected answer (HTTP ${status}${describeIssues(parsedError.error, json)})` };
    const { code, message } = parsedError.data.error;
    if (status === 400 || status === 404) {
      if (DECLINE_CODES.has(code)) return { kind: 'declined', code, message: message ?? code };
      if (CONFIGURATION_CODES.has(code)) return { kind: 'configuration_error', httpStatus: status, reason: `PSP rejected the request: ${code}` };
    }
    return { kind: 'unknown', reason: `unexpected answer (HTTP ${status}, code ${code})` };
  }

  /** GET /v1/transactions/{id}: the parsed view, or the lookup outcome explaining why not. */
  private async status(transactionId: string): Promise<StatusView | PspLookupOutcome> {
    const result = await this.transport({ method: 'GET', url: `${this.baseUrl}/v1/transactions/${transactionId}`, headers: this.headers(), timeoutMs: this.timeoutMs });
    if (result.kind !== 'response') return { kind: 'unknown', reason: `status not read: ${result.reason}` };
    if (result.status === 401 || result.status === 403) return { kind: 'configuration_error', httpStatus: result.status, reason: `PSP refused the credentials (HTTP ${result.status})` };
    const json = parseJson(result.body);
    if (result.status !== 200) {
      const err = errorResponseSchema.safeParse(json);
      return { kind: 'unknown', reason: `status not read (HTTP ${result.status}${err.success ? `, code ${err.data.error.code}` : ''})` };
    }
    const parsed = statusResponseSchema.safeParse(json);
    if (!parsed.success) return { kind: 'unknown', reason: `malformed status answer${describeIssues(parsed.error, json)}` };
    if (parsed.data.transactionId !== transactionId) return { kind: 'unknown', reason: 'status answer is for another transaction' };
    return parsed.data;
  }
}

/** Names the offending fields (paths only, never values: they may hold card or personal data). */
function describeIssues(error: z.ZodError, json: unknown): string {
  if (json === undefined) return ', body is not JSON';
  const paths = error.issues.slice(0, 5).map((i) => i.path.join('.') || '(root)');
  return `, invalid fields: ${paths.join(', ')}`;
}

export { loadDatatransConfig, type DatatransConfig } from './config.ts';

/**
 * For the credits of one transaction (amounts) and the amount that failed after booking: the set of
 * possible counts of failed credits of `amount`, over every sub-multiset adding up to `failed`.
 * A single element means the history is unambiguous for that amount. Bounded: beyond 16 credits
 * it answers "ambiguous" (empty set) rather than enumerate.
 */
export function failedCountsOfAmount(credits: readonly number[], failed: number, amount: number): Set<number> {
  const counts = new Set<number>();
  if (credits.length > 16) return counts;
  const n = credits.length;
  for (let mask = 1; mask < 1 << n; mask++) {
    let total = 0;
    let ofAmount = 0;
    for (let i = 0; i < n; i++) {
      if (mask & (1 << i)) {
        total += credits[i] as number;
        if (credits[i] === amount) ofAmount++;
      }
    }
    if (total === failed) counts.add(ofAmount);
  }
  return counts;
}
