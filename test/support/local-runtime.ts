import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { applyEnvironment, localEnvironment } from '../../lib/local/env.ts';
import { startSesServer, type LocalSesServer } from '../../lib/local/ses-server.ts';
import { startRun, type RunResult } from '../../lib/local/continued-runs.ts';
import { startWithEmails } from '../../lib/local/follow-ups.ts';
import { startPspSandbox, type PspSandbox } from '../../lib/local/psp-sandbox/index.ts';
import { runnerForLocalRuntime } from '../../lib/local/local-runner.ts';
import type { ExecutionResult, FunctionConfigurationUpdate, LocalRunner, RunnerOptions } from '../../lib/local/runner.ts';
import { dropTables, ensureTables } from '../../lib/local/tables.ts';

export interface TestRuntime {
  prefix: string;
  template: Record<string, unknown>;
  runner: LocalRunner;
  sandbox: PspSandbox;
  sesUrl: string;
  /** The SES server: when sends were accepted, and an emulated account quota. */
  ses: LocalSesServer;
  env: Record<string, string>;
  dynamodb: DynamoDBClient;
  /**
   * Runs a workflow through the synthesized state machine, then (as the local runtime does)
   * SendEmails when the workflow can owe emails; `{ emails: false }` leaves the outbox as it is.
   */
  start(workflow: string, input: unknown, name?: string, opts?: { emails?: boolean }): Promise<RunResult>;
  /** The SendEmails run that followed the last `start`, if any. */
  lastEmails(): ExecutionResult | undefined;
  /**
   * Changes the configuration of the stages whose handler entry is given (default: all), as
   * UpdateFunctionConfiguration would: their next invocations start in fresh containers.
   */
  configure(update: FunctionConfigurationUpdate, ...entries: string[]): Promise<void>;
  emails(): Promise<{ to: string; subject: string; text: string; html?: string }[]>;
  stop(): Promise<void>;
}

let counter = 0;

/**
 * The local runtime for one test file: its own tables (unique prefix) in the shared DynamoDB
 * Local, its own SES server and PSP sandbox in-process, and the runner over the synthesized stack
 * (the bundles of its cloud assembly, each function in its own containers).
 */
export async function startTestRuntime(options: Pick<RunnerOptions, 'preload' | 'onLog' | 'maxContainers'> & { metrics?: boolean } = {}): Promise<TestRuntime> {
  const { metrics, ...runnerOptions } = options;
  const dynamodbUrl = inject('dynamodbUrl');
  const templatePath = inject('templatePath');
  const template = JSON.parse(readFileSync(templatePath, 'utf8')) as Record<string, unknown>;
  const prefix = `t${randomBytes(3).toString('hex')}${counter++}-`;
  const sandbox = await startPspSandbox({ port: 0 });
  const ses = await startSesServer();
  process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN';
  // Metrics (EMF lines on stdout) only where a test looks at them.
  // A fast SES quota for tests; the ones about the rate give SendEmails a `sendRate` of their own.
  const env = {
    ...localEnvironment({ dynamodb: dynamodbUrl, ses: ses.url, psp: sandbox.url }, prefix),
    SES_MAX_SEND_RATE: '500',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL,
    POWERTOOLS_METRICS_DISABLED: metrics ? 'false' : 'true',
  };
  applyEnvironment(env);
  const dynamodb = new DynamoDBClient({ endpoint: dynamodbUrl });
  await ensureTables(dynamodb, template, prefix);
  // Four containers per function at most: concurrency enough for every race the tests stage, and a
  // quarter of the cold starts of 16 (the suite runs on 2 cores). The bench, the chaos suite and the CLI run 16.
  const runner = runnerForLocalRuntime({ synth: { template, path: templatePath }, tablePrefix: prefix, env, maxContainers: 4, ...runnerOptions });
  let n = 0;
  let lastEmails: ExecutionResult | undefined;
  return {
    prefix,
    template,
    runner,
    sandbox,
    sesUrl: ses.url,
    ses,
    env,
    dynamodb,
    async start(workflow, input, name, opts = {}) {
      const options = { name: name ?? `${workflow}-${prefix}${n++}` };
      if (opts.emails === false) return startRun(runner, workflow, input, options);
      const followed = await startWithEmails(runner, workflow, input, options);
      lastEmails = followed.emails;
      return followed.result;
    },
    lastEmails: () => lastEmails,
    async configure(update, ...entries) {
      for (const entry of entries) if (!runner.functions().some((fn) => fn.entry === entry)) throw new Error(`no stage ${entry} in the stack`);
      await runner.configure(update, (fn) => entries.length === 0 || entries.includes(fn.entry));
    },
    async emails() {
      const res = await fetch(`${ses.url}/store`);
      const body = (await res.json()) as { emails: { destination: { to: string[] }; subject: string; body: { text?: string; html?: string } }[] };
      return body.emails.map((e) => ({ to: e.destination.to.join(', '), subject: e.subject, text: e.body.text ?? '', html: e.body.html }));
    },
    async stop() {
      await runner.close();
      await dropTables(dynamodb, prefix).catch(() => {});
      dynamodb.destroy();
      await sandbox.stop();
      await new Promise((r) => ses.server.close(r));
    },
  };
}
