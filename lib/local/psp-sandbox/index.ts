import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import type { Money } from '../../core/money.ts';
import { FaultPlan, faultConfigSchema, type Fault, type FaultConfig, type FaultKind } from './faults.ts';

export { mulberry32, type Fault, type FaultConfig, type FaultRule } from './faults.ts';

/**
 * A local Datatrans JSON API (v1) for credits and status: the same wire format, Basic auth,
 * Idempotency-Key as Datatrans documents it, its own ledger, fault injection and a rate limit.
 */

export { SANDBOX_MERCHANT_ID, SANDBOX_PASSWORD } from './credentials.ts';
import { SANDBOX_MERCHANT_ID, SANDBOX_PASSWORD } from './credentials.ts';

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

/** Idempotency keys are kept 60 minutes (Datatrans' documented window). */
export const IDEMPOTENCY_KEY_TTL_MS = 60 * 60 * 1000;
const DEFAULT_HOLD_MS = 30_000;
const MAX_BODY_BYTES = 64 * 1024;
// Admin registrations carry every imported payment's transaction: allow large batches.
const MAX_ADMIN_BODY_BYTES = 32 * 1024 * 1024;

const METHOD_CODES: Record<string, string> = { card: 'VIS', amazon_pay: 'AZP' };

const transactionSchema = z.object({
  transactionId: z.string().regex(/^\d{18}$/, 'must be an 18-digit string'),
  amount: z.object({ amount: z.number().int().positive(), currency: z.string().regex(/^[A-Z]{3}$/) }),
  paymentMethod: z.string().optional(),
});
const registerSchema = z.object({ transactions: z.array(transactionSchema) });
const configSchema = z.object({
  rateLimitPerSecond: z.number().positive().nullable().optional(),
  keyTtlSeconds: z.number().int().min(0).optional(),
  uniqueRefno: z.boolean().optional(),
});
const clockSchema = z.object({ advanceSeconds: z.number().int().min(0) });
const adminCreditSchema = z.object({ amount: z.number().int().positive() });
const ADMIN_CREDIT_PATH = /^\/_sandbox\/transactions\/(\d{18})\/admin-credit$/;

interface Action { action: 'authorize' | 'settle' | 'credit'; amount: number; source: 'api' | 'admin'; date: string; success: boolean }
interface Settled { transactionId: string; amount: Money; paymentMethod: string; history: Action[]; createdAt: string; credits: Credit[] }
interface Credit extends LedgerCredit { paymentMethod: string }
interface Answer { status: number; headers: Record<string, string>; body: string }
interface KeyEntry { fingerprint: string; state: 'in_flight' | 'done'; answer?: Answer; storedAt: number }

const CREDIT_PATH = /^\/v1\/transactions\/([^/]+)\/credit$/;
const STATUS_PATH = /^\/v1\/transactions\/([^/]+)$/;
const ALLOWED_CREDIT_FIELDS = new Set(['amount', 'currency', 'refno', 'refno2', 'marketplace', 'extensions', 'mcp', 'PLU']);

function errorAnswer(status: number, code: string, message: string, headers: Record<string, string> = {}): Answer {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ error: { code, message } }) };
}
function jsonAnswer(status: number, value: unknown): Answer {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}
/** What a load balancer in front of the PSP answers when the backend is out of reach: not the PSP's JSON. */
function htmlAnswer(status: number): Answer {
  return { status, headers: { 'content-type': 'text/html' }, body: `<html><head><title>${status} Bad Gateway</title></head><body><center><h1>${status} Bad Gateway</h1></center></body></html>` };
}
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function emptyStats(): SandboxStats {
  return {
    requests: {}, faultsInjected: {}, creditsBooked: 0, creditsFailedLate: 0, duplicateCreditsBlocked: 0, idempotentReplays: 0, inFlightConflicts: 0,
    bodyMismatches: 0, overRefundsRefused: 0, duplicateRefnosRefused: 0, rateLimited: 0, adminCredits: 0,
  };
}

