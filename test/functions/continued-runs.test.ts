import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { continuationName, continuedIn } from '../../lib/core/continuation.ts';
import type { RunReport } from '../../lib/core/report.ts';
import { followRun, startRun } from '../../lib/local/continued-runs.ts';
import { runnerForLocalRuntime } from '../../lib/local/local-runner.ts';
import { cancellationDataset, importDataset, stateOf } from '../support/cancellation-data.ts';
import { comparable, expectSplitWithin, historyBound, withSmallBudgets } from '../support/continued-runs.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

const SHARDS = 16;

describe('a run split over executions (continue-as-new) ends as the same run in one execution', () => {
  it('CancelPerformance: one run id, one report, the same bookings; every execution within its history bound', async () => {
    // prepare: two identical copies of a performance with 70 orders, one page an order
    await importDataset(cancellationDataset('cs-', 64));
    await importDataset(cancellationDataset('cu-', 64));
    const input = (p: string) => ({ performanceId: `${p}P1`, reason: 'storm', requestedBy: 'op', pageSize: 1 });
    // act
    const unsplit = await withSmallBudgets(rt, { pagesPerCall: 1 }, () => rt.start('CancelPerformance', input('cu-'), 'cr-cancel-one'));
    const split = await withSmallBudgets(rt, { pagesPerCall: 1, callsPerShard: 2 }, () => rt.start('CancelPerformance', input('cs-'), 'cr-cancel-split'));
    // assess
    expect(unsplit.status).toBe('SUCCEEDED');
    expect(unsplit.parts).toHaveLength(1);
    expectSplitWithin(split, historyBound({ shards: SHARDS, callsPerShard: 2, stages: 60 }));
    expect(split.parts.map((p) => p.name)).toEqual(['cr-cancel-split', ...split.parts.slice(1).map((_, i) => continuationName('cr-cancel-split', i + 2))]);
    for (const part of split.parts.slice(0, -1)) expect(continuedIn(part.output)).toBeDefined();
    const report = split.output as RunReport;
    expect(report.runId).toBe('cr-cancel-split');
    expect(comparable(report)).toEqual(comparable(unsplit.output));
    expect(report.outcomes.tickets_cancelled?.count).toBe(8 + 64);
    expect(await stateOf('cs-')).toEqual(await stateOf('cu-'));
    const run = await new RunRepository().get('cr-cancel-split');
    expect(run?.status).toBe('succeeded');
    expect(run?.report?.outcomes).toEqual(report.outcomes);
  });

  it('the same work fails in one execution under a history limit, as AWS fails it, and succeeds split', async () => {
    // prepare: a runner that holds executions to 600 events (AWS: 25,000)
    await importDataset(cancellationDataset('cl-', 64));
    await importDataset(cancellationDataset('cm-', 64));
    const strict = runnerForLocalRuntime({ synth: { template: rt.template, path: inject('templatePath') }, tablePrefix: rt.prefix, env: rt.env, maxContainers: 2, historyEventLimit: 600 });
    const input = (p: string) => ({ performanceId: `${p}P1`, reason: 'storm', requestedBy: 'op', pageSize: 1 });
    // act
    const one = await withSmallBudgets(strict, { pagesPerCall: 1 }, () => startRun(strict, 'CancelPerformance', input('cl-'), { name: 'cr-limit-one' }));
    const split = await withSmallBudgets(strict, { pagesPerCall: 1, callsPerShard: 2 }, () => startRun(strict, 'CancelPerformance', input('cm-'), { name: 'cr-limit-split' }));
    // assess
    expect(one).toMatchObject({ status: 'FAILED', error: 'States.Runtime', cause: 'The execution reached the maximum number of history events (600).' });
    expect(one.stats.historyEvents).toBe(600);
    await strict.idle();
    await strict.close();
    expect(split.status).toBe('SUCCEEDED');
    expect((split.output as RunReport).outcomes.tickets_cancelled?.count).toBe(8 + 64);
    for (const part of split.parts) expect(part.stats.historyEvents).toBeLessThan(600);
  });

  it('PartialRefund: one run, one report, the same exchanges', async () => {
    // prepare
    await importDataset(cancellationDataset('ps-', 40));
    await importDataset(cancellationDataset('pu-', 40));
    const input = (p: string) => ({ performanceId: `${p}P1`, percent: '12.5', salesChannel: 'back_office', pointOfSale: 'head_office', requestedBy: 'op', pageSize: 1 });
    // act
    const unsplit = await withSmallBudgets(rt, { pagesPerCall: 1 }, () => rt.start('PartialRefund', input('pu-'), 'cr-partial-one'));
    const split = await withSmallBudgets(rt, { pagesPerCall: 1, callsPerShard: 1 }, () => rt.start('PartialRefund', input('ps-'), 'cr-partial-split'));
    // assess
    expect(unsplit.parts).toHaveLength(1);
    expectSplitWithin(split, historyBound({ shards: SHARDS, callsPerShard: 1, stages: 60 }));
    expect(comparable(split.output)).toEqual(comparable(unsplit.output));
    expect(await stateOf('ps-')).toEqual(await stateOf('pu-'));
  });

  it('the run-ends rule: a part that continued leaves the run running; a later part that is stopped ends it, and a re-run finishes the job', async () => {
    // prepare
    await importDataset(cancellationDataset('ce-', 40));
    await importDataset(cancellationDataset('cf-', 40));
    const input = (p: string) => ({ performanceId: `${p}P1`, reason: 'storm', requestedBy: 'op', pageSize: 1 });
    const reference = await withSmallBudgets(rt, { pagesPerCall: 1 }, () => rt.start('CancelPerformance', input('cf-'), 'cr-ends-reference'));
    const stop = new AbortController();
    let calls = 0;
    // act: one call a shard an execution; stop the run during its second part (StopExecution)
    const run = await withSmallBudgets(rt, { pagesPerCall: 1, callsPerShard: 1 }, async () => {
      const first = await rt.runner.start('CancelPerformance', input('ce-'), {
        name: 'cr-ends-2',
        signal: stop.signal,
        onEvent: (e) => {
          if (e.type === 'StateEntered' && (e['state'] as { name?: string }).name === 'CancelPage' && ++calls === SHARDS + 2) stop.abort();
        },
      });
      return followRun(rt.runner, first);
    });
    await rt.runner.idle();
    const record = await new RunRepository().get('cr-ends-2');
    const rerun = await rt.start('CancelPerformance', input('ce-'), 'cr-ends-rerun');
    // assess
    expect(run.parts[0]).toMatchObject({ status: 'SUCCEEDED', output: { runId: 'cr-ends-2', status: 'running', continuedIn: { part: 2 } } });
    expect(run.parts[0]?.eventDeliveries).toBeUndefined(); // SUCCEEDED: not the rule's
    expect(run.status).toBe('ABORTED');
    expect(run.name).toBe(continuationName('cr-ends-2', 2));
    expect(run.eventDeliveries).toEqual([expect.objectContaining({ delivered: true })]);
    expect(record?.status).toBe('failed');
    expect(record?.report?.errors.at(-1)).toMatchObject({ code: 'ExecutionAborted' });
    expect(rerun.status).toBe('SUCCEEDED');
    expect(await stateOf('ce-')).toEqual(await stateOf('cf-'));
    expect(reference.status).toBe('SUCCEEDED');
  });
});
