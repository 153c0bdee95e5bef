import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { approvalLines, approvedInput, passTotals } from '../../lib/cli/approve.ts';
import { decimalAmount, formatMoney, humanizeMinorUnits, outcomesTable, reportSummary } from '../../lib/cli/format.ts';
import { ProgressDisplay, ProgressTracker, type HistoryEventLike } from '../../lib/cli/progress.ts';
import { minorDigits } from '../../lib/core/money.ts';

describe('money as people write it', () => {
  it.each([
    [{ amount: 123450, currency: 'CHF' }, 'CHF 1,234.50'],
    [{ amount: 5, currency: 'EUR' }, 'EUR 0.05'],
    [{ amount: -123456789, currency: 'CHF' }, 'CHF -1,234,567.89'],
    [{ amount: 1500, currency: 'JPY' }, 'JPY 1,500'],
    [{ amount: 1005, currency: 'KWD' }, 'KWD 1.005'],
    [{ amount: 0, currency: 'CHF' }, 'CHF 0.00'],
    [{ amount: Number.MAX_SAFE_INTEGER, currency: 'CHF' }, 'CHF 90,071,992,547,409.91'],
  ])('%j -> %s', (money, text) => {
    expect(formatMoney(money)).toBe(text);
  });

  it('is exact: the text read back digit by digit is the amount in minor units', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger().map((n) => n), fc.constantFrom('CHF', 'EUR', 'JPY', 'KWD', 'GBP'), (amount, currency) => {
        const text = formatMoney({ amount, currency });
        const [code, number] = text.split(' ');
        expect(code).toBe(currency);
        expect(number).toMatch(/^-?\d{1,3}(,\d{3})*(\.\d+)?$/);
        const digits = number!.replace(/[,.]/g, '').replace(/^(-?)0+(?=\d)/, '$1');
        expect(BigInt(digits)).toBe(BigInt(amount));
        expect((number!.split('.')[1] ?? '').length).toBe(minorDigits(currency));
        expect(decimalAmount(amount, currency)).toBe(number!.replace(/,/g, ''));
      }),
    );
  });

  it('rewrites amounts of run log lines, leaving ids alone', () => {
    expect(humanizeMinorUnits('O1 O1-C1: cancelled T1 10000 CHF, T22 8000 CHF; total CHF: 1234500 minor units; 300 EUR minor units')).toBe(
      'O1 O1-C1: cancelled T1 CHF 100.00, T22 CHF 80.00; total CHF 12,345.00; EUR 3.00',
    );
    expect(humanizeMinorUnits('run-2026 XYZ-1 and 12 ABC')).toBe('run-2026 XYZ-1 and 12 ABC');
  });

  it('shows outcomes as a table, one money column per currency, and a report as a summary', () => {
    const table = outcomesTable({ refunded: { count: 1234, totals: { CHF: 123450, EUR: 5 } }, failed: { count: 2, totals: { CHF: 700 } } });
    expect(table.split('\n')).toEqual([
      'outcome   count           CHF       EUR',
      '--------  -----  ------------  --------',
      'refunded  1,234  CHF 1,234.50  EUR 0.05',
      'failed        2      CHF 7.00',
    ]);
    const summary = reportSummary({ workflow: 'DispatchRefunds', runId: 'r1', status: 'succeeded', requestedBy: 'ops', startedAt: '2026-11-01T10:00:00Z', finishedAt: '2026-11-01T10:04:05Z', outcomes: {}, errors: [{ code: 'EmailsNotSent', message: '2 email(s) not sent' }] });
    expect(summary).toContain('DispatchRefunds r1: succeeded');
    expect(summary).toContain('took 4 min 05 s');
    expect(summary).toContain('EmailsNotSent: 2 email(s) not sent');
  });
});