export async function startPspSandbox(options: PspSandboxOptions = {}): Promise<PspSandbox> {
  const host = options.host ?? '127.0.0.1';
  const merchantId = options.merchantId ?? SANDBOX_MERCHANT_ID;
  const expectedAuth = Buffer.from(`Basic ${Buffer.from(`${merchantId}:${options.password ?? SANDBOX_PASSWORD}`).toString('base64')}`);
  const baseNow = options.now ?? Date.now;
  let clockOffset = 0;
  const now = () => baseNow() + clockOffset;
  let keyTtlMs = options.keyTtlMs ?? IDEMPOTENCY_KEY_TTL_MS;
  let uniqueRefno = options.uniqueRefno ?? false;
  const seed = options.seed ?? 1;

  const transactions = new Map<string, Settled>();
  const credits = new Map<string, Credit>();
  const ledger: Credit[] = [];
  const keys = new Map<string, KeyEntry>();
  const faults = new FaultPlan(seed);
  let stats = emptyStats();
  let creditCounter = 0;

  // Token bucket: capacity = one second of requests.
  let rate: number | null = options.rateLimitPerSecond ?? null;
  let tokens = rate ?? 0;
  let lastRefill = now();
  const setRateLimit = (perSecond: number | null) => {
    rate = perSecond;
    tokens = perSecond ?? 0;
    lastRefill = now();
  };
  /** 0 when a token was taken, else seconds to wait. */
  const takeToken = (): number => {
    if (rate === null) return 0;
    const t = now();
    tokens = Math.min(rate, tokens + ((t - lastRefill) / 1000) * rate);
    lastRefill = t;
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - tokens) / rate));
  };

  const count = (key: string) => (stats.requests[key] = (stats.requests[key] ?? 0) + 1);
  const countFault = (kind: FaultKind) => (stats.faultsInjected[kind] = (stats.faultsInjected[kind] ?? 0) + 1);

  const newCreditId = (): string => {
    // yyMMddHHmmss + 6-digit counter: 18 digits, like Datatrans ids; skips any id already held.
    for (;;) {
      creditCounter = (creditCounter + 1) % 1_000_000;
      const d = new Date();
      const stamp = [d.getUTCFullYear() % 100, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((n) => String(n).padStart(2, '0')).join('');
      const id = stamp + String(creditCounter).padStart(6, '0');
      if (!transactions.has(id) && !credits.has(id)) return id;
    }
  };

  const registerTransactions = (list: readonly SandboxTransaction[]) => {
    let registered = 0;
    let unchanged = 0;
    for (const t of list) {
      const paymentMethod = METHOD_CODES[t.paymentMethod ?? 'card'] ?? t.paymentMethod ?? 'VIS';
      const existing = transactions.get(t.transactionId);
      if (existing) {
        if (existing.amount.amount !== t.amount.amount || existing.amount.currency !== t.amount.currency) {
          throw new SandboxConflict(`transaction ${t.transactionId} is already registered with another amount`);
        }
        unchanged += 1;
        continue;
      }
      const date = new Date(now()).toISOString();
      transactions.set(t.transactionId, {
        transactionId: t.transactionId,
        amount: { amount: t.amount.amount, currency: t.amount.currency },
        paymentMethod,
        createdAt: date,
        credits: [],
        history: [
          { action: 'authorize', amount: t.amount.amount, source: 'api', date, success: true },
          { action: 'settle', amount: t.amount.amount, source: 'api', date, success: true },
        ],
      });
      registered += 1;
    }
    return { registered, unchanged };
  };

  // Per-transaction list keeps a credit O(credits of that transaction), not O(ledger).
  const creditedOf = (t: Settled): number => t.credits.reduce((s, c) => s + (c.status === 'booked' ? c.amount.amount : 0), 0);
  const remainingOf = (t: Settled): number => t.amount.amount - creditedOf(t);

  /** The business part of a credit: validation, decline and late-failure faults, booking. */
  const processCredit = (transactionId: string, body: Record<string, unknown>, key: string | null, fault: Fault | null): Answer => {
    const tx = transactions.get(transactionId);
    if (!tx) return errorAnswer(404, 'TRANSACTION_NOT_FOUND', 'transaction not found');
    for (const field of Object.keys(body)) {
      if (!ALLOWED_CREDIT_FIELDS.has(field)) return errorAnswer(400, 'UNRECOGNIZED_PROPERTY', `credit.${field} is not a recognized property`);
    }
    const { amount, currency, refno } = body;
    if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) return errorAnswer(400, 'INVALID_PROPERTY', 'credit.currency must be a 3-letter ISO 4217 code');
    if (typeof refno !== 'string' || refno.length < 1 || refno.length > 40) return errorAnswer(400, 'INVALID_PROPERTY', 'credit.refno must have 1 to 40 characters');
    if (amount !== undefined && (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0)) {
      return errorAnswer(400, 'INVALID_PROPERTY', 'credit.amount must be a positive integer in minor units');
    }
    if (currency !== tx.amount.currency) return errorAnswer(400, 'INVALID_PROPERTY', 'credit.currency does not match the transaction currency');
    const remaining = remainingOf(tx);
    const creditAmount = (amount as number | undefined) ?? remaining;
    if (remaining <= 0) {
      stats.overRefundsRefused += 1;
      return errorAnswer(400, 'INVALID_TRANSACTION_STATUS', 'the transaction is fully credited and cannot be credited');
    }
    if (creditAmount > remaining) {
      stats.overRefundsRefused += 1;
      return errorAnswer(400, 'INVALID_PROPERTY', 'credit.amount exceeds the settled amount not yet credited');
    }
    if (uniqueRefno && ledger.some((c) => c.refno === refno && c.source === 'api' && c.status === 'booked')) {
      stats.duplicateRefnosRefused += 1;
      return errorAnswer(400, 'DUPLICATE_REFNO', 'a transaction with this refno exists already');
    }
    const date = new Date(now()).toISOString();
    if (fault?.kind === 'decline') {
      countFault('decline');
      tx.history.push({ action: 'credit', amount: creditAmount, source: 'api', date, success: false });
      return errorAnswer(400, fault.code, fault.message ?? 'the credit was declined');
    }
    const credit: Credit = {
      transactionId,
      creditTransactionId: newCreditId(),
      amount: { amount: creditAmount, currency },
      refno,
      idempotencyKey: key,
      at: date,
      status: 'booked',
      source: 'api',
      paymentMethod: tx.paymentMethod,
    };
    credits.set(credit.creditTransactionId, credit);
    ledger.push(credit);
    tx.credits.push(credit);
    tx.history.push({ action: 'credit', amount: creditAmount, source: 'api', date, success: true });
    stats.creditsBooked += 1;
    if (fault?.kind === 'late_failure') {
      // Booked and answered as a success; the status API reports it failed and the money is released.
      countFault('late_failure');
      credit.status = 'failed';
      stats.creditsFailedLate += 1;
    }
    const authCode = String(100000 + (creditCounter % 900000));
    return jsonAnswer(200, { transactionId: credit.creditTransactionId, acquirerAuthorizationCode: authCode });
  };

  const statusView = (transactionId: string): Answer => {
    const tx = transactions.get(transactionId);
    if (tx) {
      const credited = creditedOf(tx);
      const detail: Record<string, unknown> = { authorize: { amount: tx.amount.amount }, settle: { amount: tx.amount.amount } };
      if (credited > 0) detail.credit = { amount: credited };
      return jsonAnswer(200, {
        transactionId: tx.transactionId,
        merchantId,
        type: 'payment',
        status: 'settled',
        currency: tx.amount.currency,
        refno: `SBX-${tx.transactionId.slice(-10)}`,
        paymentMethod: tx.paymentMethod,
        detail,
        history: tx.history,
      });
    }
    const credit = credits.get(transactionId);
    if (credit) {
      const detail: Record<string, unknown> = { credit: { amount: credit.amount.amount } };
      if (credit.status === 'failed') detail.fail = { reason: 'declined', message: 'the acquirer reported the credit failed' };
      return jsonAnswer(200, {
        transactionId: credit.creditTransactionId,
        merchantId,
        type: 'credit',
        status: credit.status === 'failed' ? 'failed' : 'settled',
        currency: credit.amount.currency,
        refno: credit.refno,
        paymentMethod: credit.paymentMethod,
        detail,
        history: [{ action: 'credit', amount: credit.amount.amount, source: credit.source, date: credit.at, success: true }],
      });
    }
    return errorAnswer(404, 'TRANSACTION_NOT_FOUND', 'transaction not found');
  };

  // Sockets and held responses, so stop() ends everything at once.
  const sockets = new Set<Socket>();
  const holds = new Set<NodeJS.Timeout>();
  const hold = (res: http.ServerResponse, ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      holds.add(timer);
      function done() {
        clearTimeout(timer);
        holds.delete(timer);
        res.off('close', done);
        resolve();
      }
      res.on('close', done);
    });

  /** Waits ms whatever the client does (a closed socket does not cut it short); stop() ends it. */
  const delays = new Set<() => void>();
  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        delays.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      delays.add(done);
    });

  const handleV1 = async (req: http.IncomingMessage, res: http.ServerResponse, path: string, body: string, ctx: { fault?: FaultKind }): Promise<Answer | null> => {
    const creditMatch = req.method === 'POST' ? CREDIT_PATH.exec(path) : null;
    const statusMatch = req.method === 'GET' ? STATUS_PATH.exec(path) : null;
    const endpointLabel = creditMatch ? 'POST /v1/transactions/{id}/credit' : statusMatch ? 'GET /v1/transactions/{id}' : `${req.method} other`;
    const answer = (a: Answer | null): Answer | null => {
      count(`${endpointLabel} ${a ? a.status : 'no-answer'}`);
      return a;
    };

    const wait = takeToken();
    if (wait > 0) {
      stats.rateLimited += 1;
      return answer(errorAnswer(429, 'CLIENT_ERROR', 'too many requests', { 'retry-after': String(wait) }));
    }
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== expectedAuth.length || !timingSafeEqual(auth, expectedAuth)) {
      return answer(errorAnswer(401, 'UNAUTHORIZED', 'missing or wrong Basic authentication'));
    }
    const id = (creditMatch ?? statusMatch)?.[1];
    if (id === undefined) return answer(errorAnswer(404, 'CLIENT_ERROR', 'no such endpoint'));
    if (!/^\d{18}$/.test(id)) return answer(errorAnswer(400, 'INVALID_PROPERTY', 'transactionId length must be 18 digits'));

    if (statusMatch) {
      const related = [id, ...(credits.has(id) ? [credits.get(id)!.transactionId] : [])];
      const fault = faults.pick('status', related, now());
      if (fault) ctx.fault = fault.kind;
      const transportOutcome = await applyTransportFault(fault, res, false, () => statusView(id));
      return answer(transportOutcome);
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return answer(errorAnswer(400, 'INVALID_JSON_PAYLOAD', 'the request body is not valid JSON'));
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return answer(errorAnswer(400, 'INVALID_JSON_PAYLOAD', 'the request body must be a JSON object'));

    const keyHeader = req.headers['idempotency-key'];
    const key = typeof keyHeader === 'string' && keyHeader.length > 0 ? keyHeader : null;
    let entry: KeyEntry | undefined;
    if (key) {
      const fingerprint = `POST ${path} ${canonical(parsed)}`;
      const existing = keys.get(key);
      if (existing && now() - existing.storedAt < keyTtlMs) {
        stats.duplicateCreditsBlocked += 1;
        if (existing.fingerprint !== fingerprint) {
          stats.bodyMismatches += 1;
          return answer(errorAnswer(422, 'CLIENT_ERROR', 'the idempotency key was used with a different request'));
        }
        if (existing.state === 'in_flight') {
          stats.inFlightConflicts += 1;
          return answer(errorAnswer(409, 'CLIENT_ERROR', 'a request with this idempotency key is in progress'));
        }
        stats.idempotentReplays += 1;
        // The replay passes through the same load balancer: a rule for replayed keys can break it too.
        const replayFault = faults.pick('credit', [id], now(), true);
        if (replayFault) ctx.fault = replayFault.kind;
        const stored = existing.answer;
        if (!stored) return answer(null);
        const replayBusiness = replayFault?.kind === 'decline' || replayFault?.kind === 'late_failure' ? null : replayFault;
        return answer(await applyTransportFault(replayBusiness, res, true, () => stored));
      }
      entry = { fingerprint, state: 'in_flight', storedAt: now() };
      keys.set(key, entry);
    }
    const store = (a: Answer | null) => {
      if (!key || !entry) return;
      // Datatrans keeps no result for a request it did not process (5xx, 429, 401).
      if (a && a.status < 500 && a.status !== 429 && a.status !== 401) {
        entry.state = 'done';
        entry.answer = a;
        entry.storedAt = now();
      } else if (keys.get(key) === entry) keys.delete(key);
    };

    const fault = faults.pick('credit', [id], now());
    if (fault) ctx.fault = fault.kind;
    const businessFault = fault?.kind === 'decline' || fault?.kind === 'late_failure' ? fault : null;
    let committed: Answer | null = null;
    const commit = () => {
      committed = processCredit(id, parsed as Record<string, unknown>, key, businessFault);
      store(committed);
      return committed;
    };
    const result = await applyTransportFault(businessFault ? null : fault, res, true, commit);
    if (committed === null) store(result && result.status >= 500 ? result : null);
    return answer(result);
  };

  /**
   * Transport faults around `commit` (which books and returns the real answer). Returns what is
   * sent, or null when the socket is destroyed without an answer. A malformed answer is returned
   * as-is (the real one is already stored for the idempotency key).
   */
  const applyTransportFault = async (fault: Fault | null, res: http.ServerResponse, isCredit: boolean, commit: () => Answer): Promise<Answer | null> => {
    if (!fault || fault.kind === 'decline' || fault.kind === 'late_failure') return commit();
    countFault(fault.kind);
    switch (fault.kind) {
      case 'http_5xx':
        return errorAnswer(fault.status ?? 503, 'SERVER_ERROR', 'temporary server error');
      case 'rate_limited':
        stats.rateLimited += 1;
        return errorAnswer(429, 'CLIENT_ERROR', 'too many requests', { 'retry-after': String(fault.retryAfterSeconds) });
      case 'unauthorized':
        return errorAnswer(401, 'UNAUTHORIZED', 'missing or wrong Basic authentication');
      case 'latency':
        await hold(res, fault.ms);
        return commit();
      case 'timeout_before_commit':
        await hold(res, fault.ms ?? DEFAULT_HOLD_MS);
        res.socket?.destroy();
        return null;
      case 'timeout_after_commit':
        commit();
        await hold(res, fault.ms ?? DEFAULT_HOLD_MS);
        res.socket?.destroy();
        return null;
      case 'connection_reset': {
        if (fault.afterCommit || !isCredit) commit();
        const socket = res.socket as (Socket & { resetAndDestroy?: () => void }) | null;
        if (socket?.resetAndDestroy) socket.resetAndDestroy();
        else socket?.destroy();
        return null;
      }
      case 'malformed_json': {
        const real = commit();
        return { status: real.status, headers: real.headers, body: real.body.slice(0, Math.max(1, Math.floor(real.body.length / 2))) };
      }
      case 'booked_then_5xx': {
        commit();
        const status = fault.status ?? 502;
        return fault.html ? htmlAnswer(status) : errorAnswer(status, 'SERVER_ERROR', 'temporary server error');
      }
      case 'slow_commit':
        await delay(fault.ms);
        return commit();
      case 'key_in_flight':
        stats.inFlightConflicts += 1;
        return errorAnswer(409, 'CLIENT_ERROR', 'a request with this idempotency key is in progress');
    }
  };

  const adminCredit = (transactionId: string, amount: number): LedgerCredit => {
    const tx = transactions.get(transactionId);
    if (!tx) throw new SandboxConflict(`transaction ${transactionId} is not registered`);
    if (amount > remainingOf(tx)) throw new SandboxConflict(`a back-office credit of ${amount} exceeds what transaction ${transactionId} can still be credited (${remainingOf(tx)})`);
    const date = new Date(now()).toISOString();
    const credit: Credit = {
      transactionId,
      creditTransactionId: newCreditId(),
      amount: { amount, currency: tx.amount.currency },
      refno: `BO-${transactionId.slice(-10)}-${tx.credits.length + 1}`,
      idempotencyKey: null,
      at: date,
      status: 'booked',
      source: 'admin',
      paymentMethod: tx.paymentMethod,
    };
    credits.set(credit.creditTransactionId, credit);
    ledger.push(credit);
    tx.credits.push(credit);
    tx.history.push({ action: 'credit', amount, source: 'admin', date, success: true });
    stats.adminCredits += 1;
    return { ...credit, amount: { ...credit.amount } };
  };

  const configure = (settings: SandboxSettings) => {
    if (settings.rateLimitPerSecond !== undefined) setRateLimit(settings.rateLimitPerSecond);
    if (settings.keyTtlMs !== undefined) keyTtlMs = settings.keyTtlMs;
    if (settings.uniqueRefno !== undefined) uniqueRefno = settings.uniqueRefno;
  };

  const handleAdmin = async (req: http.IncomingMessage, path: string, body: string): Promise<Answer> => {
    const parseBody = (): unknown => {
      try {
        return body ? JSON.parse(body) : {};
      } catch {
        return undefined;
      }
    };
    const invalid = (error: z.ZodError | string) =>
      errorAnswer(400, 'INVALID_PROPERTY', typeof error === 'string' ? error : error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
    const route = `${req.method} ${path}`;
    switch (route) {
      case 'GET /_sandbox/health':
        return jsonAnswer(200, { status: 'ok', merchantId, transactions: transactions.size, credits: ledger.length, rateLimitPerSecond: rate });
      case 'POST /_sandbox/transactions': {
        const parsed = registerSchema.safeParse(parseBody());
        if (!parsed.success) return invalid(parsed.error);
        try {
          return jsonAnswer(200, registerTransactions(parsed.data.transactions));
        } catch (err) {
          if (err instanceof SandboxConflict) return errorAnswer(409, 'CLIENT_ERROR', err.message);
          throw err;
        }
      }
      case 'GET /_sandbox/ledger':
        return jsonAnswer(200, { credits: publicLedger() });
      case 'POST /_sandbox/faults': {
        const parsed = faultConfigSchema.safeParse(parseBody());
        if (!parsed.success) return invalid(parsed.error);
        faults.configure(parsed.data);
        return jsonAnswer(200, { rules: parsed.data.rules.length });
      }
      case 'POST /_sandbox/config': {
        const parsed = configSchema.safeParse(parseBody());
        if (!parsed.success) return invalid(parsed.error);
        const { rateLimitPerSecond, keyTtlSeconds, uniqueRefno: unique } = parsed.data;
        configure({ rateLimitPerSecond, ...(keyTtlSeconds !== undefined ? { keyTtlMs: keyTtlSeconds * 1000 } : {}), uniqueRefno: unique });
        return jsonAnswer(200, { rateLimitPerSecond: rate, keyTtlSeconds: keyTtlMs / 1000, uniqueRefno });
      }
      case 'POST /_sandbox/clock': {
        const parsed = clockSchema.safeParse(parseBody());
        if (!parsed.success) return invalid(parsed.error);
        clockOffset += parsed.data.advanceSeconds * 1000;
        return jsonAnswer(200, { now: new Date(now()).toISOString() });
      }
      case 'GET /_sandbox/stats':
        return jsonAnswer(200, stats);
      case 'POST /_sandbox/reset':
        reset();
        return jsonAnswer(200, { reset: true });
      default: {
        const adminCreditMatch = req.method === 'POST' ? ADMIN_CREDIT_PATH.exec(path) : null;
        if (adminCreditMatch) {
          const parsed = adminCreditSchema.safeParse(parseBody());
          if (!parsed.success) return invalid(parsed.error);
          try {
            return jsonAnswer(200, adminCredit(adminCreditMatch[1] as string, parsed.data.amount));
          } catch (err) {
            if (err instanceof SandboxConflict) return errorAnswer(409, 'CLIENT_ERROR', err.message);
            throw err;
          }
        }
        return errorAnswer(404, 'CLIENT_ERROR', 'no such sandbox endpoint');
      }
    }
  };

  const publicLedger = (): LedgerCredit[] =>
    ledger.map(({ transactionId, creditTransactionId, amount, refno, idempotencyKey, at, status, source }) => ({ transactionId, creditTransactionId, amount: { ...amount }, refno, idempotencyKey, at, status, source }));

  const reset = () => {
    transactions.clear();
    credits.clear();
    ledger.length = 0;
    keys.clear();
    faults.clear();
    stats = emptyStats();
  };

  const readBody = (req: http.IncomingMessage, limit: number) =>
    new Promise<string | null>((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= limit) chunks.push(c);
      });
      req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks).toString('utf8')));
      req.on('error', () => resolve(null));
    });

  const server = http.createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const body = await readBody(req, path.startsWith('/_sandbox/') ? MAX_ADMIN_BODY_BYTES : MAX_BODY_BYTES);
    let answer: Answer | null;
    const ctx: { fault?: FaultKind } = {};
    try {
      if (body === null) answer = errorAnswer(400, 'CLIENT_ERROR', 'request body too large or unreadable');
      else if (path.startsWith('/_sandbox/')) answer = await handleAdmin(req, path, body);
      else answer = await handleV1(req, res, path, body, ctx);
    } catch {
      answer = errorAnswer(500, 'SERVER_ERROR', 'sandbox internal error');
    }
    options.onExchange?.({ method: req.method ?? '', path, headers: req.headers, body: body ?? '', response: answer, ...(ctx.fault ? { fault: ctx.fault } : {}) });
    if (answer === null || res.destroyed || res.socket === null) return;
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const t of holds) clearTimeout(t);
        holds.clear();
        for (const done of [...delays]) done();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
    registerTransactions,
    configureFaults: (config) => faults.configure(faultConfigSchema.parse(config)),
    setRateLimit,
    configure,
    advanceClock: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the sandbox clock only moves forward');
      clockOffset += ms;
    },
    adminCredit,
    ledger: publicLedger,
    stats: () => structuredClone(stats),
    reset,
  };
}

export class SandboxConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxConflict';
  }
}
