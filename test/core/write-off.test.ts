import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decideWriteOff,
  MAX_NAMED_CODES,
  renderWriteOffFile,
  tallyWritten,
  unknownCodeIssues,
  validateWriteOffCriteria,
  writeOffChecksum,
  writeOffRequestIssues,
  writeOffRunReport,
  writeOffStatistics,
} from '../../lib/core/write-off.ts';
import { ValidationError } from '../../lib/core/errors.ts';
import type { Voucher } from '../../lib/core/model.ts';

const voucher = (extra: Partial<Voucher> = {}): Voucher => ({
  code: 'V-1',
  kind: 'value',
  issuedAt: '2024-03-01',
  validUntil: '2025-03-01',
  remaining: { amount: 5000, currency: 'CHF' },
  ...extra,
});
const none = new Set<string>();

describe('decideWriteOff', () => {
  it('selects by issue date: issued on the cut-off day is included, the day after is not', () => {
    expect(decideWriteOff(voucher(), { issuedUpTo: '2024-03-01' }, none)).toEqual({ eligible: true });
    expect(decideWriteOff(voucher({ issuedAt: '2024-03-01T23:30:00Z' }), { issuedUpTo: '2024-03-01' }, none)).toEqual({ eligible: true });
    expect(decideWriteOff(voucher({ issuedAt: '2024-03-02' }), { issuedUpTo: '2024-03-01' }, none)).toEqual({ eligible: false, reason: 'issued_after_cutoff' });
  });

  it('selects by expiry: valid until strictly before the date; no validity never expired', () => {
    expect(decideWriteOff(voucher(), { expiredBefore: '2025-03-02' }, none)).toEqual({ eligible: true });
    expect(decideWriteOff(voucher(), { expiredBefore: '2025-03-01' }, none)).toEqual({ eligible: false, reason: 'not_expired' });
    expect(decideWriteOff(voucher({ validUntil: null }), { expiredBefore: '2030-01-01' }, none)).toEqual({ eligible: false, reason: 'not_expired' });
  });

  it('requires both when both are given', () => {
    const c = { issuedUpTo: '2024-12-31', expiredBefore: '2025-06-01' };
    expect(decideWriteOff(voucher(), c, none).eligible).toBe(true);
    expect(decideWriteOff(voucher({ issuedAt: '2025-01-01' }), c, none)).toEqual({ eligible: false, reason: 'issued_after_cutoff' });
    expect(decideWriteOff(voucher({ validUntil: '2025-07-01' }), c, none)).toEqual({ eligible: false, reason: 'not_expired' });
  });

  it('never writes off gift cards, always respects exclusions, skips written-off and empty ones', () => {
    const c = { issuedUpTo: '2030-01-01' };
    expect(decideWriteOff(voucher({ kind: 'gift_card' }), c, none)).toEqual({ eligible: false, reason: 'gift_card' });
    expect(decideWriteOff(voucher(), c, new Set(['V-1']))).toEqual({ eligible: false, reason: 'excluded' });
    expect(decideWriteOff(voucher({ writtenOff: { runId: 'R0', comment: 'x', at: '2025-01-01T00:00:00Z' } }), c, none)).toEqual({ eligible: false, reason: 'already_written_off' });
    expect(decideWriteOff(voucher({ remaining: { amount: 0, currency: 'CHF' } }), c, none)).toEqual({ eligible: false, reason: 'nothing_remaining' });
  });

  it('filters kinds; tickets and imported vouchers are eligible kinds', () => {
    const c = { issuedUpTo: '2030-01-01', kinds: ['ticket' as const, 'imported' as const] };
    expect(decideWriteOff(voucher({ kind: 'ticket' }), c, none).eligible).toBe(true);
    expect(decideWriteOff(voucher({ kind: 'imported' }), c, none).eligible).toBe(true);
    expect(decideWriteOff(voucher({ kind: 'package' }), c, none)).toEqual({ eligible: false, reason: 'kind_not_selected' });
  });

  it('leaves a reversed code out unless the run names it; a run naming codes selects only those', () => {
    const reversed = voucher({ lastReversal: { runId: 'REV-1', at: '2025-02-01T00:00:00Z' } });
    expect(decideWriteOff(reversed, { issuedUpTo: '2030-01-01' }, none)).toEqual({ eligible: false, reason: 'reversed' });
    expect(decideWriteOff(reversed, { issuedUpTo: '2030-01-01', codes: ['V-1'] }, none)).toEqual({ eligible: true });
    expect(decideWriteOff(reversed, { codes: ['V-1'] }, none)).toEqual({ eligible: true });
    expect(decideWriteOff(voucher({ code: 'V-2' }), { issuedUpTo: '2030-01-01', codes: ['V-1'] }, none)).toEqual({ eligible: false, reason: 'not_named' });
    // Naming never overrides the rules that always hold, nor the dates and kinds the run gives.
    expect(decideWriteOff(voucher({ kind: 'gift_card' }), { codes: ['V-1'] }, none)).toEqual({ eligible: false, reason: 'gift_card' });
    expect(decideWriteOff(reversed, { codes: ['V-1'] }, new Set(['V-1']))).toEqual({ eligible: false, reason: 'excluded' });
    expect(decideWriteOff(reversed, { issuedUpTo: '2024-01-01', codes: ['V-1'] }, none)).toEqual({ eligible: false, reason: 'issued_after_cutoff' });
  });

  it('a reversed code is selected exactly when named and otherwise eligible (property)', () => {
    const kinds = ['value', 'package', 'service', 'imported', 'ticket', 'gift_card'] as const;
    const day = fc.integer({ min: 0, max: 3650 }).map((d) => new Date(Date.UTC(2020, 0, 1) + d * 86_400_000).toISOString().slice(0, 10));
    fc.assert(
      fc.property(
        fc.record({ code: fc.constantFrom('A', 'B', 'C'), kind: fc.constantFrom(...kinds), issuedAt: day, remaining: fc.integer({ min: 0, max: 10_000 }), reversed: fc.boolean() }),
        fc.option(fc.subarray(['A', 'B', 'C'], { minLength: 1 }), { nil: undefined }),
        day,
        (v, codes, cutoff) => {
          const subject = voucher({ code: v.code, kind: v.kind, issuedAt: v.issuedAt, remaining: { amount: v.remaining, currency: 'CHF' }, ...(v.reversed ? { lastReversal: { runId: 'R', at: '2025-01-01T00:00:00Z' } } : {}) });
          const withNames = decideWriteOff(subject, { issuedUpTo: cutoff, ...(codes ? { codes } : {}) }, none);
          const plain = decideWriteOff({ ...subject, lastReversal: null }, { issuedUpTo: cutoff }, none);
          const named = codes?.includes(v.code) ?? false;
          // Selected iff eligible by the plain rules, named when a list is given, and (if reversed) named.
          expect(withNames.eligible).toBe(plain.eligible && (codes === undefined || named) && (!v.reversed || named));
        },
      ),
    );
  });

  it('refuses criteria without a date, with bad dates or selecting gift cards', () => {
    expect(() => decideWriteOff(voucher(), {}, none)).toThrow(ValidationError);
    expect(validateWriteOffCriteria({ issuedUpTo: '2024-02-30', expiredBefore: '01.01.2025', kinds: ['gift_card'] }).map((i) => i.field)).toEqual([
      'issuedUpTo',
      'expiredBefore',
      'kinds.0',
    ]);
    expect(validateWriteOffCriteria({ expiredBefore: '2024-02-29' })).toEqual([]);
    expect(validateWriteOffCriteria({ codes: ['V-1'] })).toEqual([]);
    expect(validateWriteOffCriteria({ codes: [] }).map((i) => i.field)).toEqual(['codes']);
    expect(validateWriteOffCriteria({ codes: ['V-1', 'V-2', 'V-1'] })).toEqual([{ field: 'codes.2', reason: 'names "V-1" twice' }]);
    expect(validateWriteOffCriteria({ codes: Array.from({ length: MAX_NAMED_CODES + 1 }, (_, i) => `V-${i}`) })[0]?.reason).toContain(`at most ${MAX_NAMED_CODES}`);
  });
});