describe('progress from the execution history', () => {
  const exited = (id: number, name: string, output: unknown): HistoryEventLike => ({ id, type: 'TaskStateExited', stateExitedEventDetails: { name, output: JSON.stringify(output) } });

  it('sums the latest tallies of each shard, counting only the plan\'s outcomes and Task outputs', () => {
    // prepare
    let now = 0;
    const tracker = new ProgressTracker({ unit: 'tickets', counts: (o) => o.startsWith('tickets_'), total: 100 }, () => now);
    // act
    tracker.apply([exited(1, 'CancelPage', { shard: 0, tallies: { tickets_cancelled: { count: 10 }, orders_cancelled: { count: 4 } } })]);
    now = 2000;
    tracker.apply([
      exited(2, 'CancelPage', { shard: 1, tallies: { tickets_cancelled: { count: 5 } } }),
      exited(3, 'CancelPage', { shard: 0, tallies: { tickets_cancelled: { count: 25 }, tickets_skipped_cancelled: { count: 5 } } }),
      { id: 4, type: 'ChoiceStateExited', stateExitedEventDetails: { name: 'ShardDone', output: JSON.stringify({ shard: 0, tallies: { tickets_cancelled: { count: 99 } } }) } },
      { id: 5, type: 'TaskStateEntered', stateEnteredEventDetails: { name: 'FinishRun' } },
    ]);
    // assess
    const s = tracker.snapshot();
    expect(s).toMatchObject({ done: 35, total: 100, unit: 'tickets', stage: 'FinishRun' });
    expect(s.rate).toBe(12.5); // 25 more in 2 s
    expect(s.etaMs).toBe(5200);
  });

  it('draws one line per tenth when piped, redraws in place on a terminal', () => {
    // prepare
    const piped: string[] = [];
    const tty: string[] = [];
    let now = 0;
    const a = new ProgressDisplay({ write: (s: string) => piped.push(s) }, 'CancelPerformance', () => now);
    const b = new ProgressDisplay({ write: (s: string) => tty.push(s), isTTY: true, columns: 80 }, 'CancelPerformance', () => now);
    // act
    for (let done = 0; done <= 1000; done += 7) {
      now += 150;
      a.update({ done, total: 1000, unit: 'tickets' });
      b.update({ done, total: 1000, unit: 'tickets' });
    }
    a.update({ done: 1000, total: 1000, unit: 'tickets' });
    b.done();
    // assess
    expect(piped).toHaveLength(11);
    expect(piped[0]).toBe('CancelPerformance: 0/1,000 tickets (0 %)\n');
    expect(piped[10]).toBe('CancelPerformance: 1,000/1,000 tickets (100 %)\n');
    expect(tty.length).toBeGreaterThan(100);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequences are what is checked
    expect(tty[50]).toMatch(/^\r\x1b\[2K\[#{7}\.{13}\] CancelPerformance: 350\/1,000 tickets \(35 %\)/);
    expect(tty.at(-1)).toBe('\r\x1b[2K');
  });
});

describe('approving a simulation', () => {
  it('totals the selection per pass, payment method and currency with integer sums', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ amount: fc.integer({ min: 1, max: 10_000_000 }), currency: fc.constantFrom('CHF', 'EUR'), pass: fc.constantFrom('psp' as const, 'credit' as const), method: fc.constantFrom('card', 'klarna') }), { maxLength: 60 }),
        (rows) => {
          const selection = rows.map((r, i) => ({ id: `R${i}`, amount: r.amount, currency: r.currency, status: 'pending', pass: r.pass }));
          const methods = new Map(rows.map((r, i) => [`R${i}`, r.method]));
          const lines = approvalLines(selection, methods);
          for (const pass of ['psp', 'credit']) {
            const t = passTotals(lines, pass);
            const mine = rows.filter((r) => r.pass === pass);
            expect(t.count).toBe(mine.length);
            for (const c of ['CHF', 'EUR']) expect(t.totals[c] ?? 0).toBe(mine.filter((r) => r.currency === c).reduce((n, r) => n + r.amount, 0));
          }
          expect(lines.reduce((n, l) => n + l.count, 0)).toBe(rows.length);
        },
      ),
    );
  });

  it('binds the pass to the simulation: its range and policy, its id, the approver', () => {
    const sim = { runId: 'sim-1', input: { mode: 'simulate', from: '2026-11-28', to: '2026-11-29', creditPolicy: 'fallback', requestedBy: 'schedule:nightly', schedule: 'nightly', forRun: 'nightly-psp' } };
    expect(approvedInput(sim, 'psp', 'lead')).toEqual({ from: '2026-11-28', to: '2026-11-29', creditPolicy: 'fallback', mode: 'psp', simulationRunId: 'sim-1', requestedBy: 'lead' });
  });
});
