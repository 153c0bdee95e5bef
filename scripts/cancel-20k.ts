/**
 * Cancels a generated 20,000-ticket performance through the synthesized CancelPerformance state
 * machine in a fresh local runtime (own DynamoDB Local on a free port, tables from the template),
 * and prints the time, the runner's stats and the run's tallies.
 *   npx tsx scripts/cancel-20k.ts [tickets] [pageSize]
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { importText } from '../lib/cli/import.ts';
import { generateSampleLines, samplePerformanceIds } from '../lib/local/sample-data.ts';
import type { RunReport } from '../lib/core/report.ts';
import { applyEnvironment, localEnvironment, stageTuning } from '../lib/local/env.ts';
import { runnerForLocalRuntime } from '../lib/local/local-runner.ts';
import { startDynamoDbLocal } from '../lib/local/services.ts';
import { synthesizeTemplate } from '../lib/local/synth.ts';
import { ensureTables } from '../lib/local/tables.ts';

const tickets = Number(process.argv[2] ?? 20_000);
const pageSize = process.argv[3] ? Number(process.argv[3]) : undefined;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const dynamodb = await startDynamoDbLocal({ detached: false });
try {
  const synth = await synthesizeTemplate();
  const { template } = synth;
  const prefix = 'cancel20k-';
  // No SES or PSP is needed to cancel: their endpoints point nowhere.
  const env = localEnvironment({ dynamodb: dynamodb.url, ses: 'http://127.0.0.1:9', psp: '' }, prefix);
  applyEnvironment(env);
  const client = new DynamoDBClient({ endpoint: dynamodb.url });
  await ensureTables(client, template, prefix);

  const opts = { seed: 20_000, performances: 1, ticketsPerPerformance: tickets, agencies: 3, vouchers: 0, resales: 0, exclusions: 0 };
  const [performanceId] = samplePerformanceIds(opts);
  let text = '';
  for (const line of generateSampleLines(opts)) text += `${line}\n`;
  let t0 = performance.now();
  const imported = await importText(text, '');
  if (!imported.ok) throw new Error(`import failed: ${JSON.stringify(imported.issues?.slice(0, 5))}`);
  console.error(`imported ${JSON.stringify(imported.written)} in ${seconds(performance.now() - t0)}`);

  const runner = runnerForLocalRuntime({ synth, tablePrefix: prefix, env: { ...env, ...stageTuning() }, functionEnv: stageTuning() });
  t0 = performance.now();
  const result = await runner.start('CancelPerformance', { performanceId, reason: 'load test', requestedBy: 'cancel-20k', ...(pageSize ? { pageSize } : {}) }, { name: 'cancel-20k' });
  const elapsed = performance.now() - t0;
  if (result.status !== 'SUCCEEDED') throw new Error(`${result.status}: ${result.error} ${result.cause}`);
  const report = result.output as RunReport;
  console.log(JSON.stringify({ tickets, performanceId, elapsed: seconds(elapsed), stats: result.stats, pages: report.pages, outcomes: report.outcomes, errors: report.errors }, null, 2));
  client.destroy();
} finally {
  dynamodb.child.kill('SIGTERM');
}
