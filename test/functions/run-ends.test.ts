import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inject } from 'vitest';
import { handler as runEnded } from '../../functions/runs/run-ended.ts';
import { partialRefundMark } from '../../lib/adapters/dynamodb/partial-refunds.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import type { RunReport } from '../../lib/core/report.ts';
import { executionStatusChangeEvent } from '../../lib/local/events.ts';
import { runnerForLocalRuntime } from '../../lib/local/local-runner.ts';
import type { LocalRunner } from '../../lib/local/runner.ts';
import { listFunctions, listStateMachines, type CfnTemplate } from '../../lib/local/template.ts';
import { WORKFLOWS_BY_STATE_MACHINE_ENV } from '../../lib/core/run-end.ts';
import { cancellationDataset, importDataset, stateOf } from '../support/cancellation-data.ts';
import { pendingRefunds } from '../support/dispatch-fixtures.ts';
import { DynamoDbGate, isPageLogWrite } from '../support/dynamodb-gate.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { withSmallBudgets } from '../support/continued-runs.ts';

/**
 * Every run ends: an execution that times out, is stopped, or cannot record its own failure
 * leaves its run failed (EventBridge rule -> RunEndedFn, delivered locally by the runner from
 * the synthesized template), and a PartialRefund re-run then finishes the job exactly once.
 */

/** Crash points in the stages' environment (null: none), one container per stage so passes count over the run. */
const chaos = (points: Record<string, number> | null) =>
  rt.configure(points ? { environment: { MASS_REFUND_CHAOS: JSON.stringify(points) }, maxContainers: 1 } : { environment: { MASS_REFUND_CHAOS: undefined }, maxContainers: 4 });

let rt: TestRuntime;
let gate: DynamoDbGate;
beforeAll(async () => {
  rt = await startTestRuntime();
  gate = await DynamoDbGate.start(inject('dynamodbUrl'));
  // The reference: the same performance partially refunded in one undisturbed run.
  await importDataset(cancellationDataset('rz-', 12));
  const reference = await rt.start('PartialRefund', input('rz-'), 'pr-reference');
  expect(reference.status).toBe('SUCCEEDED');
});
const gatedRunners: LocalRunner[] = [];
afterAll(async () => {
  for (const runner of gatedRunners) await runner.close();
  await gate?.stop();
  await rt?.stop();
});

const booking = { salesChannel: 'back_office', pointOfSale: 'head_office', requestedBy: 'op-7' };
/** One order per page: a run held after its first page has most of the job still to do. */
const input = (p: string) => ({ performanceId: `${p}P1`, percent: '12.5', ...booking, pageSize: 1 });

/** The synthesized template with one workflow's TimeoutSeconds replaced (the definition as synthesized otherwise). */
function withExecutionTimeout(template: Record<string, unknown>, workflow: string, seconds: number): Record<string, unknown> {
  const copy = structuredClone(template) as unknown as CfnTemplate;
  const machine = listStateMachines(copy).find((m) => m.workflow === workflow);
  if (!machine) throw new Error(`no state machine for ${workflow}`);
  copy.Resources[machine.logicalId]!.Properties!['DefinitionString'] = JSON.stringify({ ...machine.definition, TimeoutSeconds: seconds });
  return copy as unknown as Record<string, unknown>;
}

/** A runner over `template` (the suite's bundles) whose stages reach DynamoDB Local through the gate. */
function gatedRunner(template: Record<string, unknown>): LocalRunner {
  const runner = runnerForLocalRuntime({ synth: { template, path: inject('templatePath') }, tablePrefix: rt.prefix, env: { ...rt.env, AWS_ENDPOINT_URL_DYNAMODB: gate.url }, maxContainers: 4 });
  gatedRunners.push(runner);
  return runner;
}

const lastError = (report: RunReport | undefined) => report?.errors.at(-1);

