import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  approvedBy,
  attemptNote,
  claimHeldElsewhere,
  creditNote,
  creditRefusal,
  foldNotes,
  lookupOutcome,
  lookupUndecided,
  passCandidates,
  rateLimited,
  retryWait,
  sendableAfterLookup,
  simulateRefund,
  timeForRetry,
  type PageNote,
  type PageRefund,
} from '../../lib/core/dispatch-pass.ts';

const refund = (over: Partial<PageRefund> = {}): PageRefund => ({ id: 'R1', orderId: 'O1', method: 'card', amount: { amount: 1500, currency: 'CHF' }, status: 'pending', ...over });

describe('a simulation page', () => {
  it('selects a card refund for the psp pass and a voucher-only method for the credit pass, with the run-log line', () => {
    // act
    const card = simulateRefund(refund(), 'fallback');
    const klarna = simulateRefund(refund({ id: 'R2', method: 'klarna' }), 'fallback');
    // assess
    expect(card.note).toEqual({ outcome: 'to_psp', amount: { amount: 1500, currency: 'CHF' }, line: 'R1 order=O1 card 1500 CHF pending -> psp' });
    expect(card.selected).toEqual({ id: 'R1', amount: 1500, currency: 'CHF', status: 'pending', pass: 'psp' });
    expect(klarna.note.outcome).toBe('to_credit');
    expect(klarna.selected?.pass).toBe('credit');
  });

  it('says why no pass touches a refund: in flight, or its status', () => {
    // act
    const sending = simulateRefund(refund({ status: 'sending' }), 'fallback');
    const unknown = simulateRefund(refund({ status: 'unknown' }), 'fallback');
    // assess
    expect(sending).toEqual({ note: { outcome: 'skipped:in_flight', amount: { amount: 1500, currency: 'CHF' }, line: 'R1 order=O1 card 1500 CHF sending -> none' }, selected: null });
    expect(unknown.note.outcome).toBe('skipped:unknown');
  });
});

describe('a real pass', () => {
  it('takes what it selects and every in-flight refund, nothing else', () => {
    // prepare
    const refunds = [refund(), refund({ id: 'R2', method: 'klarna' }), refund({ id: 'R3', status: 'sending' }), refund({ id: 'R4', status: 'unknown' })];
    // act, assess
    expect(passCandidates(refunds, 'psp', 'fallback').map((r) => r.id)).toEqual(['R1', 'R3']);
    expect(passCandidates(refunds, 'credit', 'fallback').map((r) => r.id)).toEqual(['R2', 'R3']);
  });

  it('is approved only by the same amount in the same currency', () => {
    expect(approvedBy({ amount: 1500, currency: 'CHF' }, refund())).toBe(true);
    expect(approvedBy({ amount: 1500, currency: 'EUR' }, refund())).toBe(false);
    expect(approvedBy({ amount: 1499, currency: 'CHF' }, refund())).toBe(false);
    expect(approvedBy(undefined, refund())).toBe(false);
  });

  it('never credits a refund in flight, nor one its simulation did not approve', () => {
    // act
    const inFlight = creditRefusal(refund({ status: 'sending' }), true, 'sim-1');
    const notApproved = creditRefusal(refund({ method: 'klarna' }), false, 'sim-1');
    // assess
    expect(inFlight).toEqual({ outcome: 'skipped:in_flight', amount: { amount: 1500, currency: 'CHF' }, line: 'R1 1500 CHF: in flight at the PSP, not credited; ReconcileRefunds settles it' });
    expect(notApproved?.line).toBe('R1 1500 CHF: not in simulation sim-1 (or amount changed), left pending');
    expect(creditRefusal(refund({ method: 'klarna' }), true, 'sim-1')).toBeNull();
    expect(creditNote({ ...refund({ method: 'klarna' }), ownerKind: 'customer' }, true).line).toBe('R1 order=O1 klarna 1500 CHF pending -> credited to customer account');
    expect(creditNote({ ...refund(), ownerKind: 'customer' }, false)).toMatchObject({ outcome: 'skipped:changed_concurrently', line: 'R1: changed by another run, left as it is' });
  });

  it('folds the notes of a page into the shard tallies and the log lines, in order', () => {
    // prepare
    const notes: PageNote[] = [
      { outcome: 'refunded', amount: { amount: 100, currency: 'EUR' }, line: 'a' },
      { outcome: 'refunded', amount: { amount: 50, currency: 'CHF' }, line: 'b' },
      { outcome: 'declined', amount: { amount: 7, currency: 'CHF' }, line: 'c' },
    ];
    // act
    const { tallies, lines } = foldNotes({ refunded: { count: 1, totals: { CHF: 10 } } }, notes);
    // assess
    expect(tallies).toEqual({ refunded: { count: 3, totals: { CHF: 60, EUR: 100 } }, declined: { count: 1, totals: { CHF: 7 } } });
    expect(lines).toEqual(['a', 'b', 'c']);
  });
});

