import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { finishedStatus, mergeTallies, tally, type RunReport, type Tallies } from '../../lib/core/report.ts';
import { MoneyRuleError } from '../../lib/core/errors.ts';

describe('tallies', () => {
  it('counts and totals per currency without changing the input', () => {
    // prepare
    const empty: Tallies = {};
    // act
    const a = tally(empty, 'refunded', { amount: 6000, currency: 'CHF' });
    const b = tally(tally(a, 'refunded', { amount: 100, currency: 'EUR' }), 'refunded', { amount: 4000, currency: 'CHF' });
    const c = tally(b, 'tickets_skipped_already_cancelled', undefined, 3);
    // assess
    expect(empty).toEqual({});
    expect(a).toEqual({ refunded: { count: 1, totals: { CHF: 6000 } } });
    expect(c).toEqual({
      refunded: { count: 3, totals: { CHF: 10000, EUR: 100 } },
      'tickets_skipped_already_cancelled': { count: 3, totals: {} },
    });
    expect(Object.keys(c.refunded!.totals)).toEqual(['CHF', 'EUR']);
  });

  it('merges the tallies of several shards', () => {
    const s1 = tally({}, 'refunded', { amount: 500, currency: 'JPY' });
    const s2 = tally(tally({}, 'refunded', { amount: 1, currency: 'KWD' }), 'failed', { amount: 300, currency: 'CHF' });
    expect(mergeTallies(s1, s2, {})).toEqual({
      refunded: { count: 2, totals: { JPY: 500, KWD: 1 } },
      failed: { count: 1, totals: { CHF: 300 } },
    });
    expect(mergeTallies()).toEqual({});
  });

  it('refuses fractional amounts and counts', () => {
    expect(() => tally({}, 'refunded', { amount: 1.5, currency: 'CHF' })).toThrow(MoneyRuleError);
    expect(() => tally({}, 'refunded', undefined, -1)).toThrow(MoneyRuleError);
  });

  it('a run report carries the contract fields and extra ones', () => {
    const report: RunReport = {
      runId: 'R1',
      workflow: 'DispatchRefunds',
      status: 'succeeded',
      startedAt: '2026-07-13T01:00:00Z',
      finishedAt: '2026-07-13T01:02:00Z',
      requestedBy: 'ops',
      input: { mode: 'simulate' },
      outcomes: tally({}, 'to_psp', { amount: 6000, currency: 'CHF' }),
      errors: [],
      simulationRunId: null,
    };
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});

describe('succeededReport', () => {
  it('carries the contract fields, no errors, and the extras after them', async () => {
    const { succeededReport } = await import('../../lib/core/report.ts');
    const report = succeededReport({ runId: 'r1', workflow: 'W', startedAt: '2026-01-01T00:00:00Z', requestedBy: 'op', input: { a: 1 } }, { done: { count: 1, totals: { CHF: 5 } } }, { orderId: 'O1' });
    expect(report).toMatchObject({ runId: 'r1', workflow: 'W', status: 'succeeded', requestedBy: 'op', input: { a: 1 }, outcomes: { done: { count: 1, totals: { CHF: 5 } } }, errors: [], orderId: 'O1' });
    expect(Date.parse(report.finishedAt)).toBeGreaterThanOrEqual(Date.parse(report.startedAt));
  });
});

describe('finishedStatus', () => {
  it('is succeeded with no error and completed_with_errors as soon as one error is listed', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ code: fc.string(), message: fc.string() }), { maxLength: 5 }), (errors) => {
        expect(finishedStatus(errors)).toBe(errors.length === 0 ? 'succeeded' : 'completed_with_errors');
      }),
    );
  });
});
