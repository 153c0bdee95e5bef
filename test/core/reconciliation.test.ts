import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Attribution, PspTransactionView } from '../../lib/core/psp-attribution.ts';
import type { LifecycleState } from '../../lib/core/refund-lifecycle.ts';
import {
  attributionOf,
  confirmationOf,
  differenceOf,
  ledgerErrors,
  MAX_DIFFERENCES_IN_STATE,
  notRead,
  pageOwnsTransaction,
  reconcileScope,
  recordPage,
  settlementOf,
  toConfirm,
  transactionsOnPage,
  unreadDifference,
  type ComparedTransaction,
  type Difference,
  type ReconciledRefund,
} from '../../lib/core/reconciliation.ts';

const T0 = Date.parse('2026-07-13T02:00:00Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const MIN = 60_000;
const TIMING = { timeoutMs: 20_000, marginMs: 5 * MIN, unclearToManualMs: 24 * 60 * MIN };

function refund(id: string, over: Partial<ReconciledRefund> = {}): ReconciledRefund {
  return { id, orderId: `O-${id}`, amount: { amount: 1000, currency: 'CHF' }, status: 'unknown', attempt: 1, attemptSentAt: iso(0), lastPspAt: iso(0), createdAt: iso(-MIN), pspTransactionId: 'T1', ...over };
}

function view(credits: PspTransactionView['credits'] = [], over: Partial<PspTransactionView> = {}): PspTransactionView {
  return { currency: 'CHF', settledAmount: 10_000, creditedAmount: credits.reduce((s, c) => s + c.amount, 0), credits, ...over };
}

function attribution(over: Partial<Attribution> = {}): Attribution {
  return { verdicts: new Map(), unexplained: [], missing: [], attributed: new Map(), remaining: 10_000, otherCredits: 0, ...over };
}

describe('what a reconciliation covers', () => {
  it('compares the transactions of refunds ever sent, of one run when asked', () => {
    // prepare
    const sent = refund('A', { status: 'pending', attempt: 2, runIds: ['run-1'] });
    const never = refund('B', { status: 'pending', attempt: 0 });
    const otherRun = refund('C', { status: 'refunded', runIds: ['run-2'] });
    const noTransaction = refund('D', { pspTransactionId: null });
    // act
    const all = transactionsOnPage([sent, never, otherRun, noTransaction], { runId: null });
    const ofRun = transactionsOnPage([sent, never, otherRun], { runId: 'run-1' });
    // assess
    expect(all.onPage.map((r) => r.id)).toEqual(['A', 'C']);
    expect(ofRun.onPage.map((r) => r.id)).toEqual(['A']);
  });

  it('gives each transaction to the page holding its smallest-id refund in scope, whatever the order read', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(['R1', 'R2', 'R3', 'R4', 'R5'], { minLength: 1 }), fc.integer({ min: 1, max: 4 }), (ids, cut) => {
        // prepare: the transaction's refunds spread over two pages
        const related = ids.map((id) => refund(id));
        const pages = [related.slice(0, cut), related.slice(cut)];
        // act
        const owners = pages.map((onPage) => pageOwnsTransaction(related, transactionsOnPage(onPage, { runId: null }).onPage, { runId: null }));
        // assess: exactly one page compares it, the one holding the smallest id
        const smallest = [...ids].sort()[0];
        expect(owners.filter(Boolean)).toHaveLength(1);
        expect(owners[pages.findIndex((p) => p.some((r) => r.id === smallest))]).toBe(true);
        for (const page of pages) if (page.length > 0) expect(transactionsOnPage(page, { runId: null }).transactions.get('T1')?.id).toBe([...page.map((r) => r.id)].sort()[0]);
      }),
    );
  });
});

