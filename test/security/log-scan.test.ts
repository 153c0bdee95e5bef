import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { scanAll } from '../../lib/adapters/dynamodb/items.ts';
import { tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { importText } from '../../lib/cli/import.ts';
import { isOutcome } from '../../lib/core/outcomes.ts';
import { LOCAL_SENDER } from '../../lib/local/env.ts';
import { SANDBOX_MERCHANT_ID, SANDBOX_PASSWORD } from '../../lib/local/psp-sandbox/credentials.ts';
import { PROJECT_ROOT } from '../../lib/local/paths.ts';
import { SAMPLE_FILE, SAMPLE_PERFORMANCE_IDS } from '../../lib/local/sample-data.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { captureLogs, emfMetrics, findLeaks, sensitiveOfImport, stageLines, type LogCapture } from './log-capture.ts';

/**
 * Runs every available workflow over the bundled sample (names, emails, card transactions) with
 * all log levels on, captures what the handlers log, and scans it.
 */
const SAMPLE = readFileSync(path.join(PROJECT_ROOT, SAMPLE_FILE), 'utf8');
/** Log facts that only make sense about one refund: a line carrying one must say which refund. */
const PER_REFUND_KEYS = ['transactionId', 'attempt', 'outcome', 'pspCode', 'creditTransactionId'];

let rt: TestRuntime;
let capture: LogCapture;
const runs: { workflow: string; name: string; status: string; expected: string; outcomes: string[] }[] = [];

/** Runs a workflow whose logs are scanned; the test then checks it ended as expected (a log scan of failed runs proves little). */
async function run(workflow: string, input: unknown, name: string, expected: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED'): Promise<void> {
  const result = await rt.start(workflow, input, name);
  const outcomes = Object.keys((result.output as { outcomes?: Record<string, unknown> } | undefined)?.outcomes ?? {});
  runs.push({ workflow, name, status: result.status, expected, outcomes });
}

beforeAll(async () => {
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'DEBUG');
  // Metrics on: their EMF lines are scanned like every other line.
  rt = await startTestRuntime({ metrics: true });
  capture = captureLogs();
  const imported = await importText(SAMPLE, rt.sandbox.url);
  if (!imported.ok) throw new Error('the bundled sample did not import');

  const [p1, p2, p3] = SAMPLE_PERFORMANCE_IDS as [string, string, string];
  const booking = { salesChannel: 'box_office', pointOfSale: 'Kasse 1' };
  await run('CancelPerformance', { performanceId: p1, reason: 'storm', requestedBy: 'ops' }, 'scan-cancel');
  await run('PartialRefund', { performanceId: p2, percent: 20, ...booking, requestedBy: 'ops' }, 'scan-partial');
  const order = SAMPLE.split('\n')
    .filter((l) => l.startsWith('{"type":"order"'))
    .map((l) => JSON.parse(l) as { id: string; tickets: { id: string; performanceId: string; state: string }[] })
    .find((o) => o.tickets.every((t) => t.performanceId === p3 && t.state === 'valid'));
  if (!order) throw new Error('the bundled sample has no order whose tickets are all valid at the third performance');
  await run('CancelTickets', { orderId: order.id, ticketIds: order.tickets.map((t) => t.id), reason: 'ill', requestedBy: 'clerk', ...booking }, 'scan-tickets');
  // Bad input too: rejected runs must not log personal data either.
  await run('CancelTickets', { orderId: order.id, ticketIds: ['nope'], reason: 'ill', requestedBy: 'clerk', ...booking }, 'scan-tickets-bad', 'FAILED');
  const pending: { id: string }[] = [];
  for await (const item of scanAll(tableName('refunds'), { filter: '#s = :p', names: { '#s': 'status' }, values: { ':p': 'pending' } })) pending.push(item as { id: string });
  if (!pending[0]) throw new Error('the cancellations left no pending refund to switch');
  await run('SwitchRefundToManual', { refundId: pending[0].id, method: 'bank_transfer', note: 'asked by phone', requestedBy: 'ops' }, 'scan-switch');
  await run('WriteOff', { issuedUpTo: '2025-06-30', simulate: true, requestedBy: 'ops' }, 'scan-writeoff-sim');
  await run('WriteOff', { issuedUpTo: '2025-06-30', simulate: false, comment: 'yearly write-off', requestedBy: 'ops' }, 'scan-writeoff');
  const writtenOff: { code: string }[] = [];
  for await (const item of scanAll(tableName('vouchers'), { filter: 'attribute_exists(writtenOff) AND writtenOff <> :n', values: { ':n': null } })) writtenOff.push(item as { code: string });
  if (!writtenOff[0]) throw new Error('the write-off wrote off no voucher to reverse');
  await run('ReverseWriteOff', { code: writtenOff[0].code, reason: 'shown at the counter', requestedBy: 'clerk' }, 'scan-reverse');
  for (const mode of ['simulate', 'psp', 'credit'] as const) {
    await run('DispatchRefunds', { mode, from: '2026-01-01', to: '2027-01-01', requestedBy: 'ops', ...(mode === 'simulate' ? {} : { simulationRunId: 'scan-dispatch-simulate' }) }, `scan-dispatch-${mode}`);
  }
  await run('ReconcileRefunds', { requestedBy: 'ops' }, 'scan-reconcile');
  capture.stop();
}, 600_000);
afterAll(async () => {
  capture?.stop();
  vi.unstubAllEnvs();
  await rt?.stop();
});

