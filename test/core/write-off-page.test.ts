import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Voucher } from '../../lib/core/model.ts';
import { planWriteOffPage, recheckWriteOff, type WriteOffCandidate, type WriteOffPageContext } from '../../lib/core/write-off.ts';

const voucher = (code: string, extra: Partial<WriteOffCandidate> = {}): WriteOffCandidate => ({
  code,
  kind: 'value',
  issuedAt: '2024-01-10',
  validUntil: '2025-01-10',
  remaining: { amount: 2500, currency: 'CHF' },
  writtenOff: null,
  ...extra,
});
const ctx = (over: Partial<WriteOffPageContext> = {}): WriteOffPageContext => ({ runId: 'wo-1', simulate: false, criteria: { issuedUpTo: '2024-12-31' }, excluded: new Set(), ...over });

describe('planning a write-off page', () => {
  it('puts every voucher in exactly one place, and its value in the tallies, whatever the page holds', () => {
    const kinds = fc.constantFrom<Voucher['kind']>('value', 'gift_card', 'ticket');
    const page = fc.uniqueArray(
      fc.record({ code: fc.stringMatching(/^[A-Z]{6}$/), kind: kinds, amount: fc.integer({ min: 0, max: 100_000 }), late: fc.boolean(), mine: fc.boolean() }),
      { selector: (v) => v.code, maxLength: 40 },
    );
    fc.assert(
      fc.property(page, fc.boolean(), (rows, simulate) => {
        // prepare
        const vouchers = rows.map((r) =>
          voucher(r.code, { kind: r.kind, issuedAt: r.late ? '2025-02-01' : '2024-02-01', remaining: { amount: r.mine ? 0 : r.amount, currency: 'CHF' }, ...(r.mine ? { writtenOff: { runId: 'wo-1', comment: '', at: '2026-01-01' }, writtenOffAmount: r.amount } : {}) }),
        );
        // act
        const plan = planWriteOffPage(vouchers, ctx({ simulate }), {});
        // assess: counted once each (to write are counted after their write)
        const counted = Object.values(plan.tallies).reduce((n, t) => n + t.count, 0);
        expect(counted + plan.toWrite.length).toBe(vouchers.length);
        expect(new Set([...plan.selected, ...plan.toWrite.map((v) => v.code)]).size).toBe(plan.selected.length + plan.toWrite.length);
        if (simulate) expect(plan.toWrite).toEqual([]);
        const value = (outcome: string) => plan.tallies[outcome]?.totals['CHF'] ?? 0;
        const expected = vouchers.filter((v) => plan.selected.includes(v.code)).reduce((s, v) => s + (v.writtenOff && !simulate ? (v.writtenOffAmount ?? 0) : v.remaining.amount), 0);
        expect(value(simulate ? 'would_write_off' : 'written_off')).toBe(expected);
      }),
    );
  });

  it('counts a voucher this run already wrote off (a retried page) and never writes it again', () => {
    // prepare
    const mine = voucher('AAA', { writtenOff: { runId: 'wo-1', comment: '', at: '2026-01-01' }, writtenOffAmount: 2500, remaining: { amount: 0, currency: 'CHF' } });
    const other = voucher('BBB', { writtenOff: { runId: 'wo-0', comment: '', at: '2026-01-01' }, remaining: { amount: 0, currency: 'CHF' } });
    // act
    const plan = planWriteOffPage([mine, other, voucher('CCC')], ctx(), {});
    // assess
    expect(plan.selected).toEqual(['AAA']);
    expect(plan.toWrite.map((v) => v.code)).toEqual(['CCC']);
    expect(plan.tallies).toEqual({ written_off: { count: 1, totals: { CHF: 2500 } }, 'skipped:already_written_off': { count: 1, totals: { CHF: 0 } } });
  });
});

describe('rechecking a voucher whose write-off failed a condition', () => {
  it('settles what changed and retries what is still eligible', () => {
    const decided = voucher('AAA');
    expect(recheckWriteOff(undefined, decided, ctx())).toEqual({ written: false, reason: 'vanished', remaining: decided.remaining });
    expect(recheckWriteOff(voucher('AAA', { writtenOff: { runId: 'wo-1', comment: '', at: 'x' }, writtenOffAmount: 2400 }), decided, ctx())).toEqual({ written: true, amount: 2400 });
    expect(recheckWriteOff(voucher('AAA', { writtenOff: { runId: 'wo-9', comment: '', at: 'x' } }), decided, ctx())).toMatchObject({ written: false, reason: 'already_written_off' });
    expect(recheckWriteOff(voucher('AAA', { remaining: { amount: 1000, currency: 'CHF' } }), decided, ctx())).toBe('retry');
  });
});
