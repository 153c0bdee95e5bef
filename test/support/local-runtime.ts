import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { inject } from 'vitest';
import { applyEnvironment, localEnvironment } from '../../lib/local/env.ts';
import { PROJECT_ROOT } from '../../lib/local/paths.ts';
import { startPspSandbox, type PspSandbox } from '../../lib/local/psp-sandbox/index.ts';
import { LocalRunner, type ExecutionResult } from '../../lib/local/runner.ts';
import { dropTables, ensureTables, tableNamesByLogicalId } from '../../lib/local/tables.ts';

export interface TestRuntime {
  prefix: string;
  template: Record<string, unknown>;
  runner: LocalRunner;
  sandbox: PspSandbox;
  sesUrl: string;
  env: Record<string, string>;
  dynamodb: DynamoDBClient;
  /** Runs a workflow through the synthesized state machine. */
  start(workflow: string, input: unknown, name?: string): Promise<ExecutionResult>;
  emails(): Promise<{ to: string; subject: string; text: string; html?: string }[]>;
  stop(): Promise<void>;
}

async function startSes(): Promise<{ url: string; server: Server }> {
  const mod = (await import('aws-ses-v2-local')) as unknown as { default: (c: { port: number; host: string }) => Promise<Server> };
  const server = await mod.default({ port: 0, host: '127.0.0.1' });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, server };
}

let counter = 0;

/**
 * The local runtime for one test file: its own tables (unique prefix) in the shared DynamoDB
 * Local, its own SES server and PSP sandbox in-process, and the runner over the synthesized stack.
 */
export async function startTestRuntime(): Promise<TestRuntime> {
  const dynamodbUrl = inject('dynamodbUrl');
  const template = JSON.parse(readFileSync(inject('templatePath'), 'utf8')) as Record<string, unknown>;
  const prefix = `t${randomBytes(3).toString('hex')}${counter++}-`;
  const sandbox = await startPspSandbox({ port: 0 });
  const ses = await startSes();
  const env = localEnvironment({ dynamodb: dynamodbUrl, ses: ses.url, psp: sandbox.url }, prefix);
  applyEnvironment(env);
  process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN';
  const dynamodb = new DynamoDBClient({ endpoint: dynamodbUrl });
  await ensureTables(dynamodb, template, prefix);
  const runner = new LocalRunner({ template, tableNames: tableNamesByLogicalId(template, prefix), env, projectRoot: PROJECT_ROOT });
  let n = 0;
  return {
    prefix,
    template,
    runner,
    sandbox,
    sesUrl: ses.url,
    env,
    dynamodb,
    start: (workflow, input, name) => runner.start(workflow, input, { name: name ?? `${workflow}-${prefix}${n++}` }),
    async emails() {
      const res = await fetch(`${ses.url}/store`);
      const body = (await res.json()) as { emails: { destination: { to: string[] }; subject: string; body: { text?: string; html?: string } }[] };
      return body.emails.map((e) => ({ to: e.destination.to.join(', '), subject: e.subject, text: e.body.text ?? '', html: e.body.html }));
    },
    async stop() {
      await dropTables(dynamodb, prefix).catch(() => {});
      dynamodb.destroy();
      await sandbox.stop();
      await new Promise((r) => ses.server.close(r));
    },
  };
}
