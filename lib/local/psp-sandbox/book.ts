import type { Money } from '../../core/money.ts';
import { errorAnswer, jsonAnswer, type Answer } from './answers.ts';
import type { Fault } from './faults.ts';
import type { MerchantSettings, SandboxClock, SandboxCounters } from './state.ts';
import { SandboxConflict, type LedgerCredit, type SandboxTransaction } from './types.ts';

interface Action { action: 'authorize' | 'settle' | 'credit'; amount: number; source: 'api' | 'admin'; date: string; success: boolean }
interface Settled { transactionId: string; amount: Money; paymentMethod: string; history: Action[]; createdAt: string; credits: Credit[] }
interface Credit extends LedgerCredit { paymentMethod: string }

const METHOD_CODES: Record<string, string> = { card: 'VIS', amazon_pay: 'AZP' };
const ALLOWED_CREDIT_FIELDS = new Set(['amount', 'currency', 'refno', 'refno2', 'marketplace', 'extensions', 'mcp', 'PLU']);

/**
 * The PSP's books: the settled transactions (registered by the local runtime as the payments are
 * imported), the credits booked against them, and the status API's view of both.
 */
export class CreditBook {
  readonly #transactions = new Map<string, Settled>();
  readonly #credits = new Map<string, Credit>();
  readonly #ledger: Credit[] = [];
  #creditCounter = 0;

  constructor(
    private readonly merchantId: string,
    private readonly clock: SandboxClock,
    private readonly settings: MerchantSettings,
    private readonly counters: SandboxCounters,
  ) {}

  get transactionCount(): number {
    return this.#transactions.size;
  }

  get creditCount(): number {
    return this.#ledger.length;
  }

  /** The original transaction of a credit id, if it is one. */
  originalOf(creditTransactionId: string): string | undefined {
    return this.#credits.get(creditTransactionId)?.transactionId;
  }

