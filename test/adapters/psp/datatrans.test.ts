import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatatransPsp, parseRetryAfter, type PspLogger } from '../../../lib/adapters/psp/datatrans.ts';
import { idempotencyKeyFor, orThrowConfigurationError, PspConfigurationError, refnoFor, type PspRefundRequest } from '../../../lib/adapters/psp/port.ts';
import { SANDBOX_MERCHANT_ID, SANDBOX_PASSWORD, startPspSandbox, type FaultRule, type PspSandbox, type SandboxExchange } from '../../../lib/local/psp-sandbox/index.ts';
import { exchangeProblems } from './openapi-contract.ts';

const CARD_TX = '260501100000000001';
const AMAZON_TX = '260501100000000002';
const OTHER_TX = '260501100000000003';

let sandbox: PspSandbox;
let exchanges: SandboxExchange[];
let logged: Array<{ message: string; details: Record<string, unknown> }>;

const logger: PspLogger = { warn: (message, details) => logged.push({ message, details }) };

function psp(overrides: Partial<ConstructorParameters<typeof DatatransPsp>[0]> = {}): DatatransPsp {
  return new DatatransPsp({ baseUrl: sandbox.url, merchantId: SANDBOX_MERCHANT_ID, password: SANDBOX_PASSWORD, timeoutMs: 2000, logger, ...overrides });
}

function refund(over: Partial<PspRefundRequest> = {}): PspRefundRequest {
  return { refundId: 'R-O1-PAY1-1', originalTransactionId: CARD_TX, amount: { amount: 6000, currency: 'CHF' }, attempt: 1, ...over };
}

function faults(...rules: FaultRule[]) {
  sandbox.configureFaults({ seed: 7, rules });
}

beforeEach(async () => {
  exchanges = [];
  logged = [];
  sandbox = await startPspSandbox({ onExchange: (e) => exchanges.push(e) });
  sandbox.registerTransactions([
    { transactionId: CARD_TX, amount: { amount: 10300, currency: 'CHF' }, paymentMethod: 'card' },
    { transactionId: AMAZON_TX, amount: { amount: 5000, currency: 'EUR' }, paymentMethod: 'amazon_pay' },
    { transactionId: OTHER_TX, amount: { amount: 4000, currency: 'CHF' } },
  ]);
});

afterEach(async () => {
  await sandbox.stop();
  // Contract: every request the adapter sent and every answer the sandbox gave conforms to the spec
  // (a malformed-JSON fault breaks the answer on purpose).
  // (a malformed-JSON fault and a load balancer's HTML page break the answer on purpose).
  const problems = exchanges.filter((e) => e.fault !== 'malformed_json' && !(e.response?.headers['content-type'] ?? '').startsWith('text/html')).flatMap(exchangeProblems);
  expect(problems).toEqual([]);
});