describe('the psp pass', () => {
  it('leaves a claim alone only while another run holds its lease', () => {
    const now = Date.parse('2026-07-13T10:00:00Z');
    expect(claimHeldElsewhere({ runId: 'other', leaseUntil: '2026-07-13T10:05:00Z' }, now, 'mine')).toBe(true);
    expect(claimHeldElsewhere({ runId: 'mine', leaseUntil: '2026-07-13T10:05:00Z' }, now, 'mine')).toBe(false);
    expect(claimHeldElsewhere({ runId: 'other', leaseUntil: '2026-07-13T10:00:00Z' }, now, 'mine')).toBe(false);
    expect(claimHeldElsewhere(null, now, 'mine')).toBe(false);
  });

  it('names the outcome of every attempt result, a conflict when the claim was resolved elsewhere, and a stop whatever was written', () => {
    // act, assess
    expect(attemptNote({ to: 'refunded', creditTransactionId: 'C1' }, true, 1, 'pending')).toEqual({ outcome: 'refunded', what: 'refunded at the PSP (credit C1)' });
    expect(attemptNote({ to: 'failed', code: 'CARD_EXPIRED', message: 'm' }, true, 1, 'pending')).toEqual({ outcome: 'declined', what: 'declined by the PSP: CARD_EXPIRED' });
    expect(attemptNote({ to: 'unknown', reason: 'HTTP 502', code: null, refusal: null }, true, 2, 'pending').what).toBe(
      'outcome unknown after 2 request(s) (HTTP 502): never sent again nor credited before a status lookup (ReconcileRefunds)',
    );
    expect(attemptNote({ to: 'release', reason: 'not sent', provenNotBooked: true }, true, 6, 'failed')).toEqual({ outcome: 'deferred', what: 'nothing booked (not sent): back to failed for a later pass' });
    expect(attemptNote({ to: 'refunded', creditTransactionId: 'C1' }, false, 1, 'pending')).toEqual({ outcome: 'conflict', what: 'claim resolved elsewhere before the outcome was written' });
    for (const written of [true, false]) {
      expect(attemptNote({ to: 'release_and_stop', httpStatus: 401, reason: 'r', provenNotBooked: true }, written, 1, 'pending')).toEqual({
        outcome: 'deferred:run_stopped',
        what: 'PSP configuration error (HTTP 401): run stopped',
      });
    }
  });

  it('sends after a lookup only a pending or failed refund whose attempt is proven not booked', () => {
    expect(lookupUndecided(undefined)).toBe(true);
    expect(lookupUndecided({ outcome: 'too_recent' })).toBe(true);
    expect(lookupUndecided({ outcome: 'conflict' })).toBe(true);
    expect(lookupUndecided({ outcome: 'back_to_pending' })).toBe(false);
    expect(lookupOutcome({ outcome: 'refunded' })).toBe('refunded');
    expect(lookupOutcome({ outcome: 'back_to_pending' })).toBe('lookup:back_to_pending');
    expect(sendableAfterLookup({ status: 'pending', attemptNotBooked: true })).toBe(true);
    expect(sendableAfterLookup({ status: 'failed', attemptNotBooked: true })).toBe(true);
    expect(sendableAfterLookup({ status: 'pending', attemptNotBooked: null })).toBe(false);
    expect(sendableAfterLookup({ status: 'unknown', attemptNotBooked: true })).toBe(false);
  });

  it('waits Retry-After, else 200 ms doubling up to 10 s, plus a jitter of at most half (100 ms at least)', () => {
    expect(retryWait(1, undefined, 0)).toBe(200);
    expect(retryWait(3, undefined, 0)).toBe(800);
    expect(retryWait(10, undefined, 0)).toBe(10_000);
    expect(retryWait(1, 3000, 0)).toBe(3000);
    expect(retryWait(1, 60_000, 0)).toBe(10_000);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.option(fc.integer({ min: 0, max: 120_000 }), { nil: undefined }), fc.double({ min: 0, max: 0.999_999, noNaN: true }), (n, after, random) => {
        const backoff = Math.min(10_000, after ?? 200 * 2 ** (n - 1));
        const wait = retryWait(n, after, random);
        expect(wait).toBeGreaterThanOrEqual(backoff);
        expect(wait).toBeLessThan(backoff + Math.max(100, backoff / 2));
      }),
    );
  });

  it('tries again only if the outcome can still be written 30 s before the Lambda time-out', () => {
    expect(timeForRetry(31_000, 1000)).toBe(true);
    expect(timeForRetry(30_999, 1000)).toBe(false);
  });

  it('counts a 429 as rate limited, not a request that was never sent', () => {
    expect(rateLimited({ kind: 'retryable', reason: 'rate limited (HTTP 429)', cause: 'rate_limited' })).toBe(true);
    expect(rateLimited({ kind: 'retryable', reason: 'not sent: connection refused' })).toBe(false);
    expect(rateLimited({ kind: 'unknown', reason: 'HTTP 429 then 502' })).toBe(false);
    expect(rateLimited({ kind: 'unknown', reason: 'x', cause: 'refno_in_use' })).toBe(false);
    expect(rateLimited({ kind: 'succeeded' })).toBe(false);
  });
});