describe('a run whose execution ends without finishing it', () => {
  it('times out: the run is marked failed, and a re-run of the same performance finishes the job exactly once', async () => {
    // prepare: every page stalls on its run-log write, so the execution cannot finish within 2 s
    await importDataset(cancellationDataset('ta-', 12));
    const runner = gatedRunner(withExecutionTimeout(rt.template, 'PartialRefund', 2));
    gate.hold(isPageLogWrite('pr-timed-out'));
    // act
    const timedOut = await runner.start('PartialRefund', input('ta-'), { name: 'pr-timed-out' });
    const run = await new RunRepository().get('pr-timed-out');
    await gate.release();
    await runner.idle(); // the calls in flight at the timeout finish, as Lambda calls outlive their execution on AWS
    const rerun = await rt.start('PartialRefund', input('ta-'), 'pr-timed-out-rerun');
    // assess
    expect(timedOut.status).toBe('TIMED_OUT');
    expect(timedOut.eventDeliveries).toEqual([expect.objectContaining({ delivered: true, attempts: 1 })]);
    expect(run?.status).toBe('failed');
    expect(lastError(run?.report)).toMatchObject({ code: 'ExecutionTimedOut' });
    expect(rerun.status).toBe('SUCCEEDED');
    expect(await stateOf('ta-')).toEqual(await stateOf('rz-'));
    expect((await partialRefundMark('ta-P1'))?.runId).toBe('pr-timed-out-rerun');
  });

  it('is stopped: the run is marked failed, and a re-run finishes the job exactly once', async () => {
    // prepare
    await importDataset(cancellationDataset('tb-', 12));
    const runner = gatedRunner(rt.template);
    gate.hold(isPageLogWrite('pr-stopped'));
    const stop = new AbortController();
    // act: stop it once a page is under way (StopExecution); a call takes one page, so the calls in flight leave work undone
    const { stopped, run, markWhileStopped } = await withSmallBudgets(rt, { pagesPerCall: 1 }, async () => {
      const running = runner.start('PartialRefund', input('tb-'), { name: 'pr-stopped', signal: stop.signal });
      await gate.held(1);
      stop.abort();
      const result = { stopped: await running, run: await new RunRepository().get('pr-stopped'), markWhileStopped: await partialRefundMark('tb-P1') };
      await gate.release();
      await runner.idle();
      return result;
    });
    const halfDone = ((await stateOf('tb-')).tickets as { replacesTicketId: string | null }[]).filter((t) => t.replacesTicketId !== null).length;
    const rerun = await rt.start('PartialRefund', input('tb-'), 'pr-stopped-rerun');
    // assess
    expect(stopped.status).toBe('ABORTED');
    expect(run?.status).toBe('failed');
    expect(lastError(run?.report)).toMatchObject({ code: 'ExecutionAborted' });
    expect(markWhileStopped?.runId).toBe('pr-stopped');
    const all = ((await stateOf('rz-')).tickets as { replacesTicketId: string | null }[]).filter((t) => t.replacesTicketId !== null).length;
    expect(halfDone).toBeGreaterThan(0);
    expect(halfDone).toBeLessThan(all);
    expect(rerun.status).toBe('SUCCEEDED');
    expect(await stateOf('tb-')).toEqual(await stateOf('rz-'));
    expect(await partialRefundMark('tb-P1')).toMatchObject({ runId: 'pr-stopped-rerun', previousRuns: ['pr-stopped'] });
  });

  it('fails and cannot record it (RecordFailure fails too): the run is marked failed, and a re-run finishes the job exactly once', async () => {
    // prepare
    await importDataset(cancellationDataset('tc-', 12));
    await chaos({ 'partialRefund.afterPage': 2, 'recordFailure.beforeWrite': 0 });
    // act
    const failed = await rt.start('PartialRefund', input('tc-'), 'pr-unrecorded').finally(() => chaos(null));
    await rt.runner.idle();
    const run = await new RunRepository().get('pr-unrecorded');
    const rerun = await rt.start('PartialRefund', input('tc-'), 'pr-unrecorded-rerun');
    // assess: the execution fails with the page's error; the run end comes from the status change
    expect(failed).toMatchObject({ status: 'FAILED', error: 'InjectedCrash' });
    expect(run?.status).toBe('failed');
    expect(lastError(run?.report)).toMatchObject({ code: 'ExecutionFailed', message: expect.stringContaining('(InjectedCrash)') });
    expect(rerun.status).toBe('SUCCEEDED');
    expect(await stateOf('tc-')).toEqual(await stateOf('rz-'));
    expect(await partialRefundMark('tc-P1')).toMatchObject({ runId: 'pr-unrecorded-rerun', previousRuns: ['pr-unrecorded'] });
  });

  it('is stopped while its run is being opened: the run is recorded failed first, the late open keeps it failed, a re-run finishes the job', async () => {
    // prepare: hold OpenRun's write of the run record (only that first one)
    await importDataset(cancellationDataset('tf-', 12));
    const runner = gatedRunner(rt.template);
    let first = true;
    gate.hold(({ operation, body }) => {
      const item = body['Item'] as Record<string, { S?: string }> | undefined;
      const open = operation === 'PutItem' && item?.['pk']?.S === 'RUN#pr-late-open' && item['sk']?.S === 'RUN';
      if (!open || !first) return false;
      first = false;
      return true;
    });
    const stop = new AbortController();
    // act
    const running = runner.start('PartialRefund', input('tf-'), { name: 'pr-late-open', signal: stop.signal });
    await gate.held(1);
    stop.abort();
    const stopped = await running;
    const recorded = await new RunRepository().get('pr-late-open');
    await gate.release(); // the open lands after the run end was recorded
    await runner.idle();
    const afterLateOpen = await new RunRepository().get('pr-late-open');
    const rerun = await rt.start('PartialRefund', input('tf-'), 'pr-late-open-rerun');
    // assess
    expect(stopped.status).toBe('ABORTED');
    expect(recorded).toMatchObject({ status: 'failed', workflow: 'PartialRefund', requestedBy: 'op-7' });
    expect(lastError(recorded?.report)).toMatchObject({ code: 'ExecutionAborted', message: expect.stringContaining('before it opened its run') });
    expect(afterLateOpen).toEqual(recorded);
    expect(rerun.status).toBe('SUCCEEDED');
    expect(await stateOf('tf-')).toEqual(await stateOf('rz-'));
    expect(await partialRefundMark('tf-P1')).toMatchObject({ runId: 'pr-late-open-rerun', previousRuns: ['pr-late-open'] });
  });

  it('a scheduled dispatch stopped during its own simulation: the simulation run and the never-opened pass run both end failed', async () => {
    // prepare: one open refund of the period the nightly run covers; hold the simulation's page log
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await pendingRefunds('run-ends', `${yesterday}T09:00:00Z`, [{ method: 'bank_transfer' }]);
    const runner = gatedRunner(rt.template);
    gate.hold(({ operation, body }) => {
      const item = body['Item'] as Record<string, { S?: string }> | undefined;
      return operation === 'PutItem' && item?.['pk']?.S === 'RUN#nightly-stopped-simulation' && (item['sk']?.S ?? '').startsWith('LOG#shard');
    });
    const stop = new AbortController();
    // act
    const running = runner.start('DispatchRefunds', { schedule: 'nightly', mode: 'psp' }, { name: 'nightly-stopped', signal: stop.signal });
    await gate.held(1);
    stop.abort();
    const stopped = await running;
    const simulation = await new RunRepository().get('nightly-stopped-simulation');
    const pass = await new RunRepository().get('nightly-stopped');
    await gate.release();
    await runner.idle();
    // assess
    expect(stopped.status).toBe('ABORTED');
    expect(stopped.eventDeliveries).toEqual([expect.objectContaining({ delivered: true, attempts: 1 })]);
    expect(simulation).toMatchObject({ status: 'failed', workflow: 'DispatchRefunds', input: { mode: 'simulate', forRun: 'nightly-stopped' } });
    expect(lastError(simulation?.report)).toMatchObject({ code: 'ExecutionAborted' });
    expect(pass).toMatchObject({ status: 'failed', workflow: 'DispatchRefunds', requestedBy: 'unknown' });
    expect(lastError(pass?.report)?.message).toContain('before it opened its run');
  });

  it('never overwrites a run that ended: a recorded failure keeps its report, a repeated event changes nothing', async () => {
    // prepare: a run that failed and recorded it itself
    await importDataset(cancellationDataset('td-', 4));
    await chaos({ 'partialRefund.afterPage': 1 });
    const failed = await rt.start('PartialRefund', input('td-'), 'pr-recorded').finally(() => chaos(null));
    await rt.runner.idle();
    const before = await new RunRepository().get('pr-recorded');
    const machine = listStateMachines(rt.template as unknown as CfnTemplate).find((m) => m.workflow === 'PartialRefund')!;
    const event = executionStatusChangeEvent({ executionArn: failed.executionArn, stateMachineArn: machine.arn, name: 'pr-recorded', status: 'ABORTED', startDate: Date.now(), input: input('td-') });
    // act: the same end delivered again, and once more as if it had been stopped (the handler called
    // here in-process, with the environment the stack gives RunEndedFn)
    const runEndedFn = listFunctions(rt.template as unknown as CfnTemplate).find((f) => f.entry === 'functions/runs/run-ended.ts')!;
    vi.stubEnv(WORKFLOWS_BY_STATE_MACHINE_ENV, runEndedFn.environment[WORKFLOWS_BY_STATE_MACHINE_ENV]);
    const again = await runEnded(event, {} as Context).finally(() => vi.unstubAllEnvs());
    // assess
    expect(failed.eventDeliveries).toEqual([expect.objectContaining({ delivered: true })]);
    expect(before?.status).toBe('failed');
    expect(before?.report?.errors).toEqual([expect.objectContaining({ code: 'InjectedCrash' })]);
    expect(again).toEqual({ ended: [], untouched: ['pr-recorded'] });
    expect(await new RunRepository().get('pr-recorded')).toEqual(before);
  });

  it('a succeeded execution sends no event to the rule (its pattern asks for FAILED, TIMED_OUT, ABORTED)', async () => {
    // prepare
    await importDataset(cancellationDataset('te-', 0));
    // act
    const done = await rt.start('PartialRefund', input('te-'), 'pr-done');
    // assess
    expect(done.status).toBe('SUCCEEDED');
    expect(done.eventDeliveries).toBeUndefined();
    expect((await new RunRepository().get('pr-done'))?.status).toBe('succeeded');
  });
});