describe('DatatransPsp.refund against the sandbox', () => {
  it('credits the original transaction once, with the derived refno and idempotency key', async () => {
    const outcome = await psp().refund(refund());

    expect(outcome.kind).toBe('succeeded');
    const ledger = sandbox.ledger();
    expect(ledger).toHaveLength(1);
    expect(ledger[0]).toMatchObject({
      transactionId: CARD_TX,
      creditTransactionId: outcome.kind === 'succeeded' ? outcome.creditTransactionId : 'x',
      amount: { amount: 6000, currency: 'CHF' },
      refno: refnoFor('R-O1-PAY1-1'),
      idempotencyKey: idempotencyKeyFor('R-O1-PAY1-1', 1),
      status: 'booked',
    });
    expect(exchanges[0]?.headers['idempotency-key']).toBe(idempotencyKeyFor('R-O1-PAY1-1', 1));
    expect(exchanges[0]?.body).toBe('{"amount":6000,"currency":"CHF","refno":"R-O1-PAY1-1"}');
  });

  it('a re-run of the same attempt gets the same answer and books nothing more', async () => {
    const first = await psp().refund(refund());
    const again = await psp().refund(refund());

    expect(again).toEqual(first);
    expect(sandbox.ledger()).toHaveLength(1);
    expect(sandbox.stats().idempotentReplays).toBe(1);
  });

  it('refunds an Amazon Pay transaction in its own currency', async () => {
    const outcome = await psp().refund(refund({ refundId: 'R-AZ', originalTransactionId: AMAZON_TX, amount: { amount: 5000, currency: 'EUR' } }));

    expect(outcome.kind).toBe('succeeded');
    expect(sandbox.ledger()[0]?.amount).toEqual({ amount: 5000, currency: 'EUR' });
  });

  it.each(['EXPIRED_CARD', 'BLOCKED_CARD', 'DECLINED', 'SOFT_DECLINED', 'REFERRAL', 'INVALID_CARD', 'TRANSACTION_NOT_FOUND'])(
    'a %s decline is final and kept with its code; a new attempt is a new, safe request',
    async (code) => {
      faults({ transactionId: CARD_TX, times: 1, fault: { kind: 'decline', code } });

      const declined = await psp().refund(refund());
      const second = await psp().refund(refund({ attempt: 2 }));

      expect(declined).toMatchObject({ kind: 'declined', code });
      expect(second.kind).toBe('succeeded');
      expect(sandbox.ledger().map((c) => c.idempotencyKey)).toEqual([idempotencyKeyFor('R-O1-PAY1-1', 2)]);
    },
  );

  it('an over-refund refusal is not a decline: money may already have gone back, so it is never a reason to credit', async () => {
    const first = await psp().refund(refund({ refundId: 'R-A', amount: { amount: 8000, currency: 'CHF' } }));
    const tooMuch = await psp().refund(refund({ refundId: 'R-B', amount: { amount: 2301, currency: 'CHF' } }));
    const rest = await psp().refund(refund({ refundId: 'R-C', amount: { amount: 2300, currency: 'CHF' } }));
    const nothingLeft = await psp().refund(refund({ refundId: 'R-D', amount: { amount: 1, currency: 'CHF' } }));

    expect([first.kind, tooMuch.kind, rest.kind, nothingLeft.kind]).toEqual(['succeeded', 'not_creditable', 'succeeded', 'not_creditable']);
    expect([tooMuch, nothingLeft].map((o) => (o.kind === 'not_creditable' ? o.code : null))).toEqual(['INVALID_PROPERTY', 'INVALID_TRANSACTION_STATUS']);
    expect(sandbox.ledger().reduce((s, c) => s + c.amount.amount, 0)).toBe(10300);
    expect(sandbox.stats().overRefundsRefused).toBe(2);
  });

  it('a back-office credit counts against the settled amount: our credit is then refused as not creditable', async () => {
    sandbox.adminCredit(CARD_TX, 5000);

    const outcome = await psp().refund(refund({ amount: { amount: 6000, currency: 'CHF' } }));
    const read = await psp().transaction(CARD_TX);

    expect(outcome).toMatchObject({ kind: 'not_creditable', code: 'INVALID_PROPERTY' });
    expect(read).toMatchObject({ kind: 'found', view: { settledAmount: 10300, creditedAmount: 5000, credits: [{ amount: 5000, source: 'admin', date: expect.any(String) }] } });
  });

  it('a credit in another currency is refused as not creditable too (a lookup tells it from an over-refund); an unknown transaction is declined', async () => {
    const wrongCurrency = await psp().refund(refund({ refundId: 'R-EUR', amount: { amount: 100, currency: 'EUR' } }));
    const unknownTx = await psp().refund(refund({ refundId: 'R-NOTX', originalTransactionId: '999999999999999999' }));

    expect(wrongCurrency).toMatchObject({ kind: 'not_creditable', code: 'INVALID_PROPERTY' });
    expect(unknownTx).toMatchObject({ kind: 'declined', code: 'TRANSACTION_NOT_FOUND' });
    expect(sandbox.ledger()).toEqual([]);
  });

  it('DUPLICATE_REFNO is unknown (our own earlier booking may hold the reference), never a decline', async () => {
    sandbox.configure({ uniqueRefno: true });
    await psp().refund(refund({ attempt: 1, amount: { amount: 3000, currency: 'CHF' } }));

    const again = await psp().refund(refund({ attempt: 2, amount: { amount: 3000, currency: 'CHF' } }));

    expect(again).toMatchObject({ kind: 'unknown', code: 'DUPLICATE_REFNO', cause: 'refno_in_use' });
    expect(sandbox.ledger()).toHaveLength(1);
  });

  it('does not send a request it knows is invalid (transaction id not 18 digits)', async () => {
    const outcome = await psp().refund(refund({ originalTransactionId: '12345' }));

    expect(outcome).toMatchObject({ kind: 'declined', code: 'INVALID_PROPERTY' });
    expect(exchanges).toEqual([]);
  });

  it('any 5xx is unknown, whatever its body: the PSP may have booked behind it', async () => {
    faults(
      { transactionId: CARD_TX, times: 1, fault: { kind: 'http_5xx', status: 503 } },
      { transactionId: OTHER_TX, times: 1, fault: { kind: 'booked_then_5xx', status: 502, html: true } },
    );
    const other = refund({ refundId: 'R-OTHER', originalTransactionId: OTHER_TX, amount: { amount: 4000, currency: 'CHF' } });

    const jsonError = await psp().refund(refund());
    const htmlPage = await psp().refund(other);

    expect(jsonError).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('HTTP 503') });
    expect(htmlPage).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('HTTP 502') });
    // The 502 hid a booking: the PSP holds it, and replays it for the same key.
    expect(sandbox.ledger().map((c) => c.transactionId)).toEqual([OTHER_TX]);
    expect(await psp().refund(other)).toEqual({ kind: 'succeeded', creditTransactionId: sandbox.ledger()[0]?.creditTransactionId });
  });

  it('a 429 is retryable after the Retry-After the PSP asked for', async () => {
    faults({ times: 1, fault: { kind: 'rate_limited', retryAfterSeconds: 7 } });

    const outcome = await psp().refund(refund());

    expect(outcome).toEqual({ kind: 'retryable', reason: 'rate limited (HTTP 429)', cause: 'rate_limited', retryAfterMs: 7000 });
    expect(sandbox.ledger()).toEqual([]);
  });

  it('a 409 (same key still in flight) is unknown: the request in flight may book', async () => {
    faults({ times: 1, fault: { kind: 'latency', ms: 1500 } });

    const slow = psp().refund(refund());
    await new Promise((r) => setTimeout(r, 300));
    const concurrent = await psp().refund(refund());
    const first = await slow;

    expect(first.kind).toBe('succeeded');
    expect(concurrent).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('409') });
    expect(sandbox.ledger()).toHaveLength(1);
  });

  it('latency below the time-out is just slow', async () => {
    faults({ fault: { kind: 'latency', ms: 150 } });

    const outcome = await psp().refund(refund());

    expect(outcome.kind).toBe('succeeded');
  });

  it('a time-out before the PSP commits is unknown; its status shows no credit', async () => {
    faults({ times: 1, fault: { kind: 'timeout_before_commit', ms: 5000 } });

    const outcome = await psp({ timeoutMs: 300 }).refund(refund());
    const read = await psp().transaction(CARD_TX);

    expect(outcome).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('300 ms') });
    expect(read).toMatchObject({ kind: 'found', view: { creditedAmount: 0, credits: [] } });
    expect(sandbox.ledger()).toEqual([]);
  });

  it('a time-out after the PSP committed is unknown; its status shows the credit (source api); the same key replays it', async () => {
    faults({ times: 1, fault: { kind: 'timeout_after_commit', ms: 5000 } });

    const outcome = await psp({ timeoutMs: 300 }).refund(refund());
    const read = await psp().transaction(CARD_TX);
    const replay = await psp().refund(refund());

    expect(outcome.kind).toBe('unknown');
    expect(read).toMatchObject({ kind: 'found', view: { currency: 'CHF', settledAmount: 10300, creditedAmount: 6000, credits: [{ amount: 6000, source: 'api', date: expect.any(String) }] } });
    expect(replay).toEqual({ kind: 'succeeded', creditTransactionId: sandbox.ledger()[0]?.creditTransactionId });
    expect(sandbox.ledger()).toHaveLength(1);
  });

  it('a slow booking shows only once it lands, after the client gave up', async () => {
    faults({ times: 1, fault: { kind: 'slow_commit', ms: 1500 } });

    const outcome = await psp({ timeoutMs: 200 }).refund(refund());
    const early = await psp().transaction(CARD_TX);
    for (let i = 0; i < 100 && sandbox.ledger().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const late = await psp().transaction(CARD_TX);

    expect(outcome.kind).toBe('unknown');
    expect(early).toMatchObject({ kind: 'found', view: { credits: [] } });
    expect(late).toMatchObject({ kind: 'found', view: { credits: [{ amount: 6000, source: 'api' }] } });
  });

  it('a connection reset after sending is unknown, whether or not the PSP committed', async () => {
    faults({ transactionId: CARD_TX, times: 1, fault: { kind: 'connection_reset' } }, { transactionId: OTHER_TX, times: 1, fault: { kind: 'connection_reset', afterCommit: true } });
    const other = refund({ refundId: 'R-OTHER', originalTransactionId: OTHER_TX, amount: { amount: 4000, currency: 'CHF' } });

    const before = await psp().refund(refund());
    const after = await psp().refund(other);

    expect(before.kind).toBe('unknown');
    expect(after.kind).toBe('unknown');
    expect(await psp().transaction(CARD_TX)).toMatchObject({ kind: 'found', view: { credits: [] } });
    expect(await psp().transaction(OTHER_TX)).toMatchObject({ kind: 'found', view: { credits: [{ amount: 4000, source: 'api' }] } });
  });

  it('a connection refused (nothing sent) is retryable', async () => {
    const url = sandbox.url;
    await sandbox.stop();
    sandbox = await startPspSandbox({ onExchange: (e) => exchanges.push(e) });

    const outcome = await new DatatransPsp({ baseUrl: url, merchantId: SANDBOX_MERCHANT_ID, password: SANDBOX_PASSWORD, timeoutMs: 1000, logger }).refund(refund());

    expect(outcome).toMatchObject({ kind: 'retryable', reason: expect.stringContaining('ECONNREFUSED') });
  });

  it('a malformed answer is unknown and logged without card data, credentials or body', async () => {
    faults({ times: 1, fault: { kind: 'malformed_json' } });

    const outcome = await psp().refund(refund());
    const read = await psp().transaction(CARD_TX);

    expect(outcome).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('malformed') });
    expect(read).toMatchObject({ kind: 'found', view: { credits: [{ amount: 6000 }] } });
    const text = JSON.stringify(logged);
    expect(logged.length).toBeGreaterThan(0);
    expect(text).not.toContain(SANDBOX_PASSWORD);
    expect(text).not.toMatch(/Basic |masked|card"|acquirerAuthorizationCode/);
  });

  it('401 is a configuration error that stops the run (fault or wrong password)', async () => {
    faults({ times: 1, fault: { kind: 'unauthorized' } });

    const injected = await psp().refund(refund());
    const wrongPassword = await psp({ password: 'wrong' }).refund(refund());

    expect(injected).toMatchObject({ kind: 'configuration_error', httpStatus: 401 });
    expect(wrongPassword).toMatchObject({ kind: 'configuration_error', httpStatus: 401 });
    expect(() => orThrowConfigurationError(wrongPassword)).toThrow(PspConfigurationError);
    expect(sandbox.ledger()).toEqual([]);
  });

  it('the same key with a different body (422) is unknown, never a second credit', async () => {
    await psp().refund(refund());

    const changed = await psp().refund(refund({ amount: { amount: 100, currency: 'CHF' } }));

    expect(changed).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('422') });
    expect(sandbox.ledger()).toHaveLength(1);
  });

  it('works over global fetch as well', async () => {
    const outcome = await psp({ fetch: globalThis.fetch }).refund(refund());

    expect(outcome.kind).toBe('succeeded');
  });
});

