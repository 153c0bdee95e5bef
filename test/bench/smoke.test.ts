import { inject, describe, expect, it } from 'vitest';
import { measureBundles } from '../../bench/bundles.ts';
import { HISTORY_LIMIT, PAYLOAD_LIMIT_BYTES, projectRun, SEASON_TICKETS } from '../../bench/executions.ts';
import { formatResult } from '../../bench/report.ts';
import { isAvailable, runBench } from '../../bench/run.ts';
import { readFileSync } from 'node:fs';

/**
 * The bench's own code path at 2,000 tickets, so it cannot rot: same import, raw baseline,
 * workflows, metering and cost table as `npm run bench`, on the suite's DynamoDB Local.
 */
describe('bench smoke run', () => {
  it('imports, measures the raw baseline, cancels and dispatches 2,000 tickets with sane figures', async () => {
    // prepare
    // 4 containers per function, as the other integration tests (the suite runs on 2 cores).
    const options = { sizes: [2000], pspRate: 200, sesRate: 400, bundles: false, sweepOrders: 60, maxContainers: 4, dynamodbUrl: inject('dynamodbUrl'), templatePath: inject('templatePath') };
    // act
    const result = await runBench(options);
    // assess
    const size = result.sizes[0]!;
    expect(size.tickets).toBe(2000);
    expect(size.orders).toBeGreaterThan(1000);
    expect(Object.keys(size.paymentMethods).length).toBeGreaterThanOrEqual(9); // every payment method
    expect(size.import.itemsWritten).toBeGreaterThan(2000);
    expect(size.raw.sweep.map((c) => c.concurrency)).toEqual([2, 4, 8, 16]);
    expect(size.raw.full.orders).toBeGreaterThan(1000);
    expect(size.raw.full.itemsPerSecond).toBeGreaterThan(0);
    expect(size.import.usage.writeRequestUnits).toBeGreaterThan(0);

    expect(isAvailable(size.cancel)).toBe(true);
    if (isAvailable(size.cancel)) {
      expect(size.cancel.status, size.cancel.error).toBe('SUCCEEDED');
      expect(size.cancelRatio).toBeGreaterThan(0);
      expect(size.cancel.itemsWritten).toBeGreaterThan(size.orders);
      expect(size.cancel.usage.lambdaMbMs).toBeGreaterThan(0);
    }
    for (const mode of ['simulate', 'psp', 'credit'] as const) {
      const e = size.dispatch[mode];
      expect(isAvailable(e), mode).toBe(true);
      if (isAvailable(e)) expect(e.status, `${mode}: ${e.error}`).toBe('SUCCEEDED');
    }
    expect(size.psp?.ratio).toBeGreaterThan(0);
    expect(size.psp?.duplicateCredits).toBe(0);
    expect(size.psp?.passOverFloor).toBeGreaterThan(0);
    // The passes send nothing; SendEmails after each sends what it owes, never above its quota.
    expect(isAvailable(size.dispatch.psp) && size.dispatch.psp.usage.emails).toBe(0);
    expect(size.emails.map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(size.sender?.emailsSent).toBeGreaterThan(500);
    expect(size.sender?.throttledBySes).toBe(0);
    expect(size.sender!.sentPerSecond).toBeLessThanOrEqual(400 * 1.02);
    for (const e of [size.cancel, size.dispatch.simulate, size.dispatch.psp, size.dispatch.credit, ...size.emails].filter(isAvailable)) {
      expect(e.stats.largestPayloadBytes).toBeLessThan(PAYLOAD_LIMIT_BYTES);
      expect(e.stats.historyEvents).toBeLessThan(HISTORY_LIMIT);
      expect(e.flags).toEqual([]);
      // A season on paper: each execution stays well under AWS's 25,000 events.
      expect(projectRun(e, 2000, SEASON_TICKETS).historyPerExecution).toBeLessThan(10_000);
    }
    const perHundredK = size.costPer100k[0]!;
    expect(BigInt(perHundredK.picoUsd.orchestration)).toBeGreaterThan(0n);
    expect(BigInt(perHundredK.picoUsd.total)).toBeGreaterThanOrEqual(BigInt(perHundredK.picoUsd.orchestration));
    expect(formatResult(result)).toContain('Orchestration per 100,000 tickets');
    expect(formatResult(result)).toContain('At 1,000,000 tickets, on paper');
  }, 240_000);

  it("measures a Lambda bundle of the cloud assembly and times its cold import", async () => {
    // prepare
    const templatePath = inject('templatePath');
    const template = JSON.parse(readFileSync(templatePath, 'utf8')) as Record<string, unknown>;
    // act
    const [figure] = await measureBundles(template, { templatePath, initRuns: 1, only: (entry) => entry === 'functions/runs/record-failure.ts' });
    // assess
    expect(figure?.entry).toBe('functions/runs/record-failure.ts');
    expect(figure!.bytes).toBeGreaterThan(1000);
    expect(figure!.initMsMedian).toBeGreaterThan(0);
    expect(figure!.externals).toContain('@aws-sdk/client-dynamodb');
    expect(figure!.heaviest.length).toBeGreaterThan(0);
  }, 60_000);
});