describe('write-off file', () => {
  it('checksum is SHA-256 over the sorted codes joined by newlines, independent of input order', () => {
    const expected = createHash('sha256').update('A-1\nB-2\nb-0').digest('hex');
    expect(writeOffChecksum(['b-0', 'B-2', 'A-1'])).toBe(expected);
    expect(writeOffChecksum(['A-1', 'B-2', 'b-0'])).toBe(expected);
  });

  it('lists the codes sorted, then count, totals per currency and the checksum', () => {
    // prepare
    const codes = ['V-2', 'V-1'];
    // act
    const text = renderWriteOffFile({
      runId: 'R1',
      criteria: { issuedUpTo: '2024-12-31' },
      simulate: true,
      sampleCodes: codes,
      count: 2,
      totals: { KWD: 1005, CHF: 12345 },
      checksum: writeOffChecksum(codes),
    });
    // assess
    const lines = text.trimEnd().split('\n');
    expect(lines.slice(3)).toEqual([
      'V-1',
      'V-2',
      'Count: 2',
      'Total CHF: CHF 123.45 (12345 minor units)',
      'Total KWD: KWD 1.005 (1005 minor units)',
      `SHA-256: ${createHash('sha256').update('V-1\nV-2').digest('hex')}`,
    ]);
    expect(lines[0]).toContain('simulation');
  });

  it('lists only the first 1000 codes when there are more', () => {
    const codes = Array.from({ length: 1500 }, (_, i) => `V-${String(i).padStart(5, '0')}`).reverse();
    const text = renderWriteOffFile({ runId: 'R2', criteria: { expiredBefore: '2025-01-01' }, simulate: true, sampleCodes: codes, count: 1500, totals: { JPY: 1500 }, checksum: writeOffChecksum(codes) });
    const listed = text.split('\n').filter((l) => l.startsWith('V-'));
    expect(listed).toHaveLength(1000);
    expect(listed[0]).toBe('V-00000');
    expect(listed[999]).toBe('V-00999');
    expect(text).toContain('Count: 1500\nTotal JPY: JPY 1500 (1500 minor units)\nSHA-256: ');
  });
});

