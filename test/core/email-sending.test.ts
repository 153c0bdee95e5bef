import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterPage,
  batchesPerExecution,
  claimingRunsNewestFirst,
  dispatchCreditPolicy,
  emailInputOf,
  emailKeyOf,
  emailLine,
  emailsInFlight,
  groupPage,
  noAddressNote,
  noted,
  OUTBOX_SHARDS,
  Pacer,
  pageSizeFor,
  refusalNote,
  sentNote,
  sesStopReason,
  throttleRetryWaitMs,
  type EmailMark,
  type SweepState,
} from '../../lib/core/email-sending.ts';
import { MAX_CARRIED_ERRORS } from '../../lib/core/report.ts';

const mark = (orderId: string, kind: string, ownerId = `C-${orderId}`, ownerKind: 'customer' | 'agency' = 'customer') => ({ orderId, ownerId, ownerKind, kind });

describe('Pacer', () => {
  it('hands out slots at most `rate` a second to concurrent senders, evenly spaced, slowing down when told (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 200 }), fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 59 }), async (rate, arrivals, slowAt) => {
        // prepare: a fake clock; senders ask for a slot at `arrival` ms after the previous one asked
        let clock = 1000;
        const pacer = new Pacer(rate, () => clock, async (ms) => void (clock += ms));
        const slots: number[] = [];
        // act
        for (const [i, gap] of arrivals.entries()) {
          clock += gap;
          if (i === slowAt) pacer.slowDown();
          slots.push(await pacer.slot());
        }
        // assess: in any second from a slot on, at most `rate` slots; never a slot before it was asked for
        for (let i = 0; i < slots.length; i++) {
          const inSecond = slots.filter((t) => t >= slots[i]! && t < slots[i]! + 1000).length;
          expect(inSecond).toBeLessThanOrEqual(rate);
          if (i > 0) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(1000 / rate - 1e-9);
        }
      }),
      // The example: 3 a second summed in floating point once fitted a fourth slot into the first second.
      { numRuns: 200, examples: [[3, [0, 0, 0, 0], 3]] },
    );
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new Pacer(0)).toThrow(RangeError);
  });
});

