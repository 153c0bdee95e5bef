/**
 * A fresh local runtime for the bench: DynamoDB Local (its own, in memory, on a free port, unless
 * one is given), the PSP sandbox and a SES server in-process, tables from the synthesized template.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readFileSync } from 'node:fs';
import { applyEnvironment, localEnvironment, stageTuning } from '../lib/local/env.ts';
import { runnerForLocalRuntime } from '../lib/local/local-runner.ts';
import { startSesServer } from '../lib/local/ses-server.ts';
import { startPspSandbox, type PspSandbox } from '../lib/local/psp-sandbox/index.ts';
import type { LocalRunner } from '../lib/local/runner.ts';
import { startDynamoDbLocal, type StartedService } from '../lib/local/services.ts';
import { synthesizeTemplate } from '../lib/local/synth.ts';
import { dropTables, ensureTables } from '../lib/local/tables.ts';
import { dynamoMeterPreload } from './meter.ts';

export interface BenchRuntimeOptions {
  /** Use this DynamoDB Local instead of starting one (the CI smoke test shares the suite's). */
  dynamodbUrl?: string;
  /** Containers per function (default 16: one per shard, as deployed). */
  maxContainers?: number;
  /** Use this synthesized template instead of synthesizing. */
  templatePath?: string;
  pspRatePerSecond: number;
  /** The emulated SES account's sending rate: SendEmails' configured quota and the SES server's limit. */
  sesRatePerSecond: number;
}

export interface CreditExchange {
  at: number;
  status: number | null;
}

export interface BenchRuntime {
  template: Record<string, unknown>;
  dynamodbUrl: string;
  /** The JVM we started, if any (for its peak memory). */
  dynamodbPid?: number;
  client: DynamoDBClient;
  sandbox: PspSandbox;
  /** Every credit request the sandbox answered (or dropped), in order. */
  creditExchanges: CreditExchange[];
  /** SendEmail requests the SES server received. */
  emailsSent(): number;
  /** SendEmail requests it refused as over the quota. */
  sesThrottled(): number;
  clearEmails(): Promise<void>;
  /** Tables (prefix) + runner for one bench size; drop() empties DynamoDB Local again. */
  tables(prefix: string): Promise<{ runner: LocalRunner; env: Record<string, string>; drop(): Promise<void> }>;
  stop(): Promise<void>;
}

export async function startBenchRuntime(opts: BenchRuntimeOptions): Promise<BenchRuntime> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let dynamodb: StartedService | undefined;
  const started: { stop(): Promise<void> }[] = [];
  try {
    const synth = opts.templatePath
      ? { template: JSON.parse(readFileSync(opts.templatePath, 'utf8')) as Record<string, unknown>, path: opts.templatePath }
      : await synthesizeTemplate();
    const { template } = synth;
    if (!opts.dynamodbUrl) dynamodb = await startDynamoDbLocal({ detached: false });
    const dynamodbUrl = opts.dynamodbUrl ?? (dynamodb as StartedService).url;

    const creditExchanges: CreditExchange[] = [];
    const sandbox = await startPspSandbox({
      port: 0,
      rateLimitPerSecond: opts.pspRatePerSecond,
      onExchange: (e) => {
        if (e.method === 'POST' && e.path.endsWith('/credit')) creditExchanges.push({ at: performance.now(), status: e.response?.status ?? null });
      },
    });
    started.push(sandbox);
    const ses = await startSesServer({ maxSendRate: opts.sesRatePerSecond });
    started.push({ stop: () => new Promise<void>((r) => ses.server.close(() => r())) });
    let emails = 0;
    ses.server.on('request', (req) => {
      if (req.method === 'POST' && !String(req.url).startsWith('/clear-store')) emails++;
    });
    const client = new DynamoDBClient({ endpoint: dynamodbUrl });
    const runners: LocalRunner[] = [];

    return {
      template,
      dynamodbUrl,
      ...(dynamodb ? { dynamodbPid: dynamodb.pid } : {}),
      client,
      sandbox,
      creditExchanges,
      emailsSent: () => emails,
      sesThrottled: () => ses.throttled(),
      clearEmails: async () => {
        await fetch(`${ses.url}/clear-store`, { method: 'POST' });
      },
      async tables(prefix) {
        const env = { ...localEnvironment({ dynamodb: dynamodbUrl, ses: ses.url, psp: sandbox.url }, prefix), SES_MAX_SEND_RATE: String(opts.sesRatePerSecond) };
        applyEnvironment(env);
        await ensureTables(client, template, prefix);
        // The stages' DynamoDB calls are metered in their containers, into the bench's counters.
        const runner = runnerForLocalRuntime({
          synth,
          tablePrefix: prefix,
          env: { ...env, ...stageTuning() },
          functionEnv: stageTuning(),
          preload: [dynamoMeterPreload()],
          ...(opts.maxContainers ? { maxContainers: opts.maxContainers } : {}),
        });
        runners.push(runner);
        return { runner, env, drop: () => dropTables(client, prefix) };
      },
      async stop() {
        for (const runner of runners) await runner.close();
        client.destroy();
        for (const s of started.reverse()) await s.stop().catch(() => undefined);
        dynamodb?.child.kill('SIGTERM');
      },
    };
  } catch (error) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    dynamodb?.child.kill('SIGTERM');
    throw error;
  }
}
