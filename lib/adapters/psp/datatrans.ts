import * as z from 'zod';
import { isKnownCurrency } from '../../core/money.ts';
import type { PspCreditAction } from '../../core/psp-attribution.ts';
import {
  idempotencyKeyFor,
  refnoFor,
  type PspCreditLookup,
  type PspRefundOutcome,
  type PspRefundRequest,
  type PspTransactionLookup,
  type RefundPsp,
} from './port.ts';
import { fetchTransport, nodeHttpTransport, type HttpExchangeResult, type HttpTransport } from './transport.ts';

/** Where PSP trouble is reported: ids, HTTP status and reasons only, never bodies, card or personal data. */
export interface PspLogger {
  warn(message: string, details: Record<string, unknown>): void;
}

const stderrLogger: PspLogger = {
  warn: (message, details) => process.stderr.write(`${JSON.stringify({ level: 'WARN', component: 'psp', message, ...details })}\n`),
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

// Documented refusals that book nothing and are final for this attempt (a new attempt may be tried).
const DECLINE_CODES = new Set([
  'EXPIRED_CARD', 'BLOCKED_CARD', 'DECLINED', 'SOFT_DECLINED', 'REFERRAL', 'INVALID_CARD', 'INVALID_CVV', 'UNSUPPORTED_CARD',
  'NOT_SUPPORTED_BY_THIRD_PARTY', 'UNSUPPORTED_PAYMENT_METHOD', 'BLOCKED_BY_VELOCITY_CHECKER', 'TRANSACTION_NOT_FOUND', 'INVALID_STATE', 'INVALID_ALIAS',
]);
// The transaction cannot be credited that much (over-refund, fully credited; INVALID_PROPERTY also covers a
// currency mismatch, but our own request is validated before sending, so the amount is its likeliest cause):
// money may already have gone back, so never a credit-account fallback on this answer; a lookup decides.
const NOT_CREDITABLE_CODES = new Set(['INVALID_TRANSACTION_STATUS', 'INVALID_PROPERTY']);
// Refusals that would repeat for every refund (credentials, merchant setup, a request shape the PSP rejects).
const CONFIGURATION_CODES = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'INVALID_SETUP', 'INVALID_SIGN', 'INVALID_HEADER', 'INVALID_JSON_PAYLOAD', 'UNRECOGNIZED_PROPERTY', 'CLIENT_ERROR']);
// Our refno is already used: perhaps by our own earlier booking. Unknown until a lookup decides.
const REFNO_IN_USE_CODES = new Set(['DUPLICATE_REFNO']);
// Anything else (UNKNOWN_ERROR, SERVER_ERROR, THIRD_PARTY_ERROR) or an unlisted code leaves the outcome open: unknown.

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
    .object({
      fail: z.object({ reason: z.string().optional(), message: z.string().optional() }).optional(),
      credit: z.object({ amount: z.number().int().optional() }).optional(),
      settle: z.object({ amount: z.number().int().optional() }).optional(),
    })
    .optional(),
  history: z
    .array(z.object({ action: z.string().optional(), amount: z.number().int().optional(), success: z.boolean().optional(), source: z.string().optional(), date: z.string().optional() }))
    .optional(),
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
    this.authorization = `Basic ${Buffer.from(`${options.merchantId}:${options.password}`, 'utf8').toString('base64')}`;
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
   * Reconciliation, read-only: GET the original transaction. Its history lists each credit with
   * amount, date, source (`api` for requests like ours, `admin` for the back office) and success,
   * but neither refno nor credit id: lib/core/psp-attribution.ts decides what is ours.
   */
  async transaction(originalTransactionId: string): Promise<PspTransactionLookup> {
    if (!TRANSACTION_ID.test(originalTransactionId)) return { kind: 'unknown', reason: 'original transaction id is not 18 digits' };
    const view = await this.status(originalTransactionId);
    if ('kind' in view) return view;
    if (view.type !== 'payment') return { kind: 'unknown', reason: `transaction ${originalTransactionId} is a ${view.type}, not a payment` };
    const credits: PspCreditAction[] = [];
    for (const a of view.history ?? []) {
      if (a.action !== 'credit' || a.success !== true) continue;
      if (a.amount === undefined) return { kind: 'unknown', reason: 'a credit in the history has no amount' };
      credits.push({ amount: a.amount, date: a.date ?? null, source: a.source ?? 'unknown' });
    }
    return {
      kind: 'found',
      view: { currency: view.currency ?? null, settledAmount: view.detail?.settle?.amount ?? null, creditedAmount: view.detail?.credit?.amount ?? 0, credits },
    };
  }

  /** Reconciliation, read-only: GET one credit transaction (its type, refno and state). */
  async credit(creditTransactionId: string): Promise<PspCreditLookup> {
    if (!TRANSACTION_ID.test(creditTransactionId)) return { kind: 'unknown', reason: 'credit transaction id is not 18 digits' };
    const view = await this.status(creditTransactionId);
    if ('kind' in view) return view;
    const state = BOOKED_STATUSES.has(view.status) ? 'booked' : view.status === 'failed' || view.status === 'canceled' ? 'failed' : 'in_progress';
    return {
      kind: 'found',
      credit: {
        creditTransactionId: view.transactionId,
        type: view.type,
        refno: view.refno ?? null,
        amount: view.detail?.credit?.amount ?? null,
        currency: view.currency ?? null,
        state,
        failReason: state === 'failed' ? (view.detail?.fail?.reason ?? view.status) : null,
      },
    };
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

  /** What one answer proves (README: Outcomes of POST /v1/transactions/{id}/credit). */
  private creditOutcome(result: HttpExchangeResult): PspRefundOutcome {
    if (result.kind === 'not_sent') return { kind: 'retryable', reason: result.reason };
    if (result.kind === 'no_answer') return { kind: 'unknown', reason: result.reason };
    const { status } = result;
    // Whatever its body (JSON, or an HTML page from a load balancer): the request may have booked.
    if (status >= 500) return { kind: 'unknown', reason: `PSP server error (HTTP ${status}): may have booked` };
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(result.headers['retry-after']);
      const limited = { kind: 'retryable', reason: 'rate limited (HTTP 429)', cause: 'rate_limited' } as const;
      return retryAfterMs === undefined ? limited : { ...limited, retryAfterMs };
    }
    if (status === 401 || status === 403) return { kind: 'configuration_error', httpStatus: status, reason: `PSP refused the credentials (HTTP ${status})` };
    if (status === 409) return { kind: 'unknown', reason: 'a request with this idempotency key is still in flight (HTTP 409): may book' };
    if (status === 422) return { kind: 'unknown', reason: 'idempotency key already used with a different body (HTTP 422)' };
    const json = parseJson(result.body);
    if (status === 200) {
      const parsed = creditResponseSchema.safeParse(json);
      if (parsed.success) return { kind: 'succeeded', creditTransactionId: parsed.data.transactionId };
      return { kind: 'unknown', reason: `malformed credit answer (HTTP 200${describeIssues(parsed.error, json)})` };
    }
    const parsedError = errorResponseSchema.safeParse(json);
    if (!parsedError.success) return { kind: 'unknown', reason: `unexpected answer (HTTP ${status}${describeIssues(parsedError.error, json)})` };
    const { code, message } = parsedError.data.error;
    if (status === 400 || status === 404) {
      if (DECLINE_CODES.has(code)) return { kind: 'declined', code, message: message ?? code };
      if (NOT_CREDITABLE_CODES.has(code)) return { kind: 'not_creditable', code, message: message ?? code };
      if (CONFIGURATION_CODES.has(code)) return { kind: 'configuration_error', httpStatus: status, reason: `PSP rejected the request: ${code}` };
      if (REFNO_IN_USE_CODES.has(code)) return { kind: 'unknown', reason: `the PSP says our reference is already used (${code}): perhaps our own earlier booking`, code, cause: 'refno_in_use' };
    }
    return { kind: 'unknown', reason: `unexpected answer (HTTP ${status}, code ${code})`, code };
  }

  /** GET /v1/transactions/{id}: the parsed view, or the lookup outcome explaining why not. */
  private async status(transactionId: string): Promise<StatusView | { kind: 'unknown'; reason: string } | { kind: 'configuration_error'; httpStatus: number; reason: string }> {
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
