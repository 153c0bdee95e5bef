import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attributeCredits, CLOCK_SKEW_MS, type OurRefundOnTransaction, type PspCreditAction, type PspTransactionView } from '../../lib/core/psp-attribution.ts';

const T0 = Date.parse('2026-07-13T02:00:00Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const MIN = 60_000;

/** One refund of ours on the transaction and the truth about it. */
interface Truth {
  id: string;
  amount: number;
  /**
   * holder: we hold it refunded (its credit booked); booked / not_booked / booked_failed (booked, then failed at the
   * PSP, which we do not know yet): awaiting a lookup; proven: never booked, nothing unproven.
   */
  kind: 'holder' | 'booked' | 'not_booked' | 'booked_failed' | 'proven';
  windowMin: number;
  /** Minutes after the window start its credit is dated (when booked). */
  delayMin: number;
  /** An earlier attempt whose credit failed after booking, this many minutes before the window. */
  earlierFailedMin: number | null;
}

const truthArb = (i: number): fc.Arbitrary<Truth> =>
  fc.record({
    id: fc.constant(`R${i}`),
    amount: fc.constantFrom(500, 1000, 1500),
    kind: fc.constantFrom<Truth['kind']>('holder', 'booked', 'not_booked', 'booked_failed', 'proven'),
    windowMin: fc.integer({ min: 0, max: 600 }),
    delayMin: fc.integer({ min: 0, max: 30 }),
    earlierFailedMin: fc.option(fc.integer({ min: 10, max: 600 }), { nil: null }),
  });
const scenarioArb = fc
  .integer({ min: 1, max: 6 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => truthArb(i))))
  .chain((refunds) =>
    fc.record({
      refunds: fc.constant(refunds),
      admin: fc.array(fc.record({ amount: fc.constantFrom(500, 1000, 250), atMin: fc.integer({ min: -60, max: 700 }) }), { maxLength: 3 }),
      shuffle: fc.integer({ min: 0, max: 1000 }),
    }),
  );

/** The PSP's view of the transaction from the truth: api credits of our bookings (and failed earlier attempts), admin credits. */
function viewOf(s: { refunds: Truth[]; admin: { amount: number; atMin: number }[]; shuffle: number }): PspTransactionView {
  const credits: PspCreditAction[] = [];
  let net = 0;
  for (const r of s.refunds) {
    if (r.kind === 'holder' || r.kind === 'booked' || r.kind === 'booked_failed') {
      credits.push({ amount: r.amount, date: iso((r.windowMin + r.delayMin) * MIN), source: 'api' });
      if (r.kind !== 'booked_failed') net += r.amount;
    }
    if (r.earlierFailedMin !== null) credits.push({ amount: r.amount, date: iso((r.windowMin - r.earlierFailedMin) * MIN), source: 'api' });
  }
  for (const a of s.admin) {
    credits.push({ amount: a.amount, date: iso(a.atMin * MIN), source: 'admin' });
    net += a.amount;
  }
  // The history's order is the PSP's (by date); the attribution must not depend on ours.
  credits.sort((a, b) => Date.parse(a.date as string) - Date.parse(b.date as string) || s.shuffle % 2);
  return { currency: 'CHF', settledAmount: 100_000, creditedAmount: net, credits };
}

function ours(s: { refunds: Truth[] }): OurRefundOnTransaction[] {
  return s.refunds.map((r) => ({
    id: r.id,
    amount: r.amount,
    holdsCredit: r.kind === 'holder',
    failedCredits: r.earlierFailedMin !== null ? [r.amount] : [],
    awaitsLookup: r.kind === 'booked' || r.kind === 'not_booked' || r.kind === 'booked_failed',
    windowFrom: iso(r.windowMin * MIN),
  }));
}