describe('what reading our credit by id proves', () => {
  const credit = { creditTransactionId: 'C9', type: 'credit', refno: 'REF-A', state: 'booked' as const, failReason: null };

  it('confirms a booked credit with our reference, finds a late failure, else leaves it unverified', () => {
    // act, assess
    expect(confirmationOf('C9', { kind: 'found', credit }, 'REF-A')).toEqual({ outcome: 'confirmed', what: 'confirmed by credit C9' });
    expect(confirmationOf('C9', { kind: 'found', credit: { ...credit, state: 'failed', failReason: 'declined' } }, 'REF-A')).toEqual({
      outcome: 'late_failure',
      code: 'declined',
      creditTransactionId: 'C9',
      what: 'late failure of credit C9 (declined): back to failed for the credit pass, customer told',
    });
    expect(confirmationOf('C9', { kind: 'found', credit }, 'REF-B')).toEqual({ outcome: 'unverified', what: "credit C9 does not carry this refund's reference" });
    expect(confirmationOf('C9', { kind: 'unknown', reason: 'HTTP 502' }, 'REF-A')).toEqual({ outcome: 'unverified', what: 'credit C9 not read: HTTP 502' });
  });

  it('reads the credits of refunds settled within the window only, and only the one refund asked for', () => {
    // prepare
    const recent = refund('A', { status: 'refunded', pspCreditTransactionId: 'C1', settledAt: iso(0) });
    const old = refund('B', { status: 'refunded', pspCreditTransactionId: 'C2', settledAt: iso(-10 * MIN) });
    const noId = refund('C', { status: 'refunded', settledAt: iso(0) });
    // act, assess
    expect(toConfirm([recent, old, noId], iso(-MIN)).map((r) => r.id)).toEqual(['A']);
    expect(toConfirm([recent, old, noId], iso(-20 * MIN), 'B').map((r) => r.id)).toEqual(['B']);
  });
});

describe('what a lookup settles for a refund awaiting it', () => {
  const late = T0 + 60 * MIN;

  it('leaves a live claim to the dispatch and waits until a slow booking must show', () => {
    // prepare
    const claimed = refund('A', { status: 'sending', sending: { leaseUntil: iso(90 * MIN), from: 'pending' } });
    // act, assess
    expect(settlementOf(claimed, attribution(), view(), late, TIMING)).toBeNull();
    expect(notRead(claimed, late, 'HTTP 502')).toBeNull();
    expect(settlementOf(refund('B'), attribution(), view(), T0 + MIN, TIMING)).toEqual({
      outcome: 'too_recent',
      what: `last request too recent to settle (a slow booking may not show yet): reconcile after ${iso(5 * MIN + 20_000)}`,
      write: null,
    });
    expect(notRead(refund('B'), late, 'HTTP 502')).toEqual({ outcome: 'still_unknown', what: 'PSP status not read: HTTP 502' });
  });

  it('writes what the PSP record proves: its credit, nothing booked, a failure, a person, or still unknown', () => {
    // prepare
    const a = (kind: 'credited' | 'not_credited' | 'failed' | 'ambiguous') =>
      attribution({
        verdicts: new Map([
          ['A', kind === 'credited' ? { kind, creditTransactionId: null } : kind === 'failed' ? { kind: 'failed_after_credit', creditTransactionId: null, code: 'failed_after_booking' } : kind === 'ambiguous' ? { kind, reason: 'twins' } : { kind }],
        ]),
      });
    // act, assess
    expect(settlementOf(refund('A'), a('credited'), view(), late, TIMING)?.write).toEqual({ to: 'refunded', creditTransactionId: null });
    expect(settlementOf(refund('A'), a('not_credited'), view(), late, TIMING)).toEqual({
      outcome: 'back_to_pending',
      what: 'not credited at the PSP: back to pending for the next psp pass, same idempotency key',
      write: { to: 'pending', released: 'status lookup: not credited at the PSP', provenNotBooked: true },
    });
    expect(settlementOf(refund('A', { status: 'failed' }), a('not_credited'), view(), late, TIMING)).toMatchObject({ outcome: 'proven_not_booked', write: { to: 'failed', provenNotBooked: true } });
    expect(settlementOf(refund('A'), a('failed'), view(), late, TIMING)?.write).toEqual({
      to: 'failed',
      pspCode: 'failed_after_booking',
      pspMessage: 'the PSP reports the credit failed after booking it',
      refusal: null,
      failedCredit: { creditTransactionId: null, amount: 1000 },
    });
    expect(settlementOf(refund('A'), { ...a('not_credited'), remaining: 500 }, view(), late, TIMING)).toMatchObject({ outcome: 'manual', write: { to: 'manual' } });
    // Unclear: already unknown stays as it is (no write); a released claim is written unknown; a night later, a person decides.
    expect(settlementOf(refund('A'), a('ambiguous'), view(), late, TIMING)).toEqual({ outcome: 'still_unknown', what: 'still unknown: twins', write: null });
    expect(settlementOf(refund('A', { status: 'pending' }), a('ambiguous'), view(), late, TIMING)?.write).toEqual({ to: 'unknown', reason: 'twins' });
    expect(settlementOf(refund('A'), a('ambiguous'), view(), T0 + 25 * 60 * MIN, TIMING)).toMatchObject({ outcome: 'manual', write: { to: 'manual' } });
  });

  it('never writes a refund refunded without a credit the attribution gives it, and never writes a refund too recent or claimed', () => {
    const statusArb = fc.constantFrom<LifecycleState>('unknown', 'sending', 'pending', 'failed');
    fc.assert(
      fc.property(statusArb, fc.integer({ min: 0, max: 3 }), fc.integer({ min: -30, max: 120 }), fc.integer({ min: 0, max: 120 }), (status, creditCount, leaseMin, nowMin) => {
        // prepare: the PSP shows creditCount credits of its amount after its send; the attribution decides
        const r = refund('A', { status, sending: status === 'sending' ? { leaseUntil: iso(leaseMin * MIN), from: 'pending' } : null });
        const v = view(Array.from({ length: creditCount }, (_, i) => ({ amount: 1000, date: iso((i + 1) * MIN), source: 'api' })));
        const attributed = attributionOf(v, [r]);
        const now = T0 + nowMin * MIN;
        // act
        const s = settlementOf(r, attributed, v, now, TIMING);
        // assess
        if (s?.write?.to === 'refunded') expect(attributed.verdicts.get('A')?.kind).toBe('credited');
        if (status === 'sending' && Date.parse(iso(leaseMin * MIN)) > now) expect(s).toBeNull();
        if (s?.outcome === 'too_recent') expect(s.write).toBeNull();
        if (s?.write && 'released' in s.write) expect(creditCount).toBe(0);
      }),
    );
  });
});