describe('log output of the workflows over the bundled sample', () => {
  it('ran the available workflows', () => {
    // Every workflow ran, each ended as it should: the logs scanned are those of real work.
    expect(new Set(runs.map((r) => r.workflow))).toEqual(new Set(rt.runner.workflows().filter((w) => w !== 'SendEmails')));
    expect(runs.filter((r) => r.status !== r.expected).map((r) => `${r.name}: ${r.status}`)).toEqual([]);
    // Every report counts outcomes of the one vocabulary (lib/core/outcomes.ts), and the runs that succeeded counted something.
    expect(runs.flatMap((r) => r.outcomes.filter((o) => !isOutcome(o)).map((o) => `${r.name}: ${o}`))).toEqual([]);
    expect(runs.filter((r) => r.expected === 'SUCCEEDED' && r.outcomes.length === 0).map((r) => r.name)).toEqual([]);
    console.info(`log scan: ${runs.map((r) => `${r.workflow}=${r.status}`).join(' ')}; ${capture.lines().length} log lines`);
    if (process.env.MASS_REFUND_SHOW_LOGS) console.info(capture.lines().join('\n'));
  });

  it('holds no email address, customer name, card number, PSP secret or Authorization header', () => {
    const { emails, names } = sensitiveOfImport(SAMPLE);
    const transactionIds = new Set<string>([...SAMPLE.matchAll(/"pspTransactionId":"(\d+)"/g)].map((m) => m[1] as string));
    for (const credit of rt.sandbox.ledger()) transactionIds.add(credit.creditTransactionId);
    const basic = Buffer.from(`${SANDBOX_MERCHANT_ID}:${SANDBOX_PASSWORD}`).toString('base64');

    const leaks = findLeaks(capture.lines(), { emails, names, secrets: [SANDBOX_PASSWORD, basic], transactionIds }, [LOCAL_SENDER]);

    expect(emails.length).toBeGreaterThan(10);
    expect(leaks).toEqual([]);
  });

  it('would see a leak: a planted email and card number through the stage logger are found', async () => {
    const { logger } = await import('../../functions/commons/powertools.ts');
    const planted = captureLogs();
    logger.warn('planted', { to: 'someone@example.org', pan: '4111111111111111' });
    planted.stop();
    const leaks = findLeaks(planted.lines(), { emails: [], names: [], secrets: [], transactionIds: new Set() });
    expect(leaks.some((l) => l.includes('someone@example.org'))).toBe(true);
    expect(leaks.some((l) => l.includes('card-number-like'))).toBe(true);
  });

  it('publishes the metrics as EMF on the functions\' stdout: refunds per pass and outcome, emails, write-offs', () => {
    const metrics = emfMetrics(capture.lines());
    expect(metrics.some((m) => m.name === 'Refunds' && m.dimensions.pass === 'psp' && m.dimensions.outcome === 'refunded')).toBe(true);
    expect(metrics.some((m) => m.name === 'Refunds' && m.dimensions.pass === 'credit')).toBe(true);
    expect(metrics.some((m) => m.name === 'EmailsSent' && (m.value as number) > 0)).toBe(true);
    expect(metrics.some((m) => m.name === 'WrittenOff' && (m.value as number) > 0)).toBe(true);
    for (const m of metrics) expect(m.dimensions.service, m.name).toBe('mass-refund');
  });

  it('puts a runId on every structured stage line, and a refundId on every line about one refund', () => {
    const lines = stageLines(capture.lines());
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => typeof l.runId !== 'string').map((l) => l.message)).toEqual([]);
    expect(lines.filter((l) => PER_REFUND_KEYS.some((k) => k in l) && typeof l.refundId !== 'string').map((l) => l.message)).toEqual([]);
  });
});
