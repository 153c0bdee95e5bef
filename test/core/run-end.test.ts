import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  candidateRunIds,
  endedRunReport,
  executionEndError,
  failedRunReport,
  runsOfExecution,
  scheduledReconcileRunId,
  scheduledSimulationRunId,
  UNFINISHED_EXECUTION_STATUSES,
  unopenedRunReport,
  type OpenedRun,
} from '../../lib/core/run-end.ts';

const run = (over: Partial<OpenedRun> = {}): OpenedRun => ({
  runId: 'exec-1',
  workflow: 'PartialRefund',
  status: 'running',
  startedAt: '2026-11-29T02:30:00.000Z',
  requestedBy: 'ops',
  input: { performanceId: 'P1' },
  ...over,
});

describe('the runs an ended execution opened', () => {
  it('are its own run and a scheduled dispatch\'s simulation and reconciliation made for it, nothing else', () => {
    // prepare
    const own = run({ runId: 'nightly-psp-1', workflow: 'DispatchRefunds' });
    const simulation = run({ runId: 'nightly-psp-1-simulation', workflow: 'DispatchRefunds', input: { mode: 'simulate', forRun: 'nightly-psp-1' } });
    const reconciliation = run({ runId: 'nightly-psp-1-reconcile', workflow: 'ReconcileRefunds', input: { forRun: 'nightly-psp-1' } });
    const someoneElsesSimulation = run({ runId: 'nightly-psp-1-simulation', workflow: 'DispatchRefunds', input: { mode: 'simulate' } });
    const someoneElsesReconciliation = run({ runId: 'nightly-psp-1-reconcile', workflow: 'ReconcileRefunds', input: {} });
    const otherWorkflow = run({ runId: 'nightly-psp-1', workflow: 'WriteOff' });
    // act + assess
    expect(candidateRunIds('nightly-psp-1')).toEqual(['nightly-psp-1', scheduledSimulationRunId('nightly-psp-1'), scheduledReconcileRunId('nightly-psp-1')]);
    expect(runsOfExecution({ name: 'nightly-psp-1', workflow: 'DispatchRefunds' }, [own, simulation, reconciliation])).toEqual([own, simulation, reconciliation]);
    expect(runsOfExecution({ name: 'nightly-psp-1', workflow: 'DispatchRefunds' }, [someoneElsesSimulation, someoneElsesReconciliation, otherWorkflow])).toEqual([]);
    expect(runsOfExecution({ name: 'nightly-psp-1', workflow: 'ReconcileRefunds' }, [reconciliation])).toEqual([]);
  });

  it('never include a run of another workflow or another execution (property)', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/);
    const workflow = fc.constantFrom('PartialRefund', 'DispatchRefunds', 'WriteOff');
    fc.assert(
      fc.property(name, workflow, fc.array(fc.record({ runId: name, workflow: fc.oneof(workflow, fc.constant('ReconcileRefunds')), forRun: fc.option(name) })), (exec, wf, candidates) => {
        const runs = candidates.map((c) => run({ runId: c.runId, workflow: c.workflow, input: c.forRun === null ? {} : { forRun: c.forRun } }));
        for (const r of runsOfExecution({ name: exec, workflow: wf }, runs)) {
          const madeFor = (r.input as { forRun?: string }).forRun === exec;
          const ownReconciliation = wf === 'DispatchRefunds' && r.workflow === 'ReconcileRefunds' && r.runId === `${exec}-reconcile` && madeFor;
          if (!ownReconciliation) expect(r.workflow).toBe(wf);
          expect(r.runId === exec || (r.runId === `${exec}-simulation` && madeFor) || ownReconciliation).toBe(true);
        }
      }),
    );
  });
});

describe('the report of a run whose execution ended first', () => {
  it('keeps what the run recorded and adds why it ended, per execution status', () => {
    // prepare
    const recorded = run({ report: { outcomes: { tickets_exchanged: { count: 3, totals: { CHF: 300 } } }, errors: [{ code: 'OrderTooLarge', message: 'order O9' }] } });
    // act
    const reports = UNFINISHED_EXECUTION_STATUSES.map((status) => endedRunReport(recorded, { status, error: status === 'FAILED' ? 'InjectedCrash' : null }, '2026-11-29T03:00:00.000Z'));
    // assess
    for (const report of reports) {
      expect(report).toMatchObject({ runId: 'exec-1', workflow: 'PartialRefund', status: 'failed', startedAt: recorded.startedAt, finishedAt: '2026-11-29T03:00:00.000Z', requestedBy: 'ops', input: recorded.input });
      expect(report.outcomes).toEqual(recorded.report?.outcomes);
      expect(report.errors[0]).toEqual({ code: 'OrderTooLarge', message: 'order O9' });
    }
    expect(reports.map((r) => r.errors[1]?.code)).toEqual(['ExecutionFailed', 'ExecutionTimedOut', 'ExecutionAborted']);
    expect(executionEndError({ status: 'FAILED', error: 'InjectedCrash' }).message).toContain('(InjectedCrash)');
    for (const r of reports) expect(r.errors[1]?.message).toContain('run it again with the same input');
  });

  it('is refused for a run that already ended', () => {
    for (const status of ['succeeded', 'failed', 'awaiting_approval']) {
      expect(() => endedRunReport(run({ status }), { status: 'ABORTED' }, '2026-11-29T03:00:00.000Z')).toThrow(/already recorded/);
    }
  });

  it('of a run never opened names who asked, when the input says it, and why it ended', () => {
    // act
    const named = unopenedRunReport({ name: 'x', workflow: 'WriteOff', status: 'TIMED_OUT' }, { startedAt: '2026-11-29T02:00:00.000Z', input: { requestedBy: 'anna' } }, '2026-11-29T08:00:00.000Z');
    const anonymous = unopenedRunReport({ name: 'y', workflow: 'WriteOff', status: 'ABORTED' }, { startedAt: '2026-11-29T02:00:00.000Z', input: ['not', 'an', 'object'] }, '2026-11-29T02:01:00.000Z');
    // assess
    expect(named).toMatchObject({ runId: 'x', status: 'failed', requestedBy: 'anna', outcomes: {}, errors: [{ code: 'ExecutionTimedOut', message: expect.stringContaining('before it opened its run') }] });
    expect(anonymous.requestedBy).toBe('unknown');
  });
});

describe('the report of a failed run', () => {
  it('keeps what the run recorded and adds the error at the end of its errors', () => {
    // prepare
    const recorded = run({ report: { outcomes: { tickets_cancelled: { count: 1, totals: { CHF: 100 } } }, errors: [{ code: 'OrderNotBooked', message: 'm' }], pages: 4 } });
    // act
    const report = failedRunReport(recorded, { code: 'States.Timeout', message: 'took too long' }, '2026-11-29T03:00:00.000Z');
    // assess
    expect(report).toEqual({
      runId: 'exec-1',
      workflow: 'PartialRefund',
      status: 'failed',
      startedAt: '2026-11-29T02:30:00.000Z',
      finishedAt: '2026-11-29T03:00:00.000Z',
      requestedBy: 'ops',
      input: { performanceId: 'P1' },
      outcomes: { tickets_cancelled: { count: 1, totals: { CHF: 100 } } },
      errors: [
        { code: 'OrderNotBooked', message: 'm' },
        { code: 'States.Timeout', message: 'took too long' },
      ],
      pages: 4,
    });
  });
});
