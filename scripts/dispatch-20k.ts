/**
 * A dispatch of 20,000 pending refunds in a fresh local runtime: DynamoDB Local on a free port,
 * the local SES server, the PSP sandbox in-process with a rate limit, tables from the synthesized
 * template, the synthesized DispatchRefunds run by the LocalRunner (simulate, psp, credit).
 *
 *   npx tsx scripts/dispatch-20k.ts [--refunds 20000] [--rate 200]
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { refnoFor } from '../lib/adapters/psp/port.ts';
import { applyEnvironment, localEnvironment, stageTuning } from '../lib/local/env.ts';
import { startPspSandbox } from '../lib/local/psp-sandbox/index.ts';
import { runnerForLocalRuntime } from '../lib/local/local-runner.ts';
import type { ExecutionResult } from '../lib/local/runner.ts';
import { startDynamoDbLocal, startSesLocal } from '../lib/local/services.ts';
import { synthesizeTemplate } from '../lib/local/synth.ts';
import { ensureTables } from '../lib/local/tables.ts';
import { seedOneTicketRefunds } from '../test/support/one-ticket-refunds.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg('refunds', 20_000);
const RATE = arg('rate', 200);
const log = (line: string) => process.stderr.write(`${line}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main() {
  const t0 = performance.now();
  const dynamodb = await startDynamoDbLocal({ detached: false });
  const ses = await startSesLocal({ detached: false });
  const sandbox = await startPspSandbox({ port: 0, rateLimitPerSecond: RATE });
  const prefix = `bench${Date.now() % 100000}-`;
  const env = localEnvironment({ dynamodb: dynamodb.url, ses: ses.url, psp: sandbox.url }, prefix);
  applyEnvironment(env);
  process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
  const synth = await synthesizeTemplate();
  const { template } = synth;
  const client = new DynamoDBClient({ endpoint: dynamodb.url });
  await ensureTables(client, template, prefix);
  log(`runtime up in ${secs(performance.now() - t0)} (DynamoDB Local ${dynamodb.url}, SES ${ses.url}, sandbox ${sandbox.url} at ${RATE} req/s)`);

  try {
    // Data: one order and one pending refund per customer; 90 % card, 5 % Amazon Pay, 5 % other methods.
    const t1 = performance.now();
    const customer = (i: number) => ({ name: `Customer ${i}`, email: `c${i}@example.org`, language: ['de', 'fr', 'es', 'en'][i % 4] as string });
    const specs = await seedOneTicketRefunds(N, { performanceId: 'P-BENCH', performanceName: 'Bench match', txPrefix: '26', day: '2026-06-01', customer }, sandbox);
    // 1 % of the card refunds are declined (expired cards): they go to the credit pass.
    sandbox.configureFaults({ seed: 7, rules: [{ probability: 0.01, fault: { kind: 'decline', code: 'EXPIRED_CARD' } }] });
    log(`${N} orders, customers and pending refunds written in ${secs(performance.now() - t1)}`);

    const runner = runnerForLocalRuntime({ synth, tablePrefix: prefix, env: { ...env, ...stageTuning() }, functionEnv: stageTuning() });
    const range = { from: '2026-06-01', to: '2026-06-02', requestedBy: 'bench' };
    const results: Record<string, { ms: number; result: ExecutionResult }> = {};
    const phaseMs: Record<string, number> = {};
    const start = async (label: string, input: Record<string, unknown>) => {
      const t = performance.now();
      const phases: string[] = [];
      const result = await runner.start('DispatchRefunds', input, {
        name: `bench-${label}`,
        onEvent: (e) => {
          const state = (e as { state?: { name?: string } }).state?.name ?? '';
          if (/Shards$/.test(state) && (e.type === 'StateEntered' || e.type === 'StateExited')) {
            phases.push(`${state} ${e.type === 'StateEntered' ? 'start' : 'end'} +${secs(performance.now() - t)}`);
            const key = `${label}:${state}`;
            phaseMs[key] = e.type === 'StateEntered' ? -performance.now() : (phaseMs[key] ?? 0) + performance.now();
          }
        },
      });
      log(`  ${label} phases: ${phases.join(', ')}`);
      results[label] = { ms: performance.now() - t, result };
      if (result.status !== 'SUCCEEDED') throw new Error(`${label}: ${result.status} ${result.error} ${result.cause}`);
      const out = result.output as { outcomes: Record<string, { count: number }> };
      log(`${label}: ${secs(performance.now() - t)} ${JSON.stringify(Object.fromEntries(Object.entries(out.outcomes).map(([k, v]) => [k, v.count])))}`);
      return result.output as { runId: string; outcomes: Record<string, { count: number; totals: Record<string, number> }> };
    };
    const sim = await start('simulate', { mode: 'simulate', ...range });
    const statsBefore = sandbox.stats();
    await start('psp', { mode: 'psp', ...range, simulationRunId: sim.runId });
    // The PSP request rate is measured over the PSP pass itself (the Map over shards), emails excluded.
    const pspMs = phaseMs['psp:DispatchShards'] ?? 1;
    const statsAfter = sandbox.stats();
    await start('credit', { mode: 'credit', ...range, simulationRunId: sim.runId });

    const posts = (s: typeof statsAfter) => Object.entries(s.requests).filter(([k]) => k.startsWith('POST')).reduce((n, [, v]) => n + v, 0);
    const accepted = (s: typeof statsAfter) => Object.entries(s.requests).filter(([k]) => k.startsWith('POST') && !k.endsWith(' 429')).reduce((n, [, v]) => n + v, 0);
    const ledger = sandbox.ledger();
    const perRefno = new Map<string, number>();
    for (const c of ledger) perRefno.set(c.refno, (perRefno.get(c.refno) ?? 0) + 1);
    const duplicates = [...perRefno.values()].filter((n) => n > 1).length;
    const unknownCredits = ledger.filter((c) => !specs.some((s) => refnoFor(s.id) === c.refno)).length;
    const summary = {
      refunds: N,
      rateLimitPerSecond: RATE,
      times: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, secs(v.ms)])),
      psp: {
        creditRequests: posts(statsAfter) - posts(statsBefore),
        answeredNot429: accepted(statsAfter) - accepted(statsBefore),
        rateLimited429: statsAfter.rateLimited - statsBefore.rateLimited,
        pspPhase: secs(pspMs),
        requestRatePerSecond: Math.round(((posts(statsAfter) - posts(statsBefore)) / pspMs) * 1000),
        acceptedRatePerSecond: Math.round(((accepted(statsAfter) - accepted(statsBefore)) / pspMs) * 1000),
        creditsBooked: ledger.length,
      },
      duplicates,
      creditsWeDoNotKnow: unknownCredits,
      runnerStats: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.result.stats])),
      total: secs(performance.now() - t0),
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await sandbox.stop();
    client.destroy();
    ses.child.kill('SIGTERM');
    dynamodb.child.kill('SIGTERM');
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
