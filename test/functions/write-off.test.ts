import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanAll } from '../../lib/adapters/dynamodb/items.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { readSelectedCodes, VoucherRepository } from '../../lib/adapters/dynamodb/vouchers.ts';
import { exportRecords, lookupVoucher, writeOffStats } from '../../lib/cli/export.ts';
import { importText } from '../../lib/cli/import.ts';
import type { RunReport } from '../../lib/core/report.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

let rt: TestRuntime;

const line = (code: string, kind: string, issuedAt: string, validUntil: string | null, amount: number, currency: string) =>
  JSON.stringify({ type: 'voucher', code, kind, issuedAt, validUntil, remaining: { amount, currency } });

// Cut-offs used below: issued up to 2023-12-31, expired before 2024-06-01.
const DATASET = [
  line('V-A', 'value', '2023-01-15', '2024-01-15', 5000, 'CHF'), // issued yes, expired yes
  line('V-B', 'package', '2023-06-01', '2025-06-01', 2000, 'EUR'), // issued yes, expired no
  line('V-C', 'service', '2024-03-01', '2024-03-31', 700, 'CHF'), // issued no, expired yes
  line('V-D', 'imported', '2022-01-01', null, 1234, 'JPY'), // issued yes, no validity: never expired
  line('T-E', 'ticket', '2023-12-31T20:00:00+00:00', '2024-01-01', 4500, 'CHF'), // issued on the cut-off day, expired yes
  line('G-F', 'gift_card', '2020-01-01', '2021-01-01', 9999, 'CHF'), // gift card: never
  line('V-G', 'value', '2021-05-05', '2022-05-05', 3000, 'CHF'), // excluded
  line('V-H', 'value', '2022-02-02', '2023-02-02', 0, 'CHF'), // nothing remaining
  line('V-I', 'value', '2024-01-01', '2024-02-01', 100, 'KWD'), // issued the day after, expired yes
  JSON.stringify({ type: 'write_off_exclusion', id: 'V-G' }),
].join('\n');

type Report = RunReport & { file: { count: number; checksum: string; location: string | null; note?: string } };

