import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PSP_SECRET_KEY } from '../../lib/local/env.ts';
import { SANDBOX_MERCHANT_ID, SANDBOX_PASSWORD } from '../../lib/local/psp-sandbox/credentials.ts';
import { allRefunds, pendingRefunds, type Report } from '../support/dispatch-fixtures.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

/**
 * The dispatch reads the Datatrans credentials from Secrets Manager through Powertools Parameters
 * with a max age: a rotated secret reaches the warm container, no cold start needed. Locally the
 * runner serves the stack's secret (a local Secrets Manager) to the deployed bundles.
 */
const PAGE = 'functions/dispatch-refunds/page.ts';
let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
  // One container for the PSP stage (so "no cold start" is visible), its secret cached for 1 s.
  await rt.configure({ environment: { PSP_SECRET_MAX_AGE_SECONDS: '1' }, maxContainers: 1 }, PAGE);
}, 180_000);
afterAll(async () => rt?.stop());

const secret = (password: string) => JSON.stringify({ merchantId: SANDBOX_MERCHANT_ID, password });
let day = 0;
async function pspPass(scenario: string) {
  day += 1;
  const from = `2026-02-${String(day).padStart(2, '0')}`;
  const to = `2026-02-${String(day + 1).padStart(2, '0')}`;
  const refunds = await pendingRefunds(scenario, `${from}T09:00:00Z`, [{ method: 'card' }, { method: 'card' }]);
  const sim = await rt.start('DispatchRefunds', { mode: 'simulate', from, to, requestedBy: 'ops' });
  expect(sim.status, sim.cause).toBe('SUCCEEDED');
  const result = await rt.start('DispatchRefunds', { mode: 'psp', from, to, simulationRunId: (sim.output as Report).runId, requestedBy: 'ops' });
  return { result, refunds };
}
const pageColdStarts = () => Object.entries(rt.runner.coldStarts()).filter(([id]) => rt.runner.functions().some((fn) => fn.logicalId === id && fn.entry === PAGE)).flatMap(([, starts]) => starts).length;

describe('PSP credentials rotated in Secrets Manager', () => {
  it('are picked up by the warm container: a wrong password stops the next pass, the corrected one works again, no cold start in between', async () => {
    // prepare: a pass with the right credentials warms the PSP stage's container
    const before = await pspPass('rot-a');
    expect(before.result.status, before.result.cause).toBe('SUCCEEDED');
    const startsBefore = pageColdStarts();
    // act 1: the secret is rotated to a password Datatrans refuses, and the cache has expired
    await rt.runner.putSecret(PSP_SECRET_KEY, secret('rotated-wrong'));
    await new Promise((r) => setTimeout(r, 1_200));
    const refused = await pspPass('rot-b');
    // act 2: the operator puts the right password back and starts again at once (a 401 forces a fresh read)
    await rt.runner.putSecret(PSP_SECRET_KEY, secret(SANDBOX_PASSWORD));
    const again = await pspPass('rot-c');
    // assess
    expect(refused.result).toMatchObject({ status: 'FAILED', error: 'PspConfigurationError' });
    expect(again.result.status, again.result.cause).toBe('SUCCEEDED');
    const stored = await allRefunds();
    expect(again.refunds.map((r) => stored.get(r.id)?.status)).toEqual(['refunded', 'refunded']);
    expect(refused.refunds.map((r) => stored.get(r.id)?.status)).toEqual(['pending', 'pending']);
    expect(startsBefore).toBe(1);
    expect(pageColdStarts()).toBe(1);
  });
});
