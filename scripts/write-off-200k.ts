/**
 * 200,000 vouchers written off in a fresh local runtime: DynamoDB Local on a free port, tables from
 * the synthesized template, the synthesized WriteOff state machine run by the LocalRunner.
 * Prints the load time, each run's time and the runner's stats.
 *
 *   npx tsx scripts/write-off-200k.ts [--vouchers 200000]
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { batchPut, type Item } from '../lib/adapters/dynamodb/items.ts';
import { tableName } from '../lib/adapters/dynamodb/table-names.ts';
import { readSelectedCodes } from '../lib/adapters/dynamodb/vouchers.ts';
import { fingerprint, type ImportRecord } from '../lib/core/import.ts';
import type { VoucherKind } from '../lib/core/model.ts';
import type { RunReport } from '../lib/core/report.ts';
import { writeOffChecksum } from '../lib/core/write-off.ts';
import { applyEnvironment, localEnvironment, stageTuning } from '../lib/local/env.ts';
import { runnerForLocalRuntime } from '../lib/local/local-runner.ts';
import type { ExecutionResult } from '../lib/local/runner.ts';
import { startDynamoDbLocal } from '../lib/local/services.ts';
import { synthesizeTemplate } from '../lib/local/synth.ts';
import { ensureTables } from '../lib/local/tables.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const VOUCHERS = arg('vouchers', 200_000);
const EXCLUSIONS = Math.floor(VOUCHERS / 400);
const KINDS: VoucherKind[] = ['value', 'package', 'service', 'imported', 'ticket', 'gift_card'];
const CURRENCIES = ['CHF', 'EUR', 'JPY', 'KWD'];

/** A small deterministic hash, so kinds, dates, validity and currencies vary independently. */
function mix(i: number, salt: number): number {
  let h = Math.imul(i ^ salt, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

/** Deterministic mix: kinds, issue dates 2018-2025, validity 1-3 years or none, four currencies, some empty. */
function voucher(i: number): { item: Item; code: string } {
  const code = `V-${mix(i, 1).toString(36).toUpperCase().padStart(7, '0')}-${i.toString(36).toUpperCase()}`;
  const kind = KINDS[mix(i, 2) % KINDS.length] as VoucherKind;
  const year = 2018 + (mix(i, 3) % 8);
  const month = String(1 + (mix(i, 4) % 12)).padStart(2, '0');
  const day = String(1 + (mix(i, 5) % 28)).padStart(2, '0');
  const issuedAt = `${year}-${month}-${day}`;
  const validUntil = mix(i, 6) % 10 === 0 ? null : `${year + 1 + (mix(i, 7) % 3)}-${month}-${day}`;
  const remaining = { amount: mix(i, 8) % 17 === 0 ? 0 : 100 + (mix(i, 9) % 9_901), currency: CURRENCIES[mix(i, 10) % CURRENCIES.length] as string };
  const record = { type: 'voucher', code, kind, issuedAt, validUntil, remaining } as ImportRecord;
  // The import writer's item shape (lib/adapters/dynamodb/import-store.ts).
  const item = { pk: `VOUCHER#${code}`, sk: 'VOUCHER', code, kind, issuedAt, validUntil, remaining: remaining.amount, currency: remaining.currency, writtenOff: null, fingerprint: fingerprint(record) };
  return { item, code };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function summary(label: string, result: ExecutionResult): void {
  const report = result.output as RunReport & { file: { count: number; checksum: string }; pages: number };
  console.log(`\n${label}: ${result.status} in ${seconds(result.stats.durationMs)}`);
  if (result.status !== 'SUCCEEDED') {
    console.log(`  ${result.error}: ${result.cause}`);
    return;
  }
  for (const [outcome, t] of Object.entries(report.outcomes)) console.log(`  ${outcome.padEnd(32)} ${String(t.count).padStart(7)}  ${JSON.stringify(t.totals)}`);
  console.log(`  file: ${report.file.count} codes, SHA-256 ${report.file.checksum}; pages: ${report.pages}`);
  const s = result.stats;
  console.log(
    `  runner: ${s.stateTransitions} state transitions, ${s.lambdaInvocations} Lambda invocations, ${s.retries} retries, ~${s.historyEvents} history events, largest payload ${s.largestPayloadBytes} B`,
  );
}

async function main(): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
  console.log(`starting DynamoDB Local and synthesizing the stack…`);
  const ddb = await startDynamoDbLocal({ detached: false });
  try {
    const synth = await synthesizeTemplate();
    const { template } = synth;
    const prefix = 'w200k-';
    const env = localEnvironment({ dynamodb: ddb.url, ses: 'http://127.0.0.1:9', psp: 'http://127.0.0.1:9' }, prefix);
    applyEnvironment(env);
    const client = new DynamoDBClient({ endpoint: ddb.url });
    await ensureTables(client, template, prefix);
    client.destroy();
    const runner = runnerForLocalRuntime({ synth, tablePrefix: prefix, env: { ...env, ...stageTuning() }, functionEnv: stageTuning() });

    const t0 = performance.now();
    const items: Item[] = [];
    const codes: string[] = [];
    for (let i = 0; i < VOUCHERS; i++) {
      const v = voucher(i);
      items.push(v.item);
      codes.push(v.code);
    }
    const exclusions = Array.from({ length: EXCLUSIONS }, (_, j) => codes[j * 397 % VOUCHERS] as string);
    await batchPut(tableName('vouchers'), items, 16);
    await batchPut(tableName('catalog'), [...new Set(exclusions)].map((id) => ({ pk: `WRITE_OFF_EXCLUSION#${id}`, sk: 'WRITE_OFF_EXCLUSION', id })), 16);
    const loadMs = performance.now() - t0;
    console.log(`loaded ${VOUCHERS} vouchers and ${new Set(exclusions).size} exclusions in ${seconds(loadMs)} (${Math.round(VOUCHERS / (loadMs / 1000))} vouchers/s, BatchWrite concurrency 16)`);

    const criteria = { issuedUpTo: '2023-12-31', requestedBy: 'bench' };
    const sim = await runner.start('WriteOff', { ...criteria }, { name: 'bench-simulate' });
    summary('simulation', sim);
    const real = await runner.start('WriteOff', { ...criteria, simulate: false, comment: 'bench write-off' }, { name: 'bench-real' });
    summary('real run', real);
    const again = await runner.start('WriteOff', { ...criteria, simulate: false, comment: 'bench re-run' }, { name: 'bench-rerun' });
    summary('re-run (no-op)', again);

    // The real run wrote off exactly what the simulation announced.
    const simFile = (sim.output as { file: { checksum: string } }).file.checksum;
    const realFile = (real.output as { file: { checksum: string } }).file.checksum;
    const recomputed = writeOffChecksum(await readSelectedCodes('bench-real'));
    console.log(`\nsimulation checksum ${simFile === realFile ? '=' : '≠'} real-run checksum; recomputed from stored codes: ${recomputed === realFile ? 'matches' : 'DIFFERS'}`);
    if (sim.status !== 'SUCCEEDED' || real.status !== 'SUCCEEDED' || again.status !== 'SUCCEEDED' || simFile !== realFile || recomputed !== realFile) process.exitCode = 1;
  } finally {
    ddb.child.kill('SIGTERM');
  }
}

await main();
