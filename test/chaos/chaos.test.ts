import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { chaosPreload, runChaos, type ChaosSummary } from './chaos.ts';

const SEED = Number(process.env.MASS_REFUND_CHAOS_SEED ?? 20260713);
const REFUNDS = Number(process.env.MASS_REFUND_CHAOS_REFUNDS ?? 300);

let rt: TestRuntime;
let summary: ChaosSummary;
beforeAll(async () => {
  // As many containers as a deployed pass uses: the races are the point.
  rt = await startTestRuntime({ preload: [chaosPreload(SEED)], maxContainers: 16 });
  summary = await runChaos({ refunds: REFUNDS, seed: SEED, runner: rt.runner, sandbox: rt.sandbox, log: () => undefined });
  console.info(`chaos (seed ${SEED}, replay: MASS_REFUND_CHAOS_SEED=${SEED}): ${JSON.stringify(summary)}`);
}, 900_000);
afterAll(async () => {
  await rt?.stop();
});

describe(`chaos: ${REFUNDS} refunds under PSP faults (a gateway's too), crashes, DynamoDB throttling, killed and racing runs`, () => {
  it('injected the faults, a gateway\'s included', () => {
    expect(summary.refunds).toBe(REFUNDS);
    expect(Object.values(summary.faultsInjected).reduce((a, b) => a + b, 0)).toBeGreaterThan(20);
    expect(summary.faultsInjected.unauthorized).toBeGreaterThan(0);
    expect(summary.faultsInjected.booked_then_5xx).toBeGreaterThan(0);
    expect(summary.faultsInjected.over_refunds_refused).toBeGreaterThan(0);
    expect(summary.backOfficeCredits).toBeGreaterThan(0);
  });

  it('refunds nothing twice, loses nothing, never pays and credits one refund, agrees with the PSP ledger, and returns every payment\'s money once', () => {
    expect(summary.examples).toEqual([]);
    expect({
      doubleRefunds: summary.doubleRefunds,
      lostRefunds: summary.lostRefunds,
      paidAndCredited: summary.paidAndCredited,
      ledgerMismatches: summary.ledgerMismatches,
      moneyMismatches: summary.moneyMismatches,
    }).toEqual({ doubleRefunds: 0, lostRefunds: 0, paidAndCredited: 0, ledgerMismatches: 0, moneyMismatches: 0 });
  });
});
