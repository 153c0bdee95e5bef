import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { documentClient } from '../../lib/adapters/dynamodb/client.ts';
import { TABLE_ENV } from '../../lib/adapters/dynamodb/table-names.ts';
import { startAwsEndpoints, type AwsEndpoints } from '../support/aws-endpoints.ts';
import { cancellationDataset } from '../support/cancellation-data.ts';
import { cli } from '../support/cli.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

/**
 * Every command's AWS path (`--target aws`), through the real SDK clients against the local
 * endpoints: CloudFormation DescribeStacks and Step Functions served by the local endpoint,
 * DynamoDB Local. Nothing here knows the local table names: the stack's outputs name them.
 */
let rt: TestRuntime;
let aws: AwsEndpoints;
let dir: string;
const AWS = ['--target', 'aws'];
type Report = { runId: string; status: string; outcomes: Record<string, { count: number; totals: Record<string, number> }>; errors: { code: string; message: string }[]; [k: string]: unknown };

const today = new Date().toISOString().slice(0, 10);
const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
const yesterdayNoon = `${new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)}T10:00:00Z`;

const voucher = (code: string, issuedAt: string, amount: number) => JSON.stringify({ type: 'voucher', code, kind: 'value', issuedAt, validUntil: '2030-01-01', remaining: { amount, currency: 'CHF' } });

beforeAll(async () => {
  rt = await startTestRuntime();
  aws = await startAwsEndpoints(rt);
  // The CLI must find the tables through the stack's outputs, as on AWS.
  for (const variable of Object.values(TABLE_ENV)) vi.stubEnv(variable, undefined);
  dir = mkdtempSync(path.join(tmpdir(), 'mass-refund-aws-'));
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await aws?.endpoint.idle();
  await aws?.stop();
  await rt?.stop();
});

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('import --target aws', () => {
  it('loads a file into the stack\'s tables; a bad file writes nothing (exit 2)', async () => {
    // prepare
    const good = file('good.jsonl', [cancellationDataset('aw-'), voucher('AW-V1', '2022-05-01', 5000), voucher('AW-V2', '2025-05-01', 7000)].join('\n'));
    const bad = file('bad.jsonl', [voucher('AW-V3', '2022-05-01', 5000), '{"type":"voucher","code":"AW-V4","kind":"value","issuedAt":"2022-01-01","remaining":{"amount":1.5,"currency":"CHF"}}'].join('\n'));
    // act
    const imported = await cli(['import', good, ...AWS]);
    const again = await cli(['import', good, ...AWS]);
    const refused = await cli(['import', bad, ...AWS]);
    // assess
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json()).toMatchObject({ imported: true, written: { order: 6, voucher: 2 } });
    expect(again.json()).toMatchObject({ imported: true, unchanged: 14 });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/line 2: remaining\.amount/);
    const stored = await documentClient().send(new GetCommand({ TableName: `${rt.prefix}vouchers`, Key: { pk: 'VOUCHER#AW-V3', sk: 'VOUCHER' } }));
    expect(stored.Item).toBeUndefined();
  });
});

