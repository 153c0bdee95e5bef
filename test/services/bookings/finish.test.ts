import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../../lib/core/report.ts';
import { finishPagedRun } from '../../../lib/services/bookings/finish.ts';

describe('finishing a paged booking run', () => {
  it('logs the summary line last and records the report with its status', async () => {
    // prepare
    const logged: { key: string; lines: string[] }[] = [];
    const finished: { status: string; report: RunReport }[] = [];
    const runs = { log: async (_: string, key: string, lines: string[]) => void logged.push({ key, lines }), finish: async (_: string, status: string, report: RunReport) => void finished.push({ status, report }) };
    // act
    const report = await finishPagedRun(runs, {
      workflow: 'PartialRefund',
      runId: 'pr-1',
      startedAt: '2026-11-29T10:00:00.000Z',
      requestedBy: 'ops',
      input: {},
      shardResults: [{ tallies: { tickets_exchanged: { count: 1, totals: { CHF: 100 } } }, pages: 1 }],
    });
    // assess
    expect(logged).toEqual([{ key: 'zz-summary', lines: ['PartialRefund pr-1 finished: tickets_exchanged=1 (100 CHF)'] }]);
    expect(finished).toEqual([{ status: 'succeeded', report }]);
  });
});