describe("our ledger against the PSP's", () => {
  it('lists a refund we hold refunded that the PSP does not show, and every credit our ledger does not explain', () => {
    // prepare
    const held = refund('A', { status: 'refunded' });
    const admin = { amount: 500, date: iso(0), source: 'admin' };
    // act
    const d = differenceOf('T1', [held], attribution({ missing: ['A'], unexplained: [admin] }), view([admin]), false);
    // assess
    expect(d).toEqual({
      transactionId: 'T1',
      currency: 'CHF',
      ours: 1000,
      psp: 500,
      refundIds: ['A:refunded'],
      unexplainedCredits: [admin],
      missing: ['A'],
      note: `1 PSP credit(s) not explained by a refunded refund of ours: 500 on ${iso(0)} (source admin); we hold refunded but the PSP shows no such credit: A`,
    });
    expect(differenceOf('T1', [held], attribution({ attributed: new Map([['A', { amount: 1000, date: null, source: 'api' }]]) }), view(), false)).toBeNull();
  });

  it('counts a credit attributed to a refund no longer refunded as unexplained, and lists every credit when the PSP refused one', () => {
    // prepare
    const credit = { amount: 1000, date: null, source: 'api' };
    const lateFailed = refund('A', { status: 'failed' });
    // act
    const d = differenceOf('T1', [lateFailed], attribution({ attributed: new Map([['A', credit]]) }), view([credit]), false);
    const refused = differenceOf('T1', [refund('B', { refusal: 'not_creditable' })], attribution(), view([credit]), false);
    // assess
    expect(d?.unexplainedCredits).toEqual([credit]);
    expect(refused?.note).toBe('the PSP refused a credit as exceeding what the transaction allows; its credits: 1000 on an unknown date (source api)');
    expect(differenceOf('T1', [refund('C')], attribution(), view(), true)?.unexplainedCredits).toEqual([]);
  });

  it('reports a credit of ours that shows up after its refund went to a person (manual) as a difference, so the operator does not pay it by hand', () => {
    // prepare: the refund went manual while the PSP's records were unclear; its credit booked after all
    const manual = refund('A', { status: 'manual', amount: { amount: 1816, currency: 'CHF' } });
    const ours = { amount: 1816, date: iso(MIN), source: 'api' };
    const backOffice = { amount: 3634, date: iso(-MIN), source: 'admin' };
    const psp = view([backOffice, ours], { creditedAmount: 5450 });
    // act
    const d = differenceOf('T1', [manual], attributionOf(psp, [manual]), psp, false);
    // assess
    expect(d?.refundIds).toEqual(['A:manual']);
    expect(d?.unexplainedCredits).toEqual(expect.arrayContaining([ours]));
    expect(d?.note).toContain('not explained by a refunded refund of ours');
  });

  it('lists a transaction whose status was not read, with what we hold refunded on it', () => {
    // act
    const d = unreadDifference('T1', [refund('A', { status: 'refunded' }), refund('B')], 'HTTP 502');
    // assess
    expect(d).toEqual({ transactionId: 'T1', currency: 'CHF', ours: 1000, psp: null, refundIds: ['A:refunded', 'B:unknown'], unexplainedCredits: [], missing: [], note: 'PSP status not read: HTTP 502' });
    expect(ledgerErrors(0)).toEqual([]);
    expect(ledgerErrors(2)).toEqual([{ code: 'LedgerDifference', message: "2 transaction(s) where our refunds and the PSP's credits differ; see the run log" }]);
  });
});