describe('groupPage', () => {
  it('makes one email per order and kind, one per agency for its returns', () => {
    const page = [mark('O1', 'credited'), mark('O1', 'credited'), mark('O1', 'late_failure'), mark('O2', 'credited'), mark('A', 'returned_to_account', 'AG1', 'agency'), mark('B', 'returned_to_account', 'AG1', 'agency')];
    const { emails, kept } = groupPage(page, false);
    expect(kept).toBe(6);
    expect(emails.map((e) => e.length)).toEqual([2, 1, 1, 2]);
    expect(emailKeyOf(page[4]!)).toBe('agency|AG1');
  });

  it('leaves the marks of the last order and kind for the next page when more follow (property: no order and kind ever split)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.constantFrom('credited', 'refunded_to_card')), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 12 }), (raw, pageSize) => {
        // prepare: marks sorted as the outbox index sorts them (order, then kind)
        const marks = raw.map(([o, k]) => mark(`O${o}`, k)).sort((a, b) => `${a.orderId}#${a.kind}`.localeCompare(`${b.orderId}#${b.kind}`));
        // act: page through them as the sender does
        const emails: (typeof marks)[] = [];
        let at = 0;
        while (at < marks.length) {
          const page = marks.slice(at, at + pageSize);
          const { emails: got, kept } = groupPage(page, at + pageSize < marks.length);
          emails.push(...got);
          at += kept;
        }
        // assess: every mark in exactly one email; an order and kind in one email unless it alone filled a page
        expect(emails.flat()).toHaveLength(marks.length);
        const byKey = new Map<string, number>();
        for (const e of emails) byKey.set(emailKeyOf(e[0]!), (byKey.get(emailKeyOf(e[0]!)) ?? 0) + 1);
        for (const [key, count] of byKey) {
          const size = marks.filter((m) => emailKeyOf(m) === key).length;
          if (size <= pageSize) expect(count, key).toBe(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

const sweepState = (over: Partial<SweepState> = {}): SweepState => ({
  runId: 'R1',
  sendRate: 14,
  shard: 0,
  cursor: null,
  sweep: 1,
  sweepSent: 0,
  sweepDeferred: 0,
  batches: 1,
  done: false,
  stopReason: null,
  tallies: {},
  errors: [],
  moreErrors: 0,
  ...over,
});

const refundMark = (id: string, orderId: string, kind: EmailMark['notification']['kind'], over: Partial<EmailMark['refund']> = {}): EmailMark => ({
  id,
  orderId,
  ownerId: `C-${orderId}`,
  ownerKind: 'customer',
  notification: { kind },
  refund: { amount: { amount: 4500, currency: 'CHF' }, method: 'card', reason: 'cancellation', performanceId: 'P1', percentHundredths: null, pspCode: null, runIds: ['D1'], ...over },
});

const settings = { brand: 'Example Tickets', supportEmail: 'help@example.ch', shopUrl: 'https://tickets.example.ch' };

describe('a batch’s pace and shape', () => {
  it('reads pages sent within about half a batch at the run’s rate, 5 marks at least', () => {
    expect(pageSizeFor(1, 60_000, 200)).toBe(30);
    expect(pageSizeFor(14, 60_000, 200)).toBe(200);
    expect(pageSizeFor(0.5, 1000, 200)).toBe(5);
  });

  it('keeps about a quarter of the rate in flight, shared by the chunks sent together', () => {
    expect(emailsInFlight(14, 3)).toBe(2);
    expect(emailsInFlight(1, 3)).toBe(1);
    expect(emailsInFlight(1000, 3)).toBe(11);
  });

  it('runs about 400 minutes of batches an execution, fewer when the environment says so', () => {
    expect(batchesPerExecution(60, 400)).toBe(400);
    expect(batchesPerExecution(120, 400)).toBe(200);
    expect(batchesPerExecution(1, 3)).toBe(3);
    expect(batchesPerExecution(100_000, 400)).toBe(1);
  });

  it('tries a throttled email three times at most, and only while the time left allows', () => {
    expect(throttleRetryWaitMs(1, 10_000)).toBe(500);
    expect(throttleRetryWaitMs(2, 10_000)).toBe(1000);
    expect(throttleRetryWaitMs(3, 10_000)).toBeNull();
    expect(throttleRetryWaitMs(1, 2000)).toBeNull();
  });
});

describe('afterPage', () => {
  it('goes on in the shard, then the next shard, then sweeps again while a sweep sent or deferred anything (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ more: fc.boolean(), sent: fc.nat(3), deferred: fc.nat(2), stop: fc.integer({ min: 0, max: 19 }).map((n) => n === 0) }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 4 }),
        (pages, maxSweeps) => {
          // prepare: a run at its start
          let s = sweepState();
          for (const p of pages) {
            if (s.done) break;
            const before = s;
            // act
            const { state, waitMs } = afterPage(s, { cursor: p.more ? 'c' : null, sent: p.sent, deferred: p.deferred, stopped: p.stop ? 'SES stopped sending: x' : null }, maxSweeps);
            s = state;
            // assess: a shard in range, a sweep never past the most allowed, a wait only before a sweep of throttled marks
            expect(s.shard).toBeLessThan(OUTBOX_SHARDS);
            expect(s.sweep).toBeLessThanOrEqual(maxSweeps);
            if (p.stop) expect(s).toMatchObject({ done: true, stopReason: 'SES stopped sending: x' });
            else if (p.more) expect(s).toMatchObject({ shard: before.shard, sweep: before.sweep, done: false });
            if (waitMs > 0) expect(s).toMatchObject({ shard: 0, sweep: before.sweep + 1, sweepSent: 0 });
            if (waitMs > 0) expect(before.sweepSent + p.sent).toBe(0);
            if (s.done && !p.stop) expect(before.shard).toBe(OUTBOX_SHARDS - 1);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('ends a run whose last sweep found nothing; keeps throttled marks for the next run past the sweeps allowed', () => {
    const last = sweepState({ shard: OUTBOX_SHARDS - 1 });
    expect(afterPage(last, { cursor: null, sent: 0, deferred: 0, stopped: null }, 20).state).toMatchObject({ done: true, stopReason: null });
    const throttled = afterPage({ ...last, sweep: 3 }, { cursor: null, sent: 0, deferred: 2, stopped: null }, 3);
    expect(throttled.state).toMatchObject({ done: true, stopReason: 'emails still throttled after 3 sweeps: they stay in the outbox for the next run' });
    const again = afterPage({ ...last, sweep: 2 }, { cursor: null, sent: 0, deferred: 2, stopped: null }, 20);
    expect(again).toEqual({ state: { ...last, shard: 0, sweep: 3, sweepSent: 0, sweepDeferred: 0 }, waitMs: 1000 });
    expect(afterPage({ ...last, sweep: 9 }, { cursor: null, sent: 0, deferred: 1, stopped: null }, 20).waitMs).toBe(5000);
    expect(afterPage(last, { cursor: null, sent: 1, deferred: 1, stopped: null }, 20).waitMs).toBe(0);
  });
});

describe('what an email adds to the run', () => {
  it('counts each note, carries 20 errors and only the number of the rest (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ outcome: fc.constantFrom('emails_sent', 'emails_failed', 'ses_throttled'), count: fc.integer({ min: 1, max: 3 }), withError: fc.boolean() }), { maxLength: 60 }), (notes) => {
        // act
        let s = sweepState();
        for (const n of notes) s = noted(s, { outcome: n.outcome, count: n.count, ...(n.withError ? { error: { code: 'EmailRejected', message: 'x' } } : {}) });
        // assess
        for (const outcome of ['emails_sent', 'emails_failed', 'ses_throttled']) {
          const expected = notes.filter((n) => n.outcome === outcome).reduce((a, n) => a + n.count, 0);
          expect(s.tallies[outcome]?.count ?? 0).toBe(expected);
        }
        const errors = notes.filter((n) => n.withError).length;
        expect(s.errors).toHaveLength(Math.min(errors, MAX_CARRIED_ERRORS));
        expect(s.moreErrors).toBe(Math.max(0, errors - MAX_CARRIED_ERRORS));
      }),
    );
  });

  it('names each outcome and its line as the run report and run log always did', () => {
    const marks = [refundMark('R1', 'O1', 'refunded_to_card'), refundMark('R2', 'O1', 'refunded_to_card')];
    expect(emailLine(marks)).toBe('refunded_to_card order=O1 marks=R1,R2');
    expect(sentNote(marks, 'm-1')).toEqual({ outcome: 'emails_sent', line: 'refunded_to_card order=O1 marks=R1,R2: sent (m-1)' });
    expect(noAddressNote(marks)).toEqual({
      outcome: 'emails_failed',
      line: 'refunded_to_card order=O1 marks=R1,R2: not sent, no email address on record',
      error: { code: 'NoEmailAddress', message: 'customer C-O1 (order O1) has no email address: refunded_to_card not sent' },
    });
    expect(refusalNote('throttled', marks, 'Throttling: slow')).toEqual({ outcome: 'emails_deferred', line: 'refunded_to_card order=O1 marks=R1,R2: throttled by SES, back in the outbox (Throttling: slow)' });
    expect(refusalNote('stop', marks, 'B: b', { stopReason: sesStopReason('A: a') })).toMatchObject({ outcome: 'emails_deferred', error: { code: 'SendingStopped', message: 'SES stopped sending: A: a' } });
    expect(refusalNote('unknown', marks, 'TimeoutError: t')).toMatchObject({ outcome: 'emails_unconfirmed', error: { code: 'EmailUnconfirmed' } });
    expect(refusalNote('rejected', marks, 'MessageRejected: no', { givenUp: true })).toEqual({
      outcome: 'emails_failed',
      line: 'refunded_to_card order=O1 marks=R1,R2: refused by SES (MessageRejected: no), given up',
      error: { code: 'EmailRejected', message: 'order O1 refunded_to_card: MessageRejected: no (given up after repeated refusals)' },
    });
    expect(refusalNote('rejected', marks, 'MessageRejected: no').line).toMatch(/retried by a later run$/);
  });
});

describe('emailInputOf', () => {
  const recipient = { email: 'a@example.ch', language: 'fr', name: 'Anne' };
  const events = new Map([['P1', { name: 'Carmen', startsAt: '2026-05-01T20:00:00+02:00' }]]);

  it('lists the refunds of an email with their performance, and a late failure’s credit policy', () => {
    const late = emailInputOf([refundMark('R1', 'O1', 'late_failure', { pspCode: '-1', runIds: ['D1', 'D2'] })], recipient, events, settings, 'never');
    expect(late).toMatchObject({ kind: 'late_failure', language: 'fr', recipientName: 'Anne', recipientKind: 'customer', orderId: 'O1', creditPolicy: 'never' });
    expect(late.refunds).toEqual([{ orderId: 'O1', amount: { amount: 4500, currency: 'CHF' }, method: 'card', reason: 'cancellation', event: events.get('P1'), percentHundredths: null, pspFailed: true }]);
    expect(emailInputOf([refundMark('R1', 'O1', 'late_failure')], recipient, events, settings).creditPolicy).toBe('fallback');
    expect(emailInputOf([refundMark('R1', 'O1', 'credited', { performanceId: null })], recipient, events, settings)).not.toHaveProperty('creditPolicy');
    expect(emailInputOf([refundMark('R1', 'O1', 'credited', { performanceId: null })], recipient, events, settings).refunds[0]?.event).toBeNull();
  });

  it('sums a cancellation notice’s tickets and lists what it will refund', () => {
    const notice = (id: string, tickets: number): EmailMark => ({ id, orderId: 'O1', ownerId: 'C1', ownerKind: 'customer', notification: { kind: 'cancellation_notice' }, notice: { performanceId: 'P1', tickets, refund: [{ amount: 100 * tickets, currency: 'CHF' }] } });
    const input = emailInputOf([notice('N1', 2), notice('N2', 1)], recipient, events, settings);
    expect(input).toMatchObject({ refunds: [], notice: { event: events.get('P1'), tickets: 3, refund: [{ amount: 200, currency: 'CHF' }, { amount: 100, currency: 'CHF' }] } });
  });

  it('takes the credit policy of the last psp dispatch that claimed the refund', () => {
    expect(claimingRunsNewestFirst(refundMark('R1', 'O1', 'late_failure', { runIds: ['S1', 'D1', 'D2'] }))).toEqual(['D2', 'D1', 'S1']);
    expect(dispatchCreditPolicy({ workflow: 'DispatchRefunds', input: { mode: 'psp', creditPolicy: 'always' } })).toBe('always');
    expect(dispatchCreditPolicy({ workflow: 'DispatchRefunds', input: { mode: 'psp', creditPolicy: 'sometimes' } })).toBe('fallback');
    expect(dispatchCreditPolicy({ workflow: 'DispatchRefunds', input: { mode: 'simulate', creditPolicy: 'never' } })).toBeNull();
    expect(dispatchCreditPolicy({ workflow: 'ReconcileRefunds', input: { mode: 'psp' } })).toBeNull();
    expect(dispatchCreditPolicy(undefined)).toBeNull();
  });
});
