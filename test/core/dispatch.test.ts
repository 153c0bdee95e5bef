import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  approvalNeeded,
  awaitingApprovalNotice,
  compareWithSimulation,
  parseApprovalLimits,
  planDispatch,
  scheduledPeriod,
  scheduledDispatchInput,
  refusesToStart,
  selectionFingerprint,
  selectionSummary,
  SimulationMismatchError,
  simulationRefusal,
  type SelectedRefund,
} from '../../lib/core/dispatch.ts';

const sel = (id: string, amount: number, currency = 'CHF', status = 'pending'): SelectedRefund => ({ id, amount, currency, status });

describe('simulation binding', () => {
  it('fingerprints the selection independently of order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 20 }), (ids) => {
        const a = ids.map((id, i) => sel(id, i * 100));
        expect(selectionFingerprint([...a].reverse())).toBe(selectionFingerprint(a));
      }),
    );
    expect(selectionFingerprint([sel('R1', 100)])).not.toBe(selectionFingerprint([sel('R1', 101)]));
  });

  it('accepts refunds settled since, refuses new ones and changed amounts, with counts and totals', () => {
    // prepare
    const simulated = [sel('R1', 1000), sel('R2', 2000), sel('R3', 500, 'EUR')];
    const current = [sel('R1', 1000, 'CHF', 'failed'), sel('R3', 700, 'EUR'), sel('R9', 300)];
    // act
    const diff = compareWithSimulation(simulated, current);
    // assess
    expect(diff.settledSince).toEqual({ count: 1, totals: { CHF: 2000 } });
    expect(diff.notSimulated).toEqual({ count: 1, totals: { CHF: 300 }, ids: ['R9'] });
    expect(diff.amountChanged).toEqual({ count: 1, totals: { EUR: 700 }, simulatedTotals: { EUR: 500 }, ids: ['R3'] });
    expect(refusesToStart(diff)).toBe(true);
    const error = SimulationMismatchError.fromDifference('sim-1', diff);
    expect(error.message).toContain('1 refund(s) not in the simulation (300 CHF minor units): R9');
    expect(error.message).toContain('simulated 500 EUR, now 700 EUR');
    expect(refusesToStart(compareWithSimulation(simulated, [sel('R2', 2000, 'CHF', 'failed')]))).toBe(false);
  });
});

describe('schedules', () => {
  it('covers every open refund created before today in Zurich (not only yesterday\'s), also across midnight UTC', () => {
    expect(scheduledPeriod('nightly', new Date('2026-07-13T00:30:00Z'))).toEqual({ from: '1970-01-01', to: '2026-07-13' });
    // 23:30 UTC on the 12th is already the 13th in Zurich (UTC+2 in summer)
    expect(scheduledPeriod('nightly', new Date('2026-07-12T23:30:00Z'))).toEqual({ from: '1970-01-01', to: '2026-07-13' });
    expect(scheduledPeriod('nightly', new Date('2026-03-01T05:00:00Z'))).toEqual({ from: '1970-01-01', to: '2026-03-01' });
  });

  it('the nightly input names no mode (the whole night); a mode asks for one pass', () => {
    expect(scheduledDispatchInput('nightly')).toEqual({ schedule: 'nightly', requestedBy: 'schedule:nightly' });
    expect(scheduledDispatchInput('nightly', { mode: 'credit' })).toEqual({ schedule: 'nightly', mode: 'credit', requestedBy: 'schedule:nightly' });
  });

  it('waits for a person when a currency reaches its limit or has none', () => {
    const limits = parseApprovalLimits('{"CHF": 100000}');
    expect(approvalNeeded({ CHF: 99999 }, limits)).toEqual([]);
    expect(approvalNeeded({ CHF: 100000 }, limits)).toEqual([{ currency: 'CHF', total: 100000, limit: 100000 }]);
    expect(approvalNeeded({ EUR: 1 }, limits)).toEqual([{ currency: 'EUR', total: 1, limit: null }]);
    expect(() => parseApprovalLimits('{"CHF": 1.5}')).toThrow('autoApprovalLimits.CHF');
  });
});

