import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/local/paths.ts';
import type { RuntimeState } from '../../lib/local/runtime.ts';
import { startStepFunctionsProcess, type StartedService } from '../../lib/local/services.ts';
import { cancellationDataset } from '../support/cancellation-data.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

/**
 * `--target local` as a person uses it: every call a separate `mass-refund` process, the Step
 * Functions endpoint its own process (as `local up` starts it), so a run started with --no-wait
 * goes on after the CLI has exited and `status` finds it from another process.
 */
let rt: TestRuntime;
let sfn: StartedService;
let home: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function massRefund(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(PROJECT_ROOT, 'bin/mass-refund.js'), ...args], { env: { ...process.env, MASS_REFUND_HOME: home }, cwd: home }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  rt = await startTestRuntime();
  home = mkdtempSync(path.join(tmpdir(), 'mass-refund-local-'));
  mkdirSync(path.join(home, 'logs'), { recursive: true });
  const endpoints = { dynamodb: inject('dynamodbUrl'), ses: rt.sesUrl, psp: rt.sandbox.url };
  sfn = await startStepFunctionsProcess({ detached: false, logFile: path.join(home, 'logs', 'stepfunctions.log'), template: inject('templatePath'), tablePrefix: rt.prefix, endpoints });
  // The runtime's state file, as `local up` writes it: this test file's DynamoDB tables, SES server and sandbox, and the endpoint process.
  const state: RuntimeState = {
    startedAt: new Date().toISOString(),
    tablePrefix: rt.prefix,
    services: {
      dynamodb: { pid: process.pid, url: endpoints.dynamodb },
      ses: { pid: process.pid, url: endpoints.ses },
      psp: { pid: process.pid, url: endpoints.psp },
      stepfunctions: { pid: sfn.pid, url: sfn.url },
    },
  };
  writeFileSync(path.join(home, 'runtime.json'), JSON.stringify(state));
  writeFileSync(path.join(home, 'data.jsonl'), cancellationDataset('lt-'));
});
afterAll(async () => {
  sfn?.child.kill('SIGTERM');
  await rt?.stop();
});

describe('mass-refund --target local', () => {
  it('local status lists the Step Functions endpoint beside DynamoDB, SES and the PSP sandbox', async () => {
    const status = await massRefund('local', 'status');
    expect(status.code, status.stderr).toBe(0);
    const out = JSON.parse(status.stdout) as { up: boolean; services: { name: string; url: string; running: boolean }[]; env: Record<string, string> };
    expect(out.up).toBe(true);
    expect(out.services.map((s) => s.name)).toEqual(['dynamodb', 'ses', 'psp', 'stepfunctions']);
    expect(out.services.find((s) => s.name === 'stepfunctions')).toEqual(expect.objectContaining({ url: sfn.url, running: true }));
    expect(out.env).toMatchObject({ AWS_ENDPOINT_URL_SFN: sfn.url, AWS_ENDPOINT_URL_CLOUDFORMATION: sfn.url, AWS_ENDPOINT_URL_DYNAMODB: inject('dynamodbUrl') });
  });

  it('start --no-wait returns at once; the run goes on in the endpoint process and status (another process) follows it', async () => {
    // prepare
    expect((await massRefund('import', 'data.jsonl')).code).toBe(0);
    // act
    const started = await massRefund('start', 'CancelPerformance', '--input', JSON.stringify({ performanceId: 'lt-P1', reason: 'storm', requestedBy: 'ops' }), '--no-wait');
    const { runId } = JSON.parse(started.stdout) as { runId: string };
    const status = await massRefund('status', runId, '--wait');
    const report = await massRefund('report', runId);
    // assess
    expect(started.code, started.stderr).toBe(0);
    expect(started.stderr).toContain(`mass-refund status ${runId}`);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ runId, workflow: 'CancelPerformance', status: 'succeeded', report: { outcomes: { tickets_cancelled: { count: 8 } } } });
    expect(report.stdout).toContain(`CancelPerformance run ${runId}: succeeded`);
  });

  it('start ReconcileRefunds --help prints its usage and starts nothing, nor does a mistyped option (exit 2 naming the nearest)', async () => {
    // act
    const help = await massRefund('start', 'ReconcileRefunds', '--help');
    const typo = await massRefund('start', 'ReconcileRefunds', '--traget', 'aws');
    // assess
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: mass-refund start WORKFLOW');
    expect(help.stdout).toMatch(/runId\s+string\s+optional/);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown option --traget; did you mean --target?');
    const client = new SFNClient({ endpoint: sfn.url, region: 'eu-central-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const arn = `arn:aws:states:eu-central-1:000000000000:stateMachine:MassRefund-ReconcileRefunds`;
    expect((await client.send(new ListExecutionsCommand({ stateMachineArn: arn }))).executions).toEqual([]);
    client.destroy();
  });
});