describe('write-off criteria against today', () => {
  it('refuses dates after today, accepts today and earlier', () => {
    expect(validateWriteOffCriteria({ issuedUpTo: '2026-05-02', expiredBefore: '2026-05-01' }, '2026-05-01')).toEqual([
      { field: 'issuedUpTo', reason: 'must not be in the future (today is 2026-05-01), got 2026-05-02' },
    ]);
    expect(validateWriteOffCriteria({ issuedUpTo: '2026-05-01' }, '2026-05-01')).toEqual([]);
  });
});

describe('writeOffStatistics', () => {
  it('counts and totals per kind, month of issue and currency', () => {
    // prepare
    const rows = [
      { kind: 'value' as const, issuedAt: '2024-03-01', amount: { amount: 5000, currency: 'CHF' } },
      { kind: 'value' as const, issuedAt: '2024-03-31T22:00:00Z', amount: { amount: 1000, currency: 'EUR' } },
      { kind: 'ticket' as const, issuedAt: '2023-12-24', amount: { amount: 250, currency: 'CHF' } },
    ];
    // act
    const stats = writeOffStatistics(rows);
    // assess
    expect(stats.count).toBe(3);
    expect(stats.totals).toEqual({ CHF: 5250, EUR: 1000 });
    expect(stats.byKind).toEqual({ ticket: { count: 1, totals: { CHF: 250 } }, value: { count: 2, totals: { CHF: 5000, EUR: 1000 } } });
    expect(Object.keys(stats.byIssueMonth)).toEqual(['2023-12', '2024-03']);
    expect(stats.byIssueMonth['2024-03']).toEqual({ count: 2, totals: { CHF: 5000, EUR: 1000 } });
    expect(stats.byCurrency).toEqual({ CHF: { count: 2, totals: { CHF: 5250 } }, EUR: { count: 1, totals: { EUR: 1000 } } });
  });

  it('is empty for no write-offs', () => {
    expect(writeOffStatistics([])).toEqual({ count: 0, totals: {}, byKind: {}, byIssueMonth: {}, byCurrency: {} });
  });
});

describe("a write-off page's writes and a run's report", () => {
  const v = (code: string, amount: number): Voucher => ({ code, kind: 'value', issuedAt: '2024-01-10', validUntil: null, remaining: { amount, currency: 'CHF' }, writtenOff: null });

  it('selects and tallies the written vouchers, and skips the others with their reason', () => {
    // prepare
    const plan = { tallies: { 'skipped:excluded': { count: 1, totals: { CHF: 10 } } }, selected: ['A'] };
    // act
    const out = tallyWritten(plan, [
      { voucher: v('B', 500), result: { written: true, amount: 500 } },
      { voucher: v('C', 700), result: { written: false, reason: 'vanished', remaining: { amount: 700, currency: 'CHF' } } },
    ]);
    // assess
    expect(out.selected).toEqual(['A', 'B']);
    expect(plan.selected).toEqual(['A']);
    expect(out.tallies).toEqual({
      'skipped:excluded': { count: 1, totals: { CHF: 10 } },
      written_off: { count: 1, totals: { CHF: 500 } },
      'skipped:vanished': { count: 1, totals: { CHF: 700 } },
    });
  });

  it('asks a real run for a comment and names the codes that do not exist', () => {
    // act / assess
    expect(writeOffRequestIssues({ issuedUpTo: '2024-12-31', simulate: false }, '2026-11-29')).toEqual([
      { field: 'comment', reason: 'is required for a real run (simulate: false); it is shown when a written-off code is looked up' },
    ]);
    expect(writeOffRequestIssues({ issuedUpTo: '2024-12-31', simulate: true }, '2026-11-29')).toEqual([]);
    expect(unknownCodeIssues(['A', 'B', 'C'], new Set(['B']))).toEqual([
      { field: 'codes.0', reason: 'no voucher or ticket "A"' },
      { field: 'codes.2', reason: 'no voucher or ticket "C"' },
    ]);
  });

  it("reports the run's tallies and its file, a note only when there is one", () => {
    // prepare
    const run = { runId: 'wo-1', workflow: 'WriteOff', startedAt: 's', requestedBy: 'ops', input: { simulate: true }, simulate: true };
    // act
    const report = writeOffRunReport(run, {}, { count: 0, checksum: 'c', location: null, note: undefined }, 3, 'f');
    // assess
    expect(report).toEqual({ ...run, status: 'succeeded', finishedAt: 'f', outcomes: {}, errors: [], file: { count: 0, checksum: 'c', location: null }, pages: 3 });
  });
});