describe('start and status --target aws', () => {
  it('starts the deployed state machine, follows it with progress on stderr and prints the run report', async () => {
    // act
    const run = await cli(['start', 'CancelPerformance', '--input', JSON.stringify({ performanceId: 'aw-P1', reason: 'storm', requestedBy: 'ops' }), '--name', 'aw-cancel', ...AWS]);
    // assess
    expect(run.code, run.stderr).toBe(0);
    const report = run.json<Report>();
    expect(report).toMatchObject({ runId: 'aw-cancel', workflow: 'CancelPerformance', status: 'succeeded' });
    expect(report.outcomes.tickets_cancelled?.count).toBe(8);
    // Piped: one progress line per tenth at most, with real counts of the performance's tickets.
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('CancelPerformance:'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(11);
    expect(lines.at(-1)).toMatch(/\b9\/9 tickets \(100 %\)/);
    // The execution is the state machine's of the stack's outputs.
    const d = await new SFNClient({}).send(new DescribeExecutionCommand({ executionArn: 'arn:aws:states:eu-central-1:000000000000:execution:MassRefund-CancelPerformance:aw-cancel' }));
    expect(d.status).toBe('SUCCEEDED');
  });

  it('--no-wait prints the run id; status says where the run stands, --wait follows it to its end', async () => {
    // act
    const started = await cli(['start', 'WriteOff', '--input', JSON.stringify({ issuedUpTo: '2023-12-31', requestedBy: 'fin' }), '--no-wait', ...AWS]);
    const { runId, executionArn } = started.json<{ runId: string; executionArn: string }>();
    const now = await cli(['status', runId, ...AWS]);
    const waited = await cli(['status', runId, '--wait', ...AWS]);
    const byArn = await cli(['status', executionArn, ...AWS]);
    const unknown = await cli(['status', 'no-such-run', ...AWS]);
    // assess
    expect(started.code).toBe(0);
    expect(started.json()).toMatchObject({ workflow: 'WriteOff', status: 'running' });
    expect(runId).toMatch(/^write-off-\d{8}T\d{6}-[0-9a-f]{4}$/);
    expect(now.code).toBe(0);
    expect(['running', 'succeeded']).toContain(now.json().status);
    expect(waited.json()).toMatchObject({ runId, workflow: 'WriteOff', status: 'succeeded', executionStatus: 'SUCCEEDED', report: { runId, outcomes: { would_write_off: { count: 1, totals: { CHF: 5000 } } } } });
    expect(byArn.json()).toMatchObject({ runId, status: 'succeeded' });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no run "no-such-run"');
  });

  it('a rejected input exits 2 with the readable reason; an unknown workflow exits 2 naming the nearest', async () => {
    const rejected = await cli(['start', 'CancelPerformance', '--input', '{"performanceId":"aw-P1","requestedBy":"ops"}', ...AWS]);
    const typo = await cli(['start', 'CancelPerformence', '--input', '{}', ...AWS]);
    expect(rejected.code).toBe(2);
    expect(rejected.json()).toMatchObject({ status: 'FAILED', workflow: 'CancelPerformance', error: 'ValidationError', message: 'reason: is required' });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean CancelPerformance?');
  });

  it('names the stack: an unknown --stack is bad input', async () => {
    const other = await cli(['report', 'aw-cancel', '--stack', 'Elsewhere', ...AWS]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('no stack Elsewhere');
  });
});

describe('report, export, lookup and stats --target aws', () => {
  it('report prints the run log with money as people write it', async () => {
    const text = await cli(['report', 'aw-cancel', ...AWS]);
    const json = await cli(['report', 'aw-cancel', '--json', ...AWS]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('CancelPerformance run aw-cancel: succeeded');
    expect(text.stdout).toMatch(/tickets_cancelled\s+8\s+CHF 650\.00/);
    expect(text.stdout).toContain('aw-O1 aw-O1-C1: cancelled aw-T1 CHF 100.00, aw-T2 CHF 80.00; refund CHF 180.00');
    expect(text.stdout.split('\n').filter((l) => /minor units|\b\d+ CHF\b/.test(l))).toEqual([]);
    expect(json.json<{ log: string[] }>().log.length).toBeGreaterThan(0);
  });

  it('exports refunds as CSV with decimal columns and a BOM, and the emails the refunds record as sent', async () => {
    // prepare: a simulation and its psp pass, approved through the CLI
    const sim = await cli(['start', 'DispatchRefunds', '--input', JSON.stringify({ mode: 'simulate', from: today, to: tomorrow, requestedBy: 'ops' }), ...AWS]);
    const simulationRunId = sim.json<Report>().runId;
    const refused = await cli(['approve', simulationRunId, ...AWS]);
    const approved = await cli(['approve', simulationRunId, '--yes', '--requested-by', 'lead', ...AWS]);
    // act
    const csv = await cli(['export', 'refunds', '--format', 'csv', '--bom', '--run', approved.json<Report>().runId, ...AWS]);
    const emails = await cli(['export', 'emails', ...AWS]);
    const ledger = await cli(['export', 'psp-ledger', ...AWS]);
    // assess
    expect(sim.code, sim.stderr).toBe(0);
    // Not on a terminal and no --yes: the totals, nothing started.
    expect(refused.code).toBe(2);
    const summary = refused.json<{ approved: boolean; pass: string; psp: { count: number; totals: Record<string, number> }; lines: { pass: string; method: string; currency: string; count: number; total: number }[] }>();
    expect(summary).toMatchObject({ approved: false, pass: 'psp' });
    expect(summary.lines).toContainEqual({ pass: 'psp', method: 'card', currency: 'CHF', count: 3, total: 33000 });
    expect(summary.psp).toEqual({ count: 3, totals: { CHF: 33000 } });
    expect(refused.stderr).toMatch(/psp\s+card\s+3\s+CHF 330\.00/);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.json<Report>()).toMatchObject({ status: 'succeeded', requestedBy: 'lead', simulationRunId, outcomes: { refunded: { count: 3, totals: { CHF: 33000 } } } });
    expect(csv.stdout.startsWith('\uFEFFid,orderId,paymentId,method,amount,status,reason,createdAt,pspCode,amountDecimal,amountCurrency,')).toBe(true);
    const rows = csv.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(3);
    expect(rows.some((r) => r.startsWith('aw-O1-C1-PAY1,aw-O1,PAY1,card,"{""amount"":18000,""currency"":""CHF""}",refunded,cancellation,') && r.includes(',180.00,CHF,'))).toBe(true);
    const sent = emails.stdout.trim().split('\n').map((l) => JSON.parse(l) as { to: string; sentAt: string; kind: string; refundIds: string[] });
    expect(sent.map((e) => [e.to, e.kind]).sort()).toEqual([
      ['c1@example.org', 'refunded_to_card'],
      ['c2@example.org', 'refunded_to_card'],
      ['c2@example.org', 'refunded_to_card'],
      // The agency's open item shrank at the cancellation; its email went with this run's email stage.
      ['office@ag1.example.com', 'returned_to_account'],
    ]);
    expect(ledger.code).toBe(2);
  });

  it('on a terminal, approve asks first: no starts nothing, yes starts the chosen pass', async () => {
    // prepare
    const sim = await cli(['start', 'DispatchRefunds', '--input', JSON.stringify({ mode: 'simulate', from: today, to: tomorrow, requestedBy: 'ops' }), ...AWS]);
    const simulationRunId = sim.json<Report>().runId;
    // act
    const declined = await cli(['approve', simulationRunId, '--pass', 'credit', ...AWS], { tty: true, stdin: 'n\n' });
    const accepted = await cli(['approve', simulationRunId, '--pass', 'credit', '--json', ...AWS], { tty: true, stdin: 'y\n' });
    // assess
    expect(declined.code).toBe(2);
    expect(declined.stderr).toContain(`Start DispatchRefunds credit bound to simulation ${simulationRunId}? [y/N]`);
    expect(declined.stderr).toContain('not started.');
    expect(declined.stdout).toBe('');
    expect(accepted.code, accepted.stderr).toBe(0);
    const report = accepted.json<Report>();
    expect(report).toMatchObject({ status: 'succeeded', simulationRunId, input: { mode: 'credit' } });
    expect(report.outcomes.credited?.count).toBeGreaterThan(0);
  });

  it('lookup and stats read the written-off codes', async () => {
    // prepare
    const run = await cli(['start', 'WriteOff', '--input', JSON.stringify({ issuedUpTo: '2023-12-31', simulate: false, comment: 'expired 2023 campaign', requestedBy: 'fin' }), ...AWS]);
    // act
    const lookup = await cli(['lookup', 'AW-V1', ...AWS]);
    const stats = await cli(['stats', 'write-offs', ...AWS]);
    const missing = await cli(['lookup', 'AW-NOPE', ...AWS]);
    // assess
    expect(run.code, run.stderr).toBe(0);
    expect(lookup.json()).toMatchObject({ code: 'AW-V1', redeemable: false, writtenOff: { comment: 'expired 2023 campaign', runId: run.json<Report>().runId } });
    expect(stats.json()).toMatchObject({ count: 1, totals: { CHF: 5000 } });
    expect(missing.code).toBe(2);
  });
});

describe('a nightly run over the auto-approval limit', () => {
  it('stops as awaiting_approval and says the exact command; approve starts the pass it waits for', async () => {
    // prepare: a resale paid out yesterday is a pending refund of yesterday; any CHF amount needs a person
    const resale = JSON.stringify({ type: 'resale', id: 'awn-RS1', ticketId: 'awn-T1', sellerOrderId: 'awn-O1', payout: { amount: 9000, currency: 'CHF' }, resoldAt: yesterdayNoon });
    expect((await cli(['import', file('nightly.jsonl', [cancellationDataset('awn-'), resale].join('\n')), ...AWS])).code).toBe(0);
    await rt.configure({ environment: { MASS_REFUND_AUTO_APPROVAL_LIMITS: '{"CHF": 1, "EUR": 1}' } });
    try {
      // act
      const nightly = await cli(['start', 'DispatchRefunds', '--schedule', 'nightly', '--input', '{"mode":"psp"}', ...AWS]);
      const report = nightly.json<Report>();
      const simulationRunId = report.simulationRunId as string;
      const simulation = await cli(['status', simulationRunId, ...AWS]);
      const approved = await cli(['approve', simulationRunId, '--yes', ...AWS]);
      // assess
      expect(nightly.code, nightly.stderr).toBe(0);
      expect(report.status).toBe('awaiting_approval');
      expect(nightly.stderr).toContain(`mass-refund approve ${simulationRunId} --pass psp --target aws`);
      expect(report.errors[0]?.message).toContain(`mass-refund approve ${simulationRunId} --pass psp`);
      expect(simulation.json()).toMatchObject({ runId: simulationRunId, status: 'succeeded' });
      expect(approved.code, approved.stderr).toBe(0);
      expect(approved.json<Report>()).toMatchObject({ status: 'succeeded', simulationRunId, input: { mode: 'psp', from: report.input && (report.input as { from: string }).from }, outcomes: { refunded: { count: 1, totals: { CHF: 9000 } } } });
    } finally {
      await rt.configure({ environment: { MASS_REFUND_AUTO_APPROVAL_LIMITS: undefined } });
    }
  });
});

describe('readable output on a terminal', () => {
  it('prints a summary with money as people write it and outcomes as a table', async () => {
    // act
    const run = await cli(['start', 'CancelPerformance', '--input', JSON.stringify({ performanceId: 'awn-P1', reason: 'storm', requestedBy: 'ops' }), ...AWS], { tty: true });
    // assess
    expect(run.code).toBe(0);
    expect(() => JSON.parse(run.stdout)).toThrow();
    expect(run.stdout).toMatch(/^CancelPerformance cancel-performance-\S+: succeeded$/m);
    expect(run.stdout).toMatch(/^outcome\s+count\s+CHF$/m);
    expect(run.stdout).toMatch(/^tickets_cancelled\s+7\s+CHF 550\.00$/m);
    // Progress redrawn in place on stderr.
    expect(run.stderr).toContain('\r\x1b[2K');
    const history = await new SFNClient({}).send(new GetExecutionHistoryCommand({ executionArn: `arn:aws:states:eu-central-1:000000000000:execution:MassRefund-CancelPerformance:${run.stdout.split(' ')[1]?.replace(/:$/, '')}`, maxResults: 1 }));
    expect(history.events?.[0]?.type).toBe('ExecutionStarted');
  });
});

describe('the JSON the CLI reads is what a file holds', () => {
  it('--input-file reads the console input', async () => {
    const input = file('reconcile.json', JSON.stringify({ requestedBy: 'ops' }));
    const run = await cli(['start', 'ReconcileRefunds', '--input-file', input, ...AWS]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ workflow: 'ReconcileRefunds', status: 'succeeded', input: JSON.parse(readFileSync(input, 'utf8')) });
  });
});
