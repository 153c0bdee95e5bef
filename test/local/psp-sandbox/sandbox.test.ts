import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  IDEMPOTENCY_KEY_TTL_MS,
  SANDBOX_MERCHANT_ID,
  SANDBOX_PASSWORD,
  startPspSandbox,
  type FaultConfig,
  type PspSandbox,
  type SandboxExchange,
} from '../../../lib/local/psp-sandbox/index.ts';
import { responseProblems } from '../../adapters/psp/openapi-contract.ts';

const TX = '260501100000000001';
const AUTH = `Basic ${Buffer.from(`${SANDBOX_MERCHANT_ID}:${SANDBOX_PASSWORD}`).toString('base64')}`;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let sandbox: PspSandbox;
let exchanges: SandboxExchange[];
let clock: number;

async function credit(body: unknown, key?: string, headers: Record<string, string> = {}, tx = TX) {
  const res = await fetch(`${sandbox.url}/v1/transactions/${tx}/credit`, {
    method: 'POST',
    headers: { Authorization: AUTH, 'Content-Type': 'application/json', ...(key ? { 'Idempotency-Key': key } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (await res.json()) as Record<string, any> };
}

async function admin(method: 'GET' | 'POST', p: string, body?: unknown) {
  const res = await fetch(`${sandbox.url}/_sandbox/${p}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

beforeEach(async () => {
  exchanges = [];
  clock = Date.parse('2026-07-13T02:00:00Z');
  sandbox = await startPspSandbox({ now: () => clock, onExchange: (e) => exchanges.push(e) });
  await admin('POST', 'transactions', { transactions: [{ transactionId: TX, amount: { amount: 10300, currency: 'CHF' }, paymentMethod: 'card' }] });
});

afterEach(async () => {
  await sandbox.stop();
  // Every answer of the Datatrans API conforms to the spec (the malformed-JSON fault and a load balancer's HTML page excepted).
  const problems = exchanges
    .filter((e) => !e.path.startsWith('/_sandbox/') && e.response && e.fault !== 'malformed_json' && !(e.response.headers['content-type'] ?? '').startsWith('text/html'))
    .flatMap((e) => responseProblems(e.method, e.path, e.response!.status, e.response!.body));
  expect(problems).toEqual([]);
});

describe('PSP sandbox: Datatrans wire format', () => {
  it('answers 401 in Datatrans\' error format without or with wrong Basic auth', async () => {
    const none = await fetch(`${sandbox.url}/v1/transactions/${TX}`);
    const wrong = await fetch(`${sandbox.url}/v1/transactions/${TX}`, { headers: { Authorization: `Basic ${Buffer.from('1100000000:nope').toString('base64')}` } });

    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    expect(wrong.status).toBe(401);
  });

  it('refuses bad requests the way Datatrans does', async () => {
    const badJson = await credit('{"amount":');
    const unknownField = await credit({ amount: 1, currency: 'CHF', refno: 'x', note: 'hi' });
    const shortId = await credit({ amount: 1, currency: 'CHF', refno: 'x' }, undefined, {}, '12345');
    const longRefno = await credit({ amount: 1, currency: 'CHF', refno: 'x'.repeat(41) });

    expect([badJson.status, unknownField.status, shortId.status, longRefno.status]).toEqual([400, 400, 400, 400]);
    expect([badJson.json.error.code, unknownField.json.error.code, shortId.json.error.code, longRefno.json.error.code]).toEqual([
      'INVALID_JSON_PAYLOAD', 'UNRECOGNIZED_PROPERTY', 'INVALID_PROPERTY', 'INVALID_PROPERTY',
    ]);
  });

  it('each credit gets a new 18-digit id; the status API shows the credit and its history', async () => {
    const a = await credit({ amount: 1000, currency: 'CHF', refno: 'A' });
    const b = await credit({ amount: 2000, currency: 'CHF', refno: 'B' });
    const original = await fetch(`${sandbox.url}/v1/transactions/${TX}`, { headers: { Authorization: AUTH } }).then((r) => r.json() as Promise<any>);
    const creditStatus = await fetch(`${sandbox.url}/v1/transactions/${a.json.transactionId}`, { headers: { Authorization: AUTH } }).then((r) => r.json() as Promise<any>);

    expect(a.json.transactionId).toMatch(/^\d{18}$/);
    expect(b.json.transactionId).not.toBe(a.json.transactionId);
    expect(original.detail.credit).toEqual({ amount: 3000 });
    expect(original.history.filter((h: any) => h.action === 'credit').map((h: any) => h.amount)).toEqual([1000, 2000]);
    expect(creditStatus).toMatchObject({ type: 'credit', status: 'settled', refno: 'A', currency: 'CHF' });
    expect(JSON.stringify(original)).not.toMatch(/masked|customer/);
  });
});

describe('PSP sandbox: Idempotency-Key as Datatrans documents it', () => {
  const body = { amount: 1000, currency: 'CHF', refno: 'R1' };
  const key = '7f0c2a9e-52a7-4f7e-9d1e-0c3b6a1e2f40';

  it('a repeat gets the same answer and no second credit; a different body gets 422', async () => {
    const first = await credit(body, key);
    const repeat = await credit({ refno: 'R1', currency: 'CHF', amount: 1000 }, key);
    const different = await credit({ ...body, amount: 999 }, key);

    expect(repeat).toEqual(first);
    expect(different.status).toBe(422);
    expect(sandbox.ledger()).toHaveLength(1);
    expect(sandbox.stats()).toMatchObject({ idempotentReplays: 1, bodyMismatches: 1, duplicateCreditsBlocked: 2, creditsBooked: 1 });
  });

  it('a repeat while the first is in flight gets 409', async () => {
    sandbox.configureFaults({ rules: [{ times: 1, fault: { kind: 'latency', ms: 1500 } }] });

    const slow = credit(body, key);
    await new Promise((r) => setTimeout(r, 300));
    const concurrent = await credit(body, key);

    expect(concurrent.status).toBe(409);
    expect((await slow).status).toBe(200);
    expect(sandbox.ledger()).toHaveLength(1);
  });

  it('keeps keys 60 minutes: after that the same request is a new credit', async () => {
    await credit(body, key);
    clock += IDEMPOTENCY_KEY_TTL_MS - 1;
    await credit(body, key);
    clock += 2;
    await credit(body, key);

    expect(sandbox.ledger()).toHaveLength(2);
  });

  it('keeps no result for a 5xx, a 429 or a time-out before commit: the retry is processed', async () => {
    sandbox.configureFaults({ rules: [{ times: 1, fault: { kind: 'http_5xx' } }, { times: 1, fault: { kind: 'rate_limited', retryAfterSeconds: 1 } }] });

    const results = [await credit(body, key), await credit(body, key), await credit(body, key)];

    expect(results.map((r) => r.status)).toEqual([503, 429, 200]);
    expect(sandbox.ledger()).toHaveLength(1);
  });
});

describe('PSP sandbox: credits against settled amounts', () => {
  it('accepts credits up to the settled amount, in its currency only', async () => {
    const wrongCurrency = await credit({ amount: 100, currency: 'EUR', refno: 'E' });
    const part = await credit({ amount: 10000, currency: 'CHF', refno: 'P' });
    const over = await credit({ amount: 301, currency: 'CHF', refno: 'O' });
    const rest = await credit({ currency: 'CHF', refno: 'REST' });
    const unknown = await credit({ amount: 1, currency: 'CHF', refno: 'U' }, undefined, {}, '999999999999999999');

    expect([wrongCurrency.status, part.status, over.status, rest.status, unknown.status]).toEqual([400, 200, 400, 200, 404]);
    expect(sandbox.ledger().map((c) => c.amount.amount)).toEqual([10000, 300]);
  });

  it('a late failure releases the amount and is reported failed by the status API', async () => {
    sandbox.configureFaults({ rules: [{ times: 1, fault: { kind: 'late_failure' } }] });

    const booked = await credit({ amount: 10300, currency: 'CHF', refno: 'L' });
    const status = await fetch(`${sandbox.url}/v1/transactions/${booked.json.transactionId}`, { headers: { Authorization: AUTH } }).then((r) => r.json() as Promise<any>);
    const again = await credit({ amount: 10300, currency: 'CHF', refno: 'L2' });

    expect(booked.status).toBe(200);
    expect(status).toMatchObject({ status: 'failed', detail: { fail: { reason: 'declined' } } });
    expect(again.status).toBe(200);
    expect(sandbox.ledger().map((c) => c.status)).toEqual(['failed', 'booked']);
  });
});

describe('PSP sandbox: faults and rate limit', () => {
  const many = async (n: number) => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i += 1) statuses.push((await credit({ amount: 1, currency: 'CHF', refno: `S${i}` })).status);
    return statuses;
  };
  const config: FaultConfig = { seed: 42, rules: [{ probability: 0.3, fault: { kind: 'decline', code: 'DECLINED' } }, { probability: 0.2, fault: { kind: 'http_5xx' } }] };

  it('replays the same fault sequence for the same seed, another for another seed', async () => {
    sandbox.configureFaults(config);
    const first = await many(40);
    await admin('POST', 'reset');
    await admin('POST', 'transactions', { transactions: [{ transactionId: TX, amount: { amount: 10300, currency: 'CHF' } }] });
    await admin('POST', 'faults', config);
    const replay = await many(40);
    sandbox.configureFaults({ ...config, seed: 43 });
    const other = await many(40);

    expect(replay).toEqual(first);
    expect(new Set(first)).toEqual(new Set([200, 400, 503]));
    expect(other).not.toEqual(first);
  });

  it('applies a rule to its transaction only, at most `times` times', async () => {
    const OTHER = '260501100000000009';
    sandbox.registerTransactions([{ transactionId: OTHER, amount: { amount: 500, currency: 'CHF' } }]);
    sandbox.configureFaults({ rules: [{ transactionId: OTHER, times: 2, fault: { kind: 'decline', code: 'BLOCKED_CARD' } }] });

    const onTx = await credit({ amount: 1, currency: 'CHF', refno: 'a' });
    const onOther = [1, 2, 3].map(() => credit({ amount: 1, currency: 'CHF', refno: 'b' }, undefined, {}, OTHER));
    const statuses = [];
    for (const p of onOther) statuses.push((await p).status);

    expect(onTx.status).toBe(200);
    expect(statuses.sort()).toEqual([200, 400, 400]);
    expect(sandbox.stats().faultsInjected).toEqual({ decline: 2 });
  });

  it('answers 429 with Retry-After over the rate limit', async () => {
    await admin('POST', 'config', { rateLimitPerSecond: 5 });

    const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => credit({ amount: 1, currency: 'CHF', refno: `r${i}` })));

    expect(statuses.filter((s) => s.status === 200)).toHaveLength(5);
    const limited = statuses.filter((s) => s.status === 429);
    expect(limited).toHaveLength(15);
    expect(Number(limited[0]?.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(sandbox.stats().rateLimited).toBe(15);
  });
});

describe('PSP sandbox: a gateway as unkind as a real one', () => {
  const body = { amount: 1000, currency: 'CHF', refno: 'R1' };
  const key = '5d1c6a3e-7a0b-4c1e-9f3a-2b8e4d6c1a7f';
  const status = () => fetch(`${sandbox.url}/v1/transactions/${TX}`, { headers: { Authorization: AUTH } }).then((r) => r.json() as Promise<any>);

  it('books, then answers an HTML 502 (for new and replayed keys alike) while the outage lasts', async () => {
    sandbox.configureFaults({ rules: [{ keys: 'any', until: new Date(clock + 10 * 60_000).toISOString(), fault: { kind: 'booked_then_5xx', status: 502, html: true } }] });

    const first = await fetch(`${sandbox.url}/v1/transactions/${TX}/credit`, { method: 'POST', headers: { Authorization: AUTH, 'Content-Type': 'application/json', 'Idempotency-Key': key }, body: JSON.stringify(body) });
    const firstText = await first.text();
    const replayDuringOutage = await fetch(`${sandbox.url}/v1/transactions/${TX}/credit`, { method: 'POST', headers: { Authorization: AUTH, 'Content-Type': 'application/json', 'Idempotency-Key': key }, body: JSON.stringify(body) });
    await replayDuringOutage.text();
    clock += 11 * 60_000; // the outage is over; the key is still kept
    const replayAfter = await credit(body, key);

    expect(first.status).toBe(502);
    expect(first.headers.get('content-type')).toBe('text/html');
    expect(firstText).toContain('Bad Gateway');
    expect(replayDuringOutage.status).toBe(502);
    expect(replayAfter.status).toBe(200);
    expect(sandbox.ledger()).toHaveLength(1);
    expect(sandbox.stats().faultsInjected).toEqual({ booked_then_5xx: 2 });
    expect((await status()).history.filter((h: any) => h.action === 'credit')).toEqual([{ action: 'credit', amount: 1000, source: 'api', date: expect.any(String), success: true }]);
  });

  it('forgets keys after its configured TTL (the clock moved by the admin API): the same request is then a second credit', async () => {
    await admin('POST', 'config', { keyTtlSeconds: 120 });
    await credit(body, key);
    await admin('POST', 'clock', { advanceSeconds: 119 });
    const replay = await credit(body, key);
    await admin('POST', 'clock', { advanceSeconds: 2 });
    const anew = await credit(body, key);

    expect(replay.json.transactionId).toBe(sandbox.ledger()[0]?.creditTransactionId);
    expect(anew.status).toBe(200);
    expect(sandbox.ledger()).toHaveLength(2);
  });

  it('a rule fires only inside its window of the sandbox clock', async () => {
    sandbox.configureFaults({ rules: [{ from: new Date(clock + 60_000).toISOString(), until: new Date(clock + 120_000).toISOString(), fault: { kind: 'http_5xx', status: 503 } }] });

    const before = await credit({ ...body, refno: 'a' });
    sandbox.advanceClock(90_000);
    const during = await credit({ ...body, refno: 'b' });
    sandbox.advanceClock(60_000);
    const after = await credit({ ...body, refno: 'c' });

    expect([before.status, during.status, after.status]).toEqual([200, 503, 200]);
  });

  it('books back-office credits (history source admin) through its admin API; they count against the settled amount', async () => {
    const bo = await admin('POST', `transactions/${TX}/admin-credit`, { amount: 10000 });
    const tooMuch = await admin('POST', `transactions/${TX}/admin-credit`, { amount: 301 });
    const ours = await credit({ amount: 301, currency: 'CHF', refno: 'O' });
    const view = await status();

    expect(bo.status).toBe(200);
    expect(bo.json).toMatchObject({ source: 'admin', amount: { amount: 10000, currency: 'CHF' }, idempotencyKey: null });
    expect(tooMuch.status).toBe(409);
    expect(ours).toMatchObject({ status: 400, json: { error: { code: 'INVALID_PROPERTY' } } });
    expect(view.detail.credit).toEqual({ amount: 10000 });
    expect(view.history.filter((h: any) => h.action === 'credit')).toEqual([{ action: 'credit', amount: 10000, source: 'admin', date: new Date(clock).toISOString(), success: true }]);
  });

  it('refuses a refno already booked when the merchant wants unique refnos (DUPLICATE_REFNO), books nothing', async () => {
    await admin('POST', 'config', { uniqueRefno: true });
    await credit(body, key);

    const again = await credit(body, '9d1c6a3e-7a0b-4c1e-9f3a-2b8e4d6c1a7f');

    expect(again).toMatchObject({ status: 400, json: { error: { code: 'DUPLICATE_REFNO' } } });
    expect(sandbox.ledger()).toHaveLength(1);
  });

  it('a slow booking lands after its delay even when the client gave up', async () => {
    sandbox.configureFaults({ rules: [{ times: 1, fault: { kind: 'slow_commit', ms: 1500 } }] });

    const gaveUp = await fetch(`${sandbox.url}/v1/transactions/${TX}/credit`, {
      method: 'POST',
      headers: { Authorization: AUTH, 'Content-Type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(100),
    }).catch((e: Error) => e.name);
    const early = sandbox.ledger().length;
    for (let i = 0; i < 100 && sandbox.ledger().length === 0; i++) await new Promise((r) => setTimeout(r, 50));

    expect(gaveUp).toBe('TimeoutError');
    expect(early).toBe(0);
    expect(sandbox.ledger()).toHaveLength(1);
  });
});

describe('PSP sandbox: admin API', () => {
  it('registers transactions idempotently and refuses a conflicting one', async () => {
    const again = await admin('POST', 'transactions', { transactions: [{ transactionId: TX, amount: { amount: 10300, currency: 'CHF' } }] });
    const conflict = await admin('POST', 'transactions', { transactions: [{ transactionId: TX, amount: { amount: 1, currency: 'CHF' } }] });
    // biome-ignore lint/correctness/noPrecisionLoss: an id sent as a JSON number loses its digits; the sandbox must refuse it
    const invalid = await admin('POST', 'transactions', { transactions: [{ transactionId: 260501100000000001, amount: { amount: 1, currency: 'CHF' } }] });

    expect(again.json).toEqual({ registered: 0, unchanged: 1 });
    expect(conflict.status).toBe(409);
    expect(invalid.status).toBe(400);
  });

  it('exposes the ledger and stats, and reset empties everything', async () => {
    const key = '0b7f4a52-1c1d-4a4e-8a8e-5b7f4a521c1d';
    await credit({ amount: 700, currency: 'CHF', refno: 'LED' }, key);

    const ledger = await admin('GET', 'ledger');
    const stats = await admin('GET', 'stats');
    const health = await admin('GET', 'health');
    await admin('POST', 'reset');
    const after = await admin('GET', 'ledger');
    const afterCredit = await credit({ amount: 1, currency: 'CHF', refno: 'X' });

    expect(ledger.json.credits).toEqual([
      { transactionId: TX, creditTransactionId: expect.stringMatching(/^\d{18}$/), amount: { amount: 700, currency: 'CHF' }, refno: 'LED', idempotencyKey: key, at: expect.any(String), status: 'booked', source: 'api' },
    ]);
    expect(stats.json).toMatchObject({ creditsBooked: 1, requests: { 'POST /v1/transactions/{id}/credit 200': 1 } });
    expect(health.json).toMatchObject({ status: 'ok', merchantId: SANDBOX_MERCHANT_ID });
    expect(JSON.stringify(health.json)).not.toContain(SANDBOX_PASSWORD);
    expect(after.json.credits).toEqual([]);
    expect(afterCredit.status).toBe(404);
  });

  it('refuses an invalid fault configuration', async () => {
    const res = await admin('POST', 'faults', { rules: [{ fault: { kind: 'explode' } }] });

    expect(res.status).toBe(400);
  });
});

describe('PSP sandbox: standalone process', () => {
  it('prints its URL as one JSON line, serves, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'lib/local/psp-sandbox/main.ts'), '--port', '0', '--rate', '100'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const firstLine = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
    const { url } = JSON.parse(firstLine) as { url: string };

    const health = await fetch(`${url}/_sandbox/health`).then((r) => r.json() as Promise<any>);
    child.kill('SIGTERM');

    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(health).toMatchObject({ status: 'ok', rateLimitPerSecond: 100 });
    expect(await exited).toBe(0);
  });
});