  register(list: readonly SandboxTransaction[]): { registered: number; unchanged: number } {
    let registered = 0;
    let unchanged = 0;
    for (const t of list) {
      const paymentMethod = METHOD_CODES[t.paymentMethod ?? 'card'] ?? t.paymentMethod ?? 'VIS';
      const existing = this.#transactions.get(t.transactionId);
      if (existing) {
        if (existing.amount.amount !== t.amount.amount || existing.amount.currency !== t.amount.currency) {
          throw new SandboxConflict(`transaction ${t.transactionId} is already registered with another amount`);
        }
        unchanged += 1;
        continue;
      }
      const date = new Date(this.clock.now()).toISOString();
      this.#transactions.set(t.transactionId, {
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
  }

  /** The business part of a credit: validation, decline and late-failure faults, booking. */
  credit(transactionId: string, body: Record<string, unknown>, key: string | null, fault: Fault | null): Answer {
    const { stats } = this.counters;
    const tx = this.#transactions.get(transactionId);
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
    if (this.settings.uniqueRefno && this.#ledger.some((c) => c.refno === refno && c.source === 'api' && c.status === 'booked')) {
      stats.duplicateRefnosRefused += 1;
      return errorAnswer(400, 'DUPLICATE_REFNO', 'a transaction with this refno exists already');
    }
    const date = new Date(this.clock.now()).toISOString();
    if (fault?.kind === 'decline') {
      this.counters.fault('decline');
      tx.history.push({ action: 'credit', amount: creditAmount, source: 'api', date, success: false });
      return errorAnswer(400, fault.code, fault.message ?? 'the credit was declined');
    }
    const credit = this.#book(tx, { amount: creditAmount, refno, idempotencyKey: key, at: date, source: 'api' });
    stats.creditsBooked += 1;
    if (fault?.kind === 'late_failure') {
      // Booked and answered as a success; the status API reports it failed and the money is released.
      this.counters.fault('late_failure');
      credit.status = 'failed';
      stats.creditsFailedLate += 1;
    }
    const authCode = String(100000 + (this.#creditCounter % 900000));
    return jsonAnswer(200, { transactionId: credit.creditTransactionId, acquirerAuthorizationCode: authCode });
  }

  /** A credit booked in the back office (history `source: admin`), never through the API. */
  adminCredit(transactionId: string, amount: number): LedgerCredit {
    const tx = this.#transactions.get(transactionId);
    if (!tx) throw new SandboxConflict(`transaction ${transactionId} is not registered`);
    if (amount > remainingOf(tx)) throw new SandboxConflict(`a back-office credit of ${amount} exceeds what transaction ${transactionId} can still be credited (${remainingOf(tx)})`);
    const date = new Date(this.clock.now()).toISOString();
    const credit = this.#book(tx, { amount, refno: `BO-${transactionId.slice(-10)}-${tx.credits.length + 1}`, idempotencyKey: null, at: date, source: 'admin' });
    this.counters.stats.adminCredits += 1;
    return { ...credit, amount: { ...credit.amount } };
  }

  /** The status API's answer for a transaction or a credit id. */
  status(transactionId: string): Answer {
    const tx = this.#transactions.get(transactionId);
    if (tx) {
      const credited = creditedOf(tx);
      const detail: Record<string, unknown> = { authorize: { amount: tx.amount.amount }, settle: { amount: tx.amount.amount } };
      if (credited > 0) detail.credit = { amount: credited };
      return jsonAnswer(200, {
        transactionId: tx.transactionId,
        merchantId: this.merchantId,
        type: 'payment',
        status: 'settled',
        currency: tx.amount.currency,
        refno: `SBX-${tx.transactionId.slice(-10)}`,
        paymentMethod: tx.paymentMethod,
        detail,
        history: tx.history,
      });
    }
    const credit = this.#credits.get(transactionId);
    if (credit) {
      const detail: Record<string, unknown> = { credit: { amount: credit.amount.amount } };
      if (credit.status === 'failed') detail.fail = { reason: 'declined', message: 'the acquirer reported the credit failed' };
      return jsonAnswer(200, {
        transactionId: credit.creditTransactionId,
        merchantId: this.merchantId,
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
  }

  ledger(): LedgerCredit[] {
    return this.#ledger.map(({ transactionId, creditTransactionId, amount, refno, idempotencyKey, at, status, source }) => ({ transactionId, creditTransactionId, amount: { ...amount }, refno, idempotencyKey, at, status, source }));
  }

  clear(): void {
    this.#transactions.clear();
    this.#credits.clear();
    this.#ledger.length = 0;
  }

  /** Books a credit against its transaction: a new id, in the ledger, in the transaction's history. */
  #book(tx: Settled, c: { amount: number; refno: string; idempotencyKey: string | null; at: string; source: 'api' | 'admin' }): Credit {
    const credit: Credit = {
      transactionId: tx.transactionId,
      creditTransactionId: this.#newCreditId(),
      amount: { amount: c.amount, currency: tx.amount.currency },
      refno: c.refno,
      idempotencyKey: c.idempotencyKey,
      at: c.at,
      status: 'booked',
      source: c.source,
      paymentMethod: tx.paymentMethod,
    };
    this.#credits.set(credit.creditTransactionId, credit);
    this.#ledger.push(credit);
    tx.credits.push(credit);
    tx.history.push({ action: 'credit', amount: c.amount, source: c.source, date: c.at, success: true });
    return credit;
  }

  #newCreditId(): string {
    // yyMMddHHmmss + 6-digit counter: 18 digits, like Datatrans ids; skips any id already held.
    for (;;) {
      this.#creditCounter = (this.#creditCounter + 1) % 1_000_000;
      const d = new Date();
      const stamp = [d.getUTCFullYear() % 100, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((n) => String(n).padStart(2, '0')).join('');
      const id = stamp + String(this.#creditCounter).padStart(6, '0');
      if (!this.#transactions.has(id) && !this.#credits.has(id)) return id;
    }
  }
}

// Per-transaction list keeps a credit O(credits of that transaction), not O(ledger).
const creditedOf = (t: Settled): number => t.credits.reduce((s, c) => s + (c.status === 'booked' ? c.amount.amount : 0), 0);
const remainingOf = (t: Settled): number => t.amount.amount - creditedOf(t);
