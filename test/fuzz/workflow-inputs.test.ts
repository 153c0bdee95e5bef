import { PutCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../lib/adapters/dynamodb/client.ts';
import { refundItem } from '../../lib/adapters/dynamodb/refunds.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { importText } from '../../lib/cli/import.ts';
import { sampleText } from '../../lib/local/sample-data.ts';
import { lambdaErrorMessage } from '../../lib/core/errors.ts';
import { listStateMachines, type CfnTemplate } from '../../lib/local/template.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { dumpDiff, dumpTables } from './store-dump.ts';
import { edgeCases, malformedInput, WORKFLOW_INPUTS, type FuzzContext, type InputCase } from './workflow-inputs.ts';

const SEED = Number(process.env.MASS_REFUND_FUZZ_SEED ?? 20260713);
const RUNS_PER_WORKFLOW = Number(process.env.MASS_REFUND_FUZZ_RUNS ?? 25);
const ACCEPTED_ERRORS = ['ValidationError', 'NotFoundError', 'ConflictError'];

let rt: TestRuntime;
let ctx: FuzzContext;
let startAt: Record<string, string>;

beforeAll(async () => {
  rt = await startTestRuntime();
  const text = sampleText({ seed: 11, performances: 2, ticketsPerPerformance: 16, agencies: 1, vouchers: 8, resales: 1, exclusions: 1 });
  const imported = await importText(text, rt.sandbox.url);
  if (!imported.ok) throw new Error(`seed data refused: ${JSON.stringify(imported.issues)}`);
  const records = text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  const order = records.find((r) => r.type === 'order' && r.customerId && r.tickets.length > 1) ?? records.find((r) => r.type === 'order');
  ctx = {
    performanceId: records.find((r) => r.type === 'performance')!.id,
    orderId: order!.id,
    ticketIds: order!.tickets.map((t: { id: string }) => t.id),
    refundId: 'R-FUZZ-1',
    voucherCode: records.find((r) => r.type === 'voucher')!.code,
  };
  await documentClient().send(
    new PutCommand({
      TableName: tableName('refunds'),
      Item: refundItem({ id: ctx.refundId, orderId: ctx.orderId, paymentId: 'PAY1', method: 'card', amount: { amount: 1000, currency: 'CHF' }, status: 'pending', reason: 'cancellation', createdAt: '2026-01-10T08:00:00Z', ownerId: 'C1', ownerKind: 'customer' }),
    }),
  );
  // The first Task of a new run: a workflow that can continue its run starts with a Choice (continuation or new run).
  const firstTask = (definition: Record<string, unknown>) => {
    const states = definition['States'] as Record<string, { Type: string; Default?: string }>;
    const start = String(definition['StartAt']);
    return states[start]?.Type === 'Choice' ? String(states[start]?.Default) : start;
  };
  startAt = Object.fromEntries(listStateMachines(rt.template as unknown as CfnTemplate, {}).map((m) => [m.workflow, firstTask(m.definition)]));
  console.info(`workflow input fuzz: seed ${SEED}, ${RUNS_PER_WORKFLOW} runs per workflow (replay: MASS_REFUND_FUZZ_SEED=${SEED})`);
});
afterAll(async () => rt?.stop());

/** The error message names the field: `field: reason`, `field[3]: reason`, or an unknown key in the reason. */
function namesField(message: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|; |\\b)${escaped}(\\[\\d+\\]|\\.\\d+)?: `).test(message) || (message.includes('unknown field') && message.includes(name.trim()));
}

let executions = 0;
/** One malformed input: cheap checks per run; the whole-database comparison is per workflow (a dump costs more than a run). */
async function runCase(workflow: string, c: InputCase): Promise<void> {
  const ledgerBefore = rt.sandbox.ledger().length;
  const tasks: string[] = [];
  const name = `fuzz-${workflow}-${executions++}`;

  const result = await rt.runner.start(workflow, c.input, {
    name,
    onEvent: (e) => {
      const state = (e as { state?: { name: string; type: string } }).state;
      if (e.type === 'StateEntered' && state?.type === 'Task') tasks.push(state.name);
    },
  });

  const message = lambdaErrorMessage(result.cause);
  const what = `${workflow} ${c.how}: ${result.status} ${result.error} ${message.slice(0, 300)}`;
  expect(result.status, what).toBe('FAILED');
  expect(ACCEPTED_ERRORS, what).toContain(result.error);
  expect(tasks, what).toEqual([startAt[workflow]]);
  expect(namesField(message, c.names), `${what}\n(should name ${c.names})`).toBe(true);
  expect(message.length, `${what}\n(a clear error is short: Step Functions keeps 32 KiB of a cause)`).toBeLessThanOrEqual(32_768);
  expect(await new RunRepository().get(name), what).toBeUndefined();
  expect(rt.sandbox.ledger().length, what).toBe(ledgerBefore);
}

describe('malformed console input for every registered workflow', () => {
  it('every registered workflow has an input spec here', () => {
    const missing = rt.runner.workflows().filter((w) => !(w in WORKFLOW_INPUTS));
    expect(missing, 'add the workflow to test/fuzz/workflow-inputs.ts').toEqual([]);
  });

  it.each(Object.keys(WORKFLOW_INPUTS))('%s: fails at the first state with a typed error naming the field, and writes nothing', async (workflow) => {
    if (!rt.runner.workflows().includes(workflow)) return; // not registered (yet): nothing to run
    const spec = WORKFLOW_INPUTS[workflow]!;
    const before = await dumpTables(rt.dynamodb, rt.prefix);
    const emailsBefore = (await rt.emails()).length;

    for (const c of edgeCases(spec, ctx)) await runCase(workflow, c);
    await fc.assert(
      fc.asyncProperty(malformedInput(spec, ctx), (c) => runCase(workflow, c)),
      { seed: SEED, numRuns: RUNS_PER_WORKFLOW },
    );

    expect(dumpDiff(before, await dumpTables(rt.dynamodb, rt.prefix))).toEqual([]);
    expect((await rt.emails()).length).toBe(emailsBefore);
  });
});