describe("a page's record", () => {
  const diff = (i: number): Difference => ({ transactionId: `T${i}`, currency: 'CHF', ours: 0, psp: null, refundIds: [], unexplainedCredits: [{ amount: 5, date: null, source: 'admin' }], missing: [], note: 'n' });

  it('writes one run-log line per event and per difference, in the order the transactions finished', () => {
    // prepare
    const compared: ComparedTransaction[] = [
      { transactionId: 'T2', events: [{ refund: refund('A'), outcome: 'refunded', what: 'w' }], difference: null },
      { transactionId: 'T1', events: [], difference: diff(1) },
    ];
    // act
    const record = recordPage({ tallies: {}, differences: [], differenceCount: 0 }, compared);
    // assess
    expect(record.lines).toEqual(['A order=O-A 1000 CHF: w', 'DIFFERENCE transaction T1: ours 0 CHF, PSP unread; n; refunds ', 'PSP CREDIT transaction T1: 5 CHF on unknown date, source admin']);
    expect(record.tallies).toEqual({ transactions_compared: { count: 2, totals: {} }, refunded: { count: 1, totals: { CHF: 1000 } }, difference: { count: 1, totals: {} } });
  });

  it('tallies every event once with its amount, counts every difference and carries at most the first ones', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ events: fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 4 }), differs: fc.boolean() }), { maxLength: 40 }), fc.nat({ max: 30 }), (pages, before) => {
        // prepare
        const compared: ComparedTransaction[] = pages.map((p, i) => ({
          transactionId: `T${i}`,
          events: p.events.map((amount, j) => ({ refund: refund(`R${i}-${j}`, { amount: { amount, currency: 'CHF' } }), outcome: 'refunded', what: 'w' })),
          difference: p.differs ? diff(i) : null,
        }));
        const carried = Array.from({ length: Math.min(before, MAX_DIFFERENCES_IN_STATE) }, (_, i) => diff(1000 + i));
        // act
        const record = recordPage({ tallies: {}, differences: carried, differenceCount: before }, compared);
        // assess
        const amounts = pages.flatMap((p) => p.events);
        const differing = pages.filter((p) => p.differs).length;
        expect(record.tallies['refunded']?.count ?? 0).toBe(amounts.length);
        expect(record.tallies['refunded']?.totals['CHF'] ?? 0).toBe(amounts.reduce((s, a) => s + a, 0));
        expect(record.tallies['transactions_compared']?.count ?? 0).toBe(pages.length);
        expect(record.differenceCount).toBe(before + differing);
        expect(record.differences).toHaveLength(Math.min(MAX_DIFFERENCES_IN_STATE, carried.length + differing));
        expect(record.lines).toHaveLength(amounts.length + 2 * differing);
      }),
    );
  });
});

describe('the window in which a reconciliation confirms credits', () => {
  it('confirms refunded refunds settled within the window before the start, for one run or all', () => {
    // prepare
    const startedAt = '2026-11-29T02:00:00.000Z';
    // act
    const all = reconcileScope(startedAt, null, 7);
    const one = reconcileScope(startedAt, 'run-1', 1);
    // assess
    expect(all).toEqual({ runId: null, since: '2026-11-22T02:00:00.000Z' });
    expect(one).toEqual({ runId: 'run-1', since: '2026-11-28T02:00:00.000Z' });
  });
});