describe('a pass bound to its simulation', () => {
  const pass = { from: '2026-07-01', to: '2026-07-13', creditPolicy: 'fallback' as const, performanceId: null, notifyCustomers: true };
  const sim = (input: Record<string, unknown>, status = 'succeeded', workflow = 'DispatchRefunds') => ({ workflow, status, input: { mode: 'simulate', from: '2026-07-01', to: '2026-07-13', ...input } });

  it('is bound by a succeeded simulation of the same range and choices', () => {
    expect(simulationRefusal(sim({}), pass)).toBeNull();
    expect(simulationRefusal(sim({ creditPolicy: 'fallback', notifyCustomers: true, performanceId: null }), pass)).toBeNull();
  });

  it('says why another run does not bind it', () => {
    expect(simulationRefusal(sim({ mode: 'psp' }), pass)).toBe('is not a DispatchRefunds simulation');
    expect(simulationRefusal(sim({}, 'succeeded', 'WriteOff'), pass)).toBe('is not a DispatchRefunds simulation');
    expect(simulationRefusal(sim({}, 'failed'), pass)).toBe('did not succeed (status failed)');
    expect(simulationRefusal(sim({ to: '2026-07-14' }), pass)).toBe('covers [2026-07-01, 2026-07-14), not [2026-07-01, 2026-07-13)');
    expect(simulationRefusal(sim({ creditPolicy: 'always' }), pass)).toBe('was made with creditPolicy always, not fallback');
    expect(simulationRefusal(sim({ performanceId: 'P1' }), pass)).toBe('was made for performance "P1", not every performance');
    expect(simulationRefusal(sim({}), { ...pass, performanceId: 'P2' })).toBe('was made for every performance, not performance "P2"');
    expect(simulationRefusal(sim({ notifyCustomers: false }), pass)).toBe('was made with notifyCustomers false, not true');
  });
});

describe('closing a simulation', () => {
  it('sums the selection per currency, sorted, with its fingerprint and the summary lines', () => {
    // act
    const summary = selectionSummary([sel('R2', 500, 'EUR'), sel('R1', 1000), sel('R3', 250)]);
    // assess
    expect(summary).toMatchObject({ count: 3, totals: { CHF: 1250, EUR: 500 } });
    expect(Object.keys(summary.totals)).toEqual(['CHF', 'EUR']);
    expect(summary.lines).toEqual(['selection: 3 refund(s)', 'total CHF: 1250 minor units', 'total EUR: 500 minor units', `fingerprint (sha256 of sorted id:amount:currency): ${summary.fingerprint}`]);
  });

  it('tells the operator the exact approval command when the totals wait for a person', () => {
    // act
    const notice = awaitingApprovalNotice('sim-1', [{ currency: 'CHF', total: 900, limit: 500 }, { currency: 'EUR', total: 10, limit: null }], 'credit', true);
    // assess
    expect(notice.error).toEqual({
      code: 'AwaitingApproval',
      message: 'simulated totals over the auto-approval limit: CHF 900 >= limit 500, EUR 10 (no limit configured); check simulation sim-1 and approve it with: mass-refund approve sim-1 --pass credit --target aws',
    });
    expect(notice.line).toBe('stopped after simulating (sim-1): CHF 900 >= limit 500, EUR 10 (no limit configured)');
    expect(awaitingApprovalNotice('sim-1', [], undefined, false).error.message).toMatch(/approve sim-1 --pass psp$/);
  });
});

describe('planning a dispatch', () => {
  const around = { reconcileScope: { runId: null, since: 'x' }, segments: [0], shards: [0, 1] };
  const execution = { executionName: 'run-1', startedAt: '2026-07-13T00:30:00Z' };

  it('a pass by hand does what it names, bound to the simulation it names, without reconciling first', () => {
    // act
    const plan = planDispatch({ mode: 'credit', from: '2026-07-01', to: '2026-07-13', simulationRunId: 'sim-1', creditPolicy: 'fallback', requestedBy: 'ops', notifyCustomers: true }, execution, around);
    // assess
    expect(plan).toMatchObject({ runId: 'run-1', mode: 'credit', simulationRunId: 'sim-1', simulateFirst: false, reconcileFirst: false, thenCredit: false, performanceId: null, shards: [0, 1] });
  });

  it('a scheduled night covers every open refund before today (Zurich), reconciles, simulates, then psp and credit', () => {
    // act
    const plan = planDispatch({ schedule: 'nightly', creditPolicy: 'fallback', notifyCustomers: true }, execution, around);
    // assess
    expect(plan).toMatchObject({ from: '1970-01-01', to: '2026-07-13', mode: 'psp', requestedBy: 'schedule:nightly', simulateFirst: true, reconcileFirst: true, thenCredit: true });
    expect(plan.simulationInput).toEqual({ mode: 'simulate', from: '1970-01-01', to: '2026-07-13', creditPolicy: 'fallback', notifyCustomers: true, requestedBy: 'schedule:nightly', schedule: 'nightly', forRun: 'run-1' });
    expect(plan.simulationRunId).not.toBe('run-1');
  });

  it('a simulation is its own simulation run', () => {
    const plan = planDispatch({ mode: 'simulate', from: '2026-07-01', to: '2026-07-13', creditPolicy: 'always', requestedBy: 'ops', performanceId: 'P1', notifyCustomers: false }, execution, around);
    expect(plan).toMatchObject({ simulationRunId: 'run-1', simulateFirst: false, performanceId: 'P1' });
    expect(plan.simulationInput).toMatchObject({ performanceId: 'P1', notifyCustomers: false });
  });
});