describe('reconciliation attribution', () => {
  it('is never wrong: credited only if it booked, failed only if its credit failed, not credited only if it did not book (else ambiguous, for a person)', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const a = attributeCredits(viewOf(s), ours(s));
        for (const r of s.refunds.filter((x) => x.kind === 'booked' || x.kind === 'not_booked' || x.kind === 'booked_failed')) {
          const v = a.verdicts.get(r.id);
          expect(v, r.id).toBeDefined();
          if (v?.kind === 'credited') expect(r.kind, `${r.id} credited`).toBe('booked');
          if (v?.kind === 'failed_after_credit') expect(r.kind, `${r.id} failed`).toBe('booked_failed');
          if (v?.kind === 'not_credited') expect(r.kind, `${r.id} not credited`).toBe('not_booked');
        }
        expect(a.missing).toEqual([]);
      }),
      { numRuns: 5000 },
    );
  });

  it('never attributes a back-office credit to us: adding admin credits decides nothing differently (at most it leaves a decision to a person), and each is listed as unexplained', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const without = attributeCredits(viewOf({ ...s, admin: [] }), ours(s));
        const withAdmin = attributeCredits(viewOf(s), ours(s));
        for (const [id, v] of withAdmin.verdicts) if (v.kind !== 'ambiguous') expect(v, id).toEqual(without.verdicts.get(id));
        // Without an unexplained failure, back-office credits change nothing at all.
        if (!s.refunds.some((r) => r.kind === 'booked_failed')) expect(Object.fromEntries(withAdmin.verdicts)).toEqual(Object.fromEntries(without.verdicts));
        const listed = withAdmin.unexplained.filter((c) => c.source === 'admin').map((c) => c.amount).sort();
        expect(listed).toEqual(s.admin.map((c) => c.amount).sort());
        expect(withAdmin.otherCredits).toBe(s.admin.reduce((t, c) => t + c.amount, 0));
      }),
      { numRuns: 3000 },
    );
  });

  it('decides a refund alone on its amount: no ambiguity without a twin of the same amount, nor an unknown failure of another amount', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const amounts = s.refunds.map((r) => r.amount);
        const a = attributeCredits(viewOf(s), ours(s));
        const failuresElsewhere = s.refunds.some((x) => x.kind === 'booked_failed');
        for (const r of s.refunds.filter((x) => (x.kind === 'booked' || x.kind === 'not_booked') && amounts.filter((m) => m === x.amount).length === 1)) {
          if (!failuresElsewhere || r.kind === 'not_booked') expect(a.verdicts.get(r.id)?.kind).toBe(r.kind === 'booked' ? 'credited' : 'not_credited');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('tells two refunds of the same amount apart by when they were sent', () => {
    // R1 sent at 02:00 and booked at 02:01; R2 sent at 03:00 and not booked.
    const view = { currency: 'CHF', settledAmount: 10_000, creditedAmount: 1000, credits: [{ amount: 1000, date: iso(1 * MIN), source: 'api' }] };
    const a = attributeCredits(view, [
      { id: 'R1', amount: 1000, holdsCredit: false, failedCredits: [], awaitsLookup: true, windowFrom: iso(0) },
      { id: 'R2', amount: 1000, holdsCredit: false, failedCredits: [], awaitsLookup: true, windowFrom: iso(60 * MIN) },
    ]);
    expect(a.verdicts.get('R1')).toEqual({ kind: 'credited', creditTransactionId: null });
    expect(a.verdicts.get('R2')).toEqual({ kind: 'not_credited' });
    // Sent within the clock allowance of each other, they cannot be told apart.
    const close = attributeCredits(view, [
      { id: 'R1', amount: 1000, holdsCredit: false, failedCredits: [], awaitsLookup: true, windowFrom: iso(0) },
      { id: 'R2', amount: 1000, holdsCredit: false, failedCredits: [], awaitsLookup: true, windowFrom: iso(CLOCK_SKEW_MS / 2) },
    ]);
    expect(close.verdicts.get('R1')?.kind).toBe('ambiguous');
  });

  it('lists api credits beyond ours and our refunded refunds the PSP does not show; says what is left to credit', () => {
    const view = { currency: 'CHF', settledAmount: 5000, creditedAmount: 3000, credits: [{ amount: 1000, date: iso(0), source: 'api' }, { amount: 2000, date: iso(MIN), source: 'api' }] };
    const a = attributeCredits(view, [
      { id: 'R1', amount: 1000, holdsCredit: true, failedCredits: [], awaitsLookup: false, windowFrom: iso(0) },
      { id: 'R2', amount: 700, holdsCredit: true, failedCredits: [], awaitsLookup: false, windowFrom: iso(0) },
    ]);
    expect(a.missing).toEqual(['R2']);
    expect(a.unexplained).toEqual([{ amount: 2000, date: iso(MIN), source: 'api' }]);
    expect(a.remaining).toBe(2000);
  });

  it('a credit that failed after booking, which only one refund of ours can own, failed for that refund; if others could, nobody can tell', () => {
    const view = { currency: 'CHF', settledAmount: 5000, creditedAmount: 0, credits: [{ amount: 1000, date: iso(MIN), source: 'api' }] };
    const alone = attributeCredits(view, [{ id: 'R1', amount: 1000, holdsCredit: false, failedCredits: [], awaitsLookup: true, windowFrom: iso(0) }]);
    expect(alone.verdicts.get('R1')).toEqual({ kind: 'failed_after_credit', creditTransactionId: null, code: 'failed_after_booking' });
    const twoCredits = { ...view, creditedAmount: 1000, credits: [...view.credits, { amount: 1000, date: iso(2 * MIN), source: 'api' }] };
    const unclear = attributeCredits(twoCredits, [
      { id: 'R1', amount: 1000, holdsCredit: false, failedCredits: [], awaitsLookup: true, windowFrom: iso(0) },
      { id: 'R2', amount: 1000, holdsCredit: false, failedCredits: [], awaitsLookup: true, windowFrom: iso(0) },
    ]);
    expect([unclear.verdicts.get('R1')?.kind, unclear.verdicts.get('R2')?.kind]).toEqual(['ambiguous', 'ambiguous']);
  });
});
