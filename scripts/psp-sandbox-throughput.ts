/**
 * Measures how many requests per second the PSP sandbox serves on this machine:
 * loopback only, no rate limit, bounded in time. Each request is a real credit (with an
 * Idempotency-Key) or a status read, sent by the Datatrans adapter itself.
 *   npx tsx scripts/psp-sandbox-throughput.ts [--seconds 5] [--concurrency 32] [--separate-process]
 * --separate-process runs the sandbox as `local up` does (main.ts in its own process), so the
 * client's CPU is not counted against it.
 */
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { DatatransPsp } from '../lib/adapters/psp/datatrans.ts';
import { SANDBOX_MERCHANT_ID, SANDBOX_PASSWORD, startPspSandbox } from '../lib/local/psp-sandbox/index.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '32' }, 'separate-process': { type: 'boolean', default: false } } });
const seconds = Math.min(30, Math.max(1, Number(values.seconds)));
const concurrency = Math.min(256, Math.max(1, Number(values.concurrency)));

const TX_COUNT = 1000;
const txIds = Array.from({ length: TX_COUNT }, (_, i) => `2605011${String(i).padStart(11, '0')}`);
// Large settled amounts so credits of 1 never run out during the run.
const transactions = txIds.map((transactionId) => ({ transactionId, amount: { amount: 1_000_000_000, currency: 'CHF' } }));

interface Target { url: string; ledgerSize(): Promise<number>; stop(): Promise<void> }
async function inProcess(): Promise<Target> {
  const sandbox = await startPspSandbox({ host: '127.0.0.1', rateLimitPerSecond: null });
  sandbox.registerTransactions(transactions);
  return { url: sandbox.url, ledgerSize: async () => sandbox.ledger().length, stop: () => sandbox.stop() };
}
async function separateProcess(): Promise<Target> {
  const mainPath = new URL('../lib/local/psp-sandbox/main.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', mainPath, '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
  const { url } = JSON.parse(line) as { url: string };
  const registered = await fetch(`${url}/_sandbox/transactions`, { method: 'POST', body: JSON.stringify({ transactions }) });
  if (registered.status !== 200) throw new Error(`registering transactions failed: HTTP ${registered.status}`);
  return {
    url,
    ledgerSize: async () => ((await (await fetch(`${url}/_sandbox/ledger`)).json()) as { credits: unknown[] }).credits.length,
    stop: () => new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); }),
  };
}
const sandbox = values['separate-process'] ? await separateProcess() : await inProcess();
const psp = new DatatransPsp({ baseUrl: sandbox.url, merchantId: SANDBOX_MERCHANT_ID, password: SANDBOX_PASSWORD, timeoutMs: 10_000 });

let credits = 0;
let lookups = 0;
let failures = 0;
let seq = 0;
const deadline = Date.now() + seconds * 1000;
const started = process.hrtime.bigint();
async function worker(): Promise<void> {
  while (Date.now() < deadline) {
    const n = seq++;
    const originalTransactionId = txIds[n % TX_COUNT] as string;
    const req = { refundId: `bench-${n}`, originalTransactionId, amount: { amount: 1, currency: 'CHF' }, attempt: 1 };
    if (n % 4 === 3) {
      const r = await psp.transaction(originalTransactionId);
      if (r.kind === 'unknown' || r.kind === 'configuration_error') failures += 1;
      lookups += 1;
    } else {
      const r = await psp.refund(req);
      if (r.kind !== 'succeeded') failures += 1;
      credits += 1;
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
const total = credits + lookups;
const booked = await sandbox.ledgerSize();
await sandbox.stop();
console.log(
  JSON.stringify({
    requestsPerSecond: Math.round(total / elapsedS),
    requests: total,
    credits,
    statusReads: lookups,
    failures,
    ledgerCredits: booked,
    seconds: Number(elapsedS.toFixed(2)),
    concurrency,
    sandbox: values['separate-process'] ? 'separate process' : 'same process as the client',
    node: process.version,
  }),
);