describe('DatatransPsp status reads (reconciliation)', () => {
  it('a late failure is visible through the credit transaction status', async () => {
    faults({ times: 1, fault: { kind: 'late_failure' } });
    const outcome = await psp().refund(refund());
    const creditTransactionId = outcome.kind === 'succeeded' ? outcome.creditTransactionId : '';

    const read = await psp().credit(creditTransactionId);

    expect(outcome.kind).toBe('succeeded');
    expect(read).toEqual({ kind: 'found', credit: { creditTransactionId, type: 'credit', refno: refnoFor('R-O1-PAY1-1'), amount: 6000, currency: 'CHF', state: 'failed', failReason: 'declined' } });
    expect(sandbox.ledger()[0]?.status).toBe('failed');
  });

  it('reads a booked credit with its refno; the original lists it as an api credit with its date', async () => {
    const outcome = await psp().refund(refund());
    const creditTransactionId = outcome.kind === 'succeeded' ? outcome.creditTransactionId : '';
    sandbox.adminCredit(CARD_TX, 300);

    const credit = await psp().credit(creditTransactionId);
    const original = await psp().transaction(CARD_TX);

    expect(credit).toMatchObject({ kind: 'found', credit: { type: 'credit', refno: 'R-O1-PAY1-1', state: 'booked', amount: 6000 } });
    expect(original).toMatchObject({
      kind: 'found',
      view: { creditedAmount: 6300, credits: [{ amount: 6000, source: 'api' }, { amount: 300, source: 'admin' }] },
    });
  });

  it('a status API failure is unknown; 401 is a configuration error', async () => {
    faults({ endpoint: 'status', times: 1, fault: { kind: 'http_5xx' } }, { endpoint: 'status', times: 1, fault: { kind: 'malformed_json' } }, { endpoint: 'status', times: 1, fault: { kind: 'unauthorized' } });

    const serverError = await psp().transaction(CARD_TX);
    const malformed = await psp().transaction(CARD_TX);
    const unauthorized = await psp().transaction(CARD_TX);

    expect(serverError).toMatchObject({ kind: 'unknown' });
    expect(malformed).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('malformed') });
    expect(unauthorized).toMatchObject({ kind: 'configuration_error', httpStatus: 401 });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
