import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  approvalNeeded,
  compareWithSimulation,
  parseApprovalLimits,
  scheduledPeriod,
  scheduledDispatchInput,
  refusesToStart,
  selectionFingerprint,
  SimulationMismatchError,
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