async function vouchersTable(): Promise<string> {
  const items: Record<string, unknown>[] = [];
  for await (const item of scanAll(tableName('vouchers'))) items.push(item);
  return JSON.stringify(items.sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`)));
}

async function fileOf(runId: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const l of new RunRepository().logLines(runId)) lines.push(l);
  return lines;
}

const sha256 = (codes: string[]) => createHash('sha256').update([...codes].sort().join('\n')).digest('hex');

async function writeOff(input: Record<string, unknown>, name: string): Promise<Report> {
  const result = await rt.start('WriteOff', { requestedBy: 'back-office', ...input }, name);
  expect(result.status, `${result.error}: ${result.cause}`).toBe('SUCCEEDED');
  return result.output as Report;
}

const selectedBy = async (runId: string) => (await readSelectedCodes(runId)).sort();

beforeAll(async () => {
  rt = await startTestRuntime();
  const imported = await importText(DATASET);
  expect(imported.ok).toBe(true);
});
afterAll(async () => rt?.stop());

describe('WriteOff simulation: selection rules', () => {
  it('selects by issue date (cut-off day included), never gift cards, always respecting exclusions', async () => {
    // act
    const report = await writeOff({ issuedUpTo: '2023-12-31' }, 'sim-issued');
    // assess
    expect(await selectedBy('sim-issued')).toEqual(['T-E', 'V-A', 'V-B', 'V-D']);
    expect(report.outcomes.would_write_off).toEqual({ count: 4, totals: { CHF: 9500, EUR: 2000, JPY: 1234 } });
    expect(report.outcomes['skipped:gift_card']).toEqual({ count: 1, totals: { CHF: 9999 } });
    expect(report.outcomes['skipped:excluded']).toEqual({ count: 1, totals: { CHF: 3000 } });
    expect(report.outcomes['skipped:nothing_remaining']?.count).toBe(1);
    expect(report.outcomes['skipped:issued_after_cutoff']?.count).toBe(2);
    expect(report.outcomes.written_off).toBeUndefined();
  });

  it('selects by expiry: valid until strictly before the date; no validity is never expired', async () => {
    await writeOff({ expiredBefore: '2024-06-01' }, 'sim-expired');
    expect(await selectedBy('sim-expired')).toEqual(['T-E', 'V-A', 'V-C', 'V-I']);
  });

  it('requires both rules when both are given', async () => {
    const report = await writeOff({ issuedUpTo: '2023-12-31', expiredBefore: '2024-06-01' }, 'sim-both');
    expect(await selectedBy('sim-both')).toEqual(['T-E', 'V-A']);
    expect(report.outcomes.would_write_off).toEqual({ count: 2, totals: { CHF: 9500 } });
  });

  it('restricts to the given kinds', async () => {
    const report = await writeOff({ issuedUpTo: '2023-12-31', kinds: ['ticket', 'imported'] }, 'sim-kinds');
    expect(await selectedBy('sim-kinds')).toEqual(['T-E', 'V-D']);
    expect(report.outcomes['skipped:kind_not_selected']?.count).toBe(5);
  });

  it('writes nothing but its run record and file; the file lists the codes, count, totals and checksum', async () => {
    // prepare
    const before = await vouchersTable();
    // act
    const report = await writeOff({ issuedUpTo: '2023-12-31' }, 'sim-file');
    // assess
    expect(await vouchersTable()).toBe(before);
    const run = await new RunRepository().get('sim-file');
    expect(run?.status).toBe('succeeded');
    expect(run?.report?.outcomes).toEqual(report.outcomes);
    const lines = await fileOf('sim-file');
    expect(lines[0]).toBe('Write-off simulation (nothing written off) sim-file');
    expect(lines.slice(2)).toEqual([
      'Codes (first 4 of 4, sorted):',
      'T-E',
      'V-A',
      'V-B',
      'V-D',
      'Count: 4',
      'Total CHF: CHF 95.00 (9500 minor units)',
      'Total EUR: EUR 20.00 (2000 minor units)',
      'Total JPY: JPY 1234 (1234 minor units)',
      `SHA-256: ${sha256(['V-D', 'V-B', 'V-A', 'T-E'])}`,
    ]);
    expect(report.file).toMatchObject({ count: 4, checksum: sha256(['T-E', 'V-A', 'V-B', 'V-D']), location: null });
    expect(report.file.note).toContain('S3 is not emulated locally');
  });
});

describe('WriteOff bad input: clear error at the first state, nothing written', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['no date', { kinds: ['value'] }, 'issuedUpTo: give issuedUpTo and/or expiredBefore'],
    ['a date in the future', { issuedUpTo: '2999-01-01' }, 'issuedUpTo: must not be in the future'],
    ['an invalid calendar date', { expiredBefore: '2024-02-30' }, 'expiredBefore: must be a date YYYY-MM-DD'],
    ['an unknown kind', { issuedUpTo: '2023-12-31', kinds: ['coupon'] }, 'kinds.0: unknown kind "coupon"'],
    ['gift cards', { issuedUpTo: '2023-12-31', kinds: ['value', 'gift_card'] }, 'kinds.1: gift cards are never written off'],
    ['a real run without comment', { issuedUpTo: '2023-12-31', simulate: false }, 'comment: is required for a real run'],
    ['an unknown field', { issuedUpTo: '2023-12-31', dryRun: true }, 'unknown field(s): dryRun'],
    ['an unknown named code', { codes: ['V-A', 'V-NOPE'] }, 'codes.1: no voucher or ticket "V-NOPE"'],
    ['a code named twice', { codes: ['V-A', 'V-A'] }, 'codes.1: names "V-A" twice'],
    ['an empty list of codes', { issuedUpTo: '2023-12-31', codes: [] }, 'codes: name at least one code'],
  ];
  it.each(cases)('refuses %s', async (_label, input, reason) => {
    const before = await vouchersTable();
    const name = `bad-${Math.random().toString(36).slice(2, 8)}`;
    const result = await rt.start('WriteOff', { requestedBy: 'back-office', ...input }, name);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ValidationError');
    expect(result.cause).toContain(reason);
    expect(await new RunRepository().get(name)).toBeUndefined();
    expect(await vouchersTable()).toBe(before);
  });
});

describe('WriteOff real run, re-run, reversal, lookup and statistics', () => {
  it('writes off the remaining value as a redemption by the user write-off and makes the codes unredeemable', async () => {
    // act
    const report = await writeOff({ issuedUpTo: '2023-12-31', simulate: false, comment: 'Year-end write-off 2025' }, 'real-1');
    // assess
    expect(report.outcomes.written_off).toEqual({ count: 4, totals: { CHF: 9500, EUR: 2000, JPY: 1234 } });
    expect(report.outcomes.would_write_off).toBeUndefined();
    const repo = new VoucherRepository();
    const a = await repo.get('V-A');
    expect(a?.remaining).toEqual({ amount: 0, currency: 'CHF' });
    expect(a?.writtenOff).toMatchObject({ runId: 'real-1', comment: 'Year-end write-off 2025' });
    expect(a?.writtenOffAmount).toBe(5000);
    expect(await repo.redemption('V-A', 'real-1')).toMatchObject({ kind: 'write_off', user: 'write-off', amount: { amount: 5000, currency: 'CHF' }, comment: 'Year-end write-off 2025' });
    expect((await repo.get('G-F'))?.writtenOff).toBeNull();
    expect((await repo.get('V-G'))?.remaining.amount).toBe(3000);
    const lines = await fileOf('real-1');
    expect(lines[0]).toBe('Write-off run real-1');
    expect(lines.at(-1)).toBe(`SHA-256: ${sha256(['T-E', 'V-A', 'V-B', 'V-D'])}`);
    const exported = await exportRecords('vouchers', { writtenOff: true });
    expect(exported.map((r) => r.code)).toEqual(['T-E', 'V-A', 'V-B', 'V-D']);
    expect(exported[0]).toMatchObject({ kind: 'ticket', remaining: { amount: 0, currency: 'CHF' }, writtenOff: { runId: 'real-1', comment: 'Year-end write-off 2025' }, writtenOffAmount: { amount: 4500, currency: 'CHF' } });
    expect((await exportRecords('vouchers')).find((r) => r.code === 'V-C')?.writtenOff).toBeNull();
  });

  it('re-running is a no-op for codes already written off', async () => {
    const before = await vouchersTable();
    const report = await writeOff({ issuedUpTo: '2023-12-31', simulate: false, comment: 'again' }, 'real-2');
    expect(report.outcomes.written_off).toBeUndefined();
    expect(report.outcomes['skipped:already_written_off']?.count).toBe(4);
    expect(report.file.count).toBe(0);
    expect(await vouchersTable()).toBe(before);
  });

  it('lookup shows the write-off with comment, date and run id, and the redemption', async () => {
    const found = await lookupVoucher('T-E');
    expect(found).toMatchObject({ code: 'T-E', redeemable: false, writtenOff: { runId: 'real-1', comment: 'Year-end write-off 2025' } });
    expect(found.redemptions).toEqual([expect.objectContaining({ runId: 'real-1', user: 'write-off', amount: { amount: 4500, currency: 'CHF' } })]);
    await expect(lookupVoucher('NOPE')).rejects.toThrow('no voucher or ticket "NOPE"');
  });

  it('reverses one code: value and redeemability restored, reversal recorded, redemption kept', async () => {
    // act
    const result = await rt.start('ReverseWriteOff', { code: 'V-A', reason: 'customer showed the voucher at the counter', requestedBy: 'clerk-3' }, 'rev-1');
    // assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect((result.output as RunReport).outcomes).toEqual({ reversed: { count: 1, totals: { CHF: 5000 } } });
    const found = await lookupVoucher('V-A');
    expect(found).toMatchObject({ remaining: { amount: 5000, currency: 'CHF' }, writtenOff: null, redeemable: true });
    expect(found.redemptions).toHaveLength(1);
    expect(found.reversals).toEqual([expect.objectContaining({ runId: 'rev-1', writeOffRunId: 'real-1', amount: { amount: 5000, currency: 'CHF' }, reason: 'customer showed the voucher at the counter' })]);
  });

  it('refuses to reverse a code that is not written off, an unknown code and bad input', async () => {
    const notWritten = await rt.start('ReverseWriteOff', { code: 'V-A', reason: 'twice', requestedBy: 'clerk-3' }, 'rev-2');
    expect(notWritten.error).toBe('ConflictError');
    expect(notWritten.cause).toContain('"V-A" is not written off');
    const unknown = await rt.start('ReverseWriteOff', { code: 'NOPE', reason: 'x', requestedBy: 'clerk-3' }, 'rev-3');
    expect(unknown.error).toBe('NotFoundError');
    const bad = await rt.start('ReverseWriteOff', { code: 'V-B', requestedBy: 'clerk-3' }, 'rev-4');
    expect(bad.error).toBe('ValidationError');
    expect(bad.cause).toContain('reason: is required');
    for (const name of ['rev-2', 'rev-3', 'rev-4']) expect(await new RunRepository().get(name)).toBeUndefined();
    expect((await new VoucherRepository().get('V-B'))?.writtenOff?.runId).toBe('real-1');
  });

  it('statistics count and total the write-offs per kind, month of issue and currency; redemptions filter to write-offs', async () => {
    const stats = await writeOffStats();
    expect(stats.count).toBe(3);
    expect(stats.byKind).toEqual({
      imported: { count: 1, totals: { JPY: 1234 } },
      package: { count: 1, totals: { EUR: 2000 } },
      ticket: { count: 1, totals: { CHF: 4500 } },
    });
    expect(stats.byIssueMonth).toEqual({
      '2022-01': { count: 1, totals: { JPY: 1234 } },
      '2023-06': { count: 1, totals: { EUR: 2000 } },
      '2023-12': { count: 1, totals: { CHF: 4500 } },
    });
    expect(Object.keys(stats.byCurrency)).toEqual(['CHF', 'EUR', 'JPY']);
    const redemptions = await exportRecords('redemptions', { writtenOff: true, runId: 'real-1' });
    expect(redemptions.map((r) => r.code)).toEqual(['T-E', 'V-A', 'V-B', 'V-D']);
  });
});

describe('WriteOff after a reversal: a reversed code is written off again only by a run that names it', () => {
  it('leaves the reversed code out of a run by date, in the simulation as in the real run; a run naming it writes it off', async () => {
    // prepare: V-A was written off by real-1 and reversed by rev-1 (above); everything else of the cut-off stays written off
    const before = await vouchersTable();
    // act
    const simulated = await writeOff({ issuedUpTo: '2023-12-31' }, 'sim-after-reversal');
    const real = await writeOff({ issuedUpTo: '2023-12-31', simulate: false, comment: 'year-end, again' }, 'real-after-reversal');
    const untouched = await vouchersTable();
    const namedSimulation = await writeOff({ issuedUpTo: '2023-12-31', codes: ['V-A', 'V-C'] }, 'sim-named');
    const named = await writeOff({ codes: ['V-A'], simulate: false, comment: 'reversal was a mistake' }, 'real-named');
    // assess
    for (const report of [simulated, real]) {
      expect(report.outcomes['skipped:reversed']).toEqual({ count: 1, totals: { CHF: 5000 } });
      expect(report.file.count).toBe(0);
    }
    expect(simulated.outcomes.would_write_off).toBeUndefined();
    expect(real.outcomes.written_off).toBeUndefined();
    expect(untouched).toBe(before);
    expect(await selectedBy('sim-named')).toEqual(['V-A']);
    expect(namedSimulation.outcomes['skipped:issued_after_cutoff']?.count).toBe(1); // V-C: named, but issued after the cut-off
    expect(namedSimulation.outcomes['skipped:not_named']?.count).toBeGreaterThan(0);
    expect((await fileOf('sim-named'))[1]).toContain('codes=2 named');
    expect(named.outcomes.written_off).toEqual({ count: 1, totals: { CHF: 5000 } });
    expect(await new VoucherRepository().get('V-A')).toMatchObject({ remaining: { amount: 0, currency: 'CHF' }, writtenOff: { runId: 'real-named', comment: 'reversal was a mistake' } });
    expect(((await lookupVoucher('V-A')).redemptions as { runId: string }[]).map((r) => r.runId).sort()).toEqual(['real-1', 'real-named']);
  });
});

describe('WriteOff file with more than 1,000 codes', () => {
  it('lists the first 1,000 sorted codes and checksums all of them, read back from every segment', async () => {
    // prepare
    const codes = Array.from({ length: 1200 }, (_, i) => `S-${String((i * 7919) % 1200).padStart(4, '0')}`);
    const imported = await importText(codes.map((c) => line(c, 'service', '2019-03-03', '2019-12-31', 1000, 'CHF')).join('\n'));
    expect(imported.ok).toBe(true);
    // act
    const report = await writeOff({ issuedUpTo: '2019-12-31', kinds: ['service'] }, 'sim-big');
    // assess
    const lines = await fileOf('sim-big');
    const listed = lines.filter((l) => l.startsWith('S-'));
    const sorted = [...codes].sort();
    expect(listed).toEqual(sorted.slice(0, 1000));
    expect(lines).toContain('Count: 1200');
    expect(lines).toContain('Total CHF: CHF 12000.00 (1200000 minor units)');
    expect(lines.at(-1)).toBe(`SHA-256: ${sha256(codes)}`);
    expect(report.outcomes.would_write_off?.count).toBe(1200);
  });
});
