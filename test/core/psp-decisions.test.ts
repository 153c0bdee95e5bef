import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KEY_TRUST_MS,
  lookupNotBefore,
  lookupTimingOf,
  planSend,
  resolve,
  resultOfTries,
  retriesAfter,
  verdictOfKnownCredit,
  type PspAttemptState,
  type PspRefundOutcome,
  type PspRefusal,
} from '../../lib/core/psp-decisions.ts';
import { creditPassSelects, pspPassSelects, type LifecycleState } from '../../lib/core/refund-lifecycle.ts';

const outcomeArb: fc.Arbitrary<PspRefundOutcome> = fc.oneof(
  fc.constant<PspRefundOutcome>({ kind: 'succeeded', creditTransactionId: '260101000000000001' }),
  fc.constantFrom<PspRefundOutcome>({ kind: 'declined', code: 'EXPIRED_CARD', message: 'expired' }, { kind: 'declined', code: 'TRANSACTION_NOT_FOUND', message: 'x' }),
  fc.constant<PspRefundOutcome>({ kind: 'not_creditable', code: 'INVALID_PROPERTY', message: 'amount exceeds' }),
  fc.constantFrom<PspRefundOutcome>({ kind: 'retryable', reason: 'rate limited (HTTP 429)', retryAfterMs: 1000 }, { kind: 'retryable', reason: 'network error before sending (ECONNREFUSED)' }),
  fc.constantFrom<PspRefundOutcome>(
    { kind: 'unknown', reason: 'PSP server error (HTTP 502)' },
    { kind: 'unknown', reason: 'in flight (HTTP 409)' },
    { kind: 'unknown', reason: 'refno used', code: 'DUPLICATE_REFNO', cause: 'refno_in_use' },
  ),
  fc.constant<PspRefundOutcome>({ kind: 'configuration_error', httpStatus: 401, reason: 'unauthorized' }),
);

describe('what the tries of one attempt prove', () => {
  it('an unclear answer on ANY try makes the refund unknown, unless a try succeeded; a release only when every try booked nothing', () => {
    fc.assert(
      fc.property(fc.array(outcomeArb, { minLength: 1, maxLength: 6 }), fc.boolean(), (tries, fresh) => {
        const result = resultOfTries(tries, fresh);
        const anySuccess = tries.some((t) => t.kind === 'succeeded');
        const anyUnclear = tries.some((t) => t.kind === 'unknown' || t.kind === 'not_creditable');
        if (anySuccess) expect(result.to).toBe('refunded');
        else if (anyUnclear) expect(result.to).toBe('unknown');
        // The tries stop at the first answer that is not "nothing booked, try again": it decides.
        const deciding = tries.find((t) => t.kind !== 'retryable');
        if (result.to === 'release') expect(deciding).toBeUndefined();
        if (result.to === 'release_and_stop') expect(deciding?.kind).toBe('configuration_error');
        if (result.to === 'release' || result.to === 'release_and_stop') expect(result.provenNotBooked).toBe(fresh);
        if (result.to === 'failed') expect(tries.some((t) => t.kind === 'declined')).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('a 409 on an early try is not forgotten when the last try got 429', () => {
    const tries: PspRefundOutcome[] = [{ kind: 'unknown', reason: 'a request with this idempotency key is still in flight (HTTP 409)' }, { kind: 'retryable', reason: 'rate limited (HTTP 429)' }];
    expect(resultOfTries(tries, true)).toMatchObject({ to: 'unknown', reason: expect.stringContaining('409') });
  });

  it('an over-refund refusal and DUPLICATE_REFNO leave the refund unknown with the refusal recorded, never failed', () => {
    expect(resultOfTries([{ kind: 'not_creditable', code: 'INVALID_TRANSACTION_STATUS', message: 'fully credited' }], true)).toMatchObject({ to: 'unknown', refusal: 'not_creditable', code: 'INVALID_TRANSACTION_STATUS' });
    expect(resultOfTries([{ kind: 'unknown', reason: 'refno used', code: 'DUPLICATE_REFNO', cause: 'refno_in_use' }], true)).toMatchObject({ to: 'unknown', refusal: 'refno_in_use' });
  });

  it('only an answer proven to book nothing is tried again', () => {
    fc.assert(fc.property(outcomeArb, (o) => {
      expect(retriesAfter(o)).toBe(o.kind === 'retryable');
    }));
  });
});

const statusArb = fc.constantFrom<LifecycleState>('pending', 'failed', 'unknown', 'sending', 'refunded', 'credited', 'manual', 'returned_to_account');
const attemptStateArb: fc.Arbitrary<PspAttemptState> = fc.record({
  status: statusArb,
  attempt: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
  attemptSentAt: fc.option(fc.integer({ min: 0, max: 4 * 3600_000 }).map((ms) => new Date(Date.parse('2026-07-13T00:00:00Z') + ms).toISOString()), { nil: undefined }),
  attemptNotBooked: fc.option(fc.boolean(), { nil: undefined }),
  refusal: fc.option(fc.constantFrom<PspRefusal>('not_creditable', 'refno_in_use'), { nil: undefined }),
});

describe('when a refund may be sent, and under which key', () => {
  it('a new key only after the previous attempt is proven not booked; an unproven key only while the PSP still keeps it', () => {
    fc.assert(
      fc.property(attemptStateArb, fc.integer({ min: 0, max: 5 * 3600_000 }), (r, offset) => {
        const now = Date.parse('2026-07-13T00:00:00Z') + offset;
        const plan = planSend(r, now);
        const attempt = r.attempt ?? 0;
        if (r.status !== 'pending' && r.status !== 'failed') expect(plan.kind).toBe('none');
        if (plan.kind !== 'send') return;
        if (plan.attempt > Math.max(1, attempt)) expect(attempt >= 1 && r.attemptNotBooked === true && r.status === 'failed').toBe(true);
        if (attempt >= 1 && r.attemptNotBooked !== true) {
          expect(plan.attempt).toBe(attempt);
          expect(plan.fresh).toBe(false);
          expect(now - Date.parse(r.attemptSentAt as string)).toBeLessThan(KEY_TRUST_MS);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a released failed refund keeps its key until its attempt is proven not booked', () => {
    const now = Date.parse('2026-07-13T10:00:00Z');
    const released = { status: 'failed' as const, attempt: 2, attemptSentAt: '2026-07-13T09:30:00Z', attemptNotBooked: false };
    expect(planSend(released, now)).toEqual({ kind: 'send', attempt: 2, fresh: false });
    expect(planSend(released, now + 21 * 60_000)).toMatchObject({ kind: 'lookup_first' });
    expect(planSend({ ...released, attemptNotBooked: true }, now + 21 * 60_000)).toEqual({ kind: 'send', attempt: 3, fresh: true });
    expect(planSend({ status: 'failed', attempt: 1 }, now)).toMatchObject({ kind: 'lookup_first' }); // a record from before the rule
  });

  it('waits for the client time-out and a margin after the last request before a lookup may decide', () => {
    const timing = { timeoutMs: 20_000, marginMs: 300_000 };
    expect(lookupNotBefore({ status: 'unknown', lastPspAt: '2026-07-13T10:00:00Z' }, timing)).toBe(Date.parse('2026-07-13T10:05:20Z'));
    expect(lookupNotBefore({ status: 'sending', lastPspAt: '2026-07-13T09:00:00Z', sending: { leaseUntil: '2026-07-13T10:15:00Z' } }, timing)).toBe(Date.parse('2026-07-13T10:20:20Z'));
  });

  it('takes the lookup timing from the settings: a margin of 0 is allowed, an invalid setting takes its default', () => {
    // prepare
    const defaults = { timeoutMs: 20_000, marginMs: 5 * 60_000, unclearToManualMs: 24 * 3600_000 };
    const set = { MASS_REFUND_PSP_TIMEOUT_MS: '5000', MASS_REFUND_RECONCILE_MARGIN_SECONDS: '0', MASS_REFUND_UNCLEAR_TO_MANUAL_SECONDS: '60' };
    const invalid = { MASS_REFUND_PSP_TIMEOUT_MS: '0', MASS_REFUND_RECONCILE_MARGIN_SECONDS: '-1', MASS_REFUND_UNCLEAR_TO_MANUAL_SECONDS: '1.5' };
    // act, assess
    expect(lookupTimingOf({})).toEqual(defaults);
    expect(lookupTimingOf(set)).toEqual({ timeoutMs: 5000, marginMs: 0, unclearToManualMs: 60_000 });
    expect(lookupTimingOf(invalid)).toEqual(defaults);
    expect(lookupTimingOf({ MASS_REFUND_RECONCILE_MARGIN_SECONDS: '' })).toEqual(defaults);
    expect(lookupTimingOf({ MASS_REFUND_RECONCILE_MARGIN_SECONDS: ' ' })).toEqual(defaults);
  });
});

describe('settling from a lookup', () => {
  it('a credit known by id is ours only with our reference; booked or failed after booking', () => {
    const credit = { creditTransactionId: '260101000000000009', type: 'credit', refno: 'R-1', state: 'booked' as const, failReason: null };
    expect(verdictOfKnownCredit(credit, 'R-1')).toEqual({ kind: 'credited', creditTransactionId: '260101000000000009' });
    expect(verdictOfKnownCredit({ ...credit, state: 'failed', failReason: 'declined' }, 'R-1')).toEqual({ kind: 'failed_after_credit', creditTransactionId: '260101000000000009', code: 'declined' });
    expect(verdictOfKnownCredit(credit, 'R-2').kind).toBe('ambiguous');
    expect(verdictOfKnownCredit({ ...credit, type: 'payment' }, 'R-1').kind).toBe('ambiguous');
    expect(verdictOfKnownCredit({ ...credit, state: 'in_progress' }, 'R-1').kind).toBe('ambiguous');
  });

  it('never sends back to the psp pass what the transaction cannot take, and never credits a refusal without a lookup showing no credit of ours', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<LifecycleState>('unknown', 'sending', 'pending', 'failed'),
        fc.option(fc.constantFrom<PspRefusal>('not_creditable', 'refno_in_use'), { nil: null }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: null }),
        fc.integer({ min: 0, max: 5000 }),
        (status, refusal, amount, remaining, otherCredits) => {
          const resolution = resolve({ status, refusal, amount, attempt: 1 }, { kind: 'not_credited' }, { remaining, otherCredits });
          if (remaining !== null && remaining < amount) expect(resolution.to).toBe('manual');
          if (resolution.to === 'proven') expect(refusal).toBeNull();
          if (refusal === 'refno_in_use' && resolution.to === 'failed') expect(resolution.refusal).toBe('refno_in_use');
        },
      ),
    );
    expect(resolve({ status: 'unknown', amount: 100 }, { kind: 'credited', creditTransactionId: null }, { remaining: 0, otherCredits: 0 })).toEqual({ to: 'refunded', creditTransactionId: null });
    expect(resolve({ status: 'unknown', amount: 100 }, { kind: 'ambiguous', reason: 'two' }, { remaining: 500, otherCredits: 0 })).toEqual({ to: 'unknown', reason: 'two' });
    // Unclear for a night: a person decides, nothing is paid on a guess.
    expect(resolve({ status: 'unknown', amount: 100 }, { kind: 'ambiguous', reason: 'two' }, { remaining: 500, otherCredits: 0 }, { forMs: 25 * 3600_000, manualAfterMs: 24 * 3600_000 })).toMatchObject({
      to: 'manual',
      reason: expect.stringContaining('cannot tell'),
    });
  });
});

/**
 * A model of the whole money path against an unkind PSP: it may book and then answer 5xx, book
 * late (within the client time-out), forget keys after 60 minutes, refuse an over-refund; time
 * jumps by up to two hours between steps. The operator runs psp passes, reconciliations and credit
 * passes in any order. Whatever happens: at most one booking, never booked and credited, and with
 * calm rounds at the end every refund ends.
 */
describe('the dispatch rules against an unkind PSP (model)', () => {
  type Behaviour = 'ok' | 'booked_5xx' | 'booked_timeout' | 'not_booked_5xx' | 'rate_limited' | 'not_sent' | 'decline' | 'unauthorized';
  const behaviourArb = fc.constantFrom<Behaviour>('ok', 'booked_5xx', 'booked_timeout', 'not_booked_5xx', 'rate_limited', 'not_sent', 'decline', 'unauthorized');
  type Step = { op: 'psp'; answers: Behaviour[]; lateMs: number } | { op: 'reconcile' } | { op: 'credit' } | { op: 'wait'; ms: number };
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ op: fc.constant('psp' as const), answers: fc.array(behaviourArb, { minLength: 1, maxLength: 4 }), lateMs: fc.integer({ min: 0, max: 20_000 }) }),
    fc.constant<Step>({ op: 'reconcile' }),
    fc.constant<Step>({ op: 'credit' }),
    fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 2 * 3600_000 }) }),
  );
  const TTL = 60 * 60_000;
  const timing = { timeoutMs: 20_000, marginMs: 300_000 };

  /** Where a refund starts: new, or a record from before these rules (released after a 5xx that may have booked). */
  type Start = { kind: 'new' } | { kind: 'legacy'; status: 'pending' | 'failed'; sentAgoMs: number | null; booked: boolean };
  const startArb: fc.Arbitrary<Start> = fc.oneof(
    fc.constant<Start>({ kind: 'new' }),
    fc.record({ kind: fc.constant('legacy' as const), status: fc.constantFrom<'pending' | 'failed'>('pending', 'failed'), sentAgoMs: fc.option(fc.integer({ min: 0, max: 3 * 3600_000 }), { nil: null }), booked: fc.boolean() }),
  );

  function play(start: Start, steps: Step[], settled: number) {
    let now = Date.parse('2026-07-13T00:00:00Z');
    const iso = () => new Date(now).toISOString();
    const r: PspAttemptState & { lastPspAt?: string; amount: number; pspCode?: string } = { status: 'pending', amount: 1000 };
    const keys = new Map<number, { at: number; answer: 'ok' | 'decline' }>(); // attempt -> stored result
    const bookings: number[] = []; // when each booking lands
    if (start.kind === 'legacy') {
      const sentAt = now - (start.sentAgoMs ?? 3 * 3600_000);
      Object.assign(r, { status: start.status, attempt: 1, lastPspAt: new Date(sentAt).toISOString(), ...(start.sentAgoMs !== null ? { attemptSentAt: new Date(sentAt).toISOString() } : {}) });
      if (start.booked) {
        bookings.push(sentAt);
        keys.set(1, { at: sentAt, answer: 'ok' });
      }
    }
    let credited = false;
    const settledBookings = () => bookings.filter((t) => t <= now).length;

    const sendOnce = (attempt: number, b: Behaviour, lateMs: number): PspRefundOutcome => {
      const stored = keys.get(attempt);
      if (stored && now - stored.at < TTL) {
        if (b === 'rate_limited' || b === 'not_sent' || b === 'unauthorized') return b === 'unauthorized' ? { kind: 'configuration_error', httpStatus: 401, reason: 'x' } : { kind: 'retryable', reason: b };
        if (b === 'booked_5xx' || b === 'not_booked_5xx') return { kind: 'unknown', reason: 'replay behind a 502' };
        return stored.answer === 'ok' ? { kind: 'succeeded', creditTransactionId: '1' } : { kind: 'declined', code: 'EXPIRED_CARD', message: 'x' };
      }
      switch (b) {
        case 'rate_limited':
        case 'not_sent':
          return { kind: 'retryable', reason: b };
        case 'unauthorized':
          return { kind: 'configuration_error', httpStatus: 401, reason: 'x' };
        case 'not_booked_5xx':
          return { kind: 'unknown', reason: 'HTTP 503' };
        case 'decline':
          keys.set(attempt, { at: now, answer: 'decline' });
          return { kind: 'declined', code: 'EXPIRED_CARD', message: 'x' };
      }
      // A booking: refused if the transaction cannot take it any more (its settled amount is 1000 or 2000).
      if ((bookings.length + 1) * r.amount > settled) return { kind: 'not_creditable', code: 'INVALID_TRANSACTION_STATUS', message: 'fully credited' };
      bookings.push(now + (b === 'ok' ? 0 : lateMs));
      keys.set(attempt, { at: now, answer: 'ok' });
      return b === 'ok' ? { kind: 'succeeded', creditTransactionId: '1' } : { kind: 'unknown', reason: b };
    };

    const lookup = () => {
      if (now < lookupNotBefore(r, timing)) return;
      const booked = settledBookings() > 0;
      const resolution = resolve({ ...r, amount: r.amount }, booked ? { kind: 'credited', creditTransactionId: null } : { kind: 'not_credited' }, { remaining: settled - settledBookings() * r.amount, otherCredits: 0 });
      switch (resolution.to) {
        case 'refunded':
          r.status = 'refunded';
          break;
        case 'proven':
          r.status = resolution.status;
          r.attemptNotBooked = true;
          break;
        case 'failed':
          r.status = 'failed';
          r.attemptNotBooked = true;
          r.refusal = resolution.refusal;
          break;
        case 'manual':
          r.status = 'manual';
          break;
        case 'unknown':
          r.status = 'unknown';
          break;
      }
      r.lastPspAt = iso();
    };

    const pspPass = (answers: Behaviour[], lateMs: number) => {
      if (!pspPassSelects({ ...r, method: 'card' }, 'fallback')) return;
      let plan = planSend(r, now);
      if (plan.kind === 'lookup_first') {
        lookup();
        plan = planSend(r, now);
      }
      if (plan.kind !== 'send') return;
      const from = r.status as 'pending' | 'failed';
      r.attempt = plan.attempt;
      r.attemptNotBooked = false;
      if (plan.fresh) r.attemptSentAt = iso();
      const tries: PspRefundOutcome[] = [];
      for (const b of answers) {
        tries.push(sendOnce(plan.attempt, b, lateMs));
        if (!retriesAfter(tries[tries.length - 1] as PspRefundOutcome)) break;
      }
      const result = resultOfTries(tries, plan.fresh);
      r.lastPspAt = iso();
      switch (result.to) {
        case 'refunded':
          r.status = 'refunded';
          break;
        case 'failed':
          r.status = 'failed';
          r.attemptNotBooked = true;
          r.pspCode = result.code;
          break;
        case 'unknown':
          r.status = 'unknown';
          r.refusal = result.refusal;
          break;
        default:
          r.status = from;
          r.attemptNotBooked = result.provenNotBooked;
      }
    };

    for (const step of steps) {
      if (step.op === 'wait') now += step.ms;
      else if (step.op === 'reconcile') {
        if (r.status === 'unknown' || ((r.status === 'pending' || r.status === 'failed') && r.attemptNotBooked !== true && (r.attempt ?? 0) > 0)) lookup();
      } else if (step.op === 'psp') pspPass(step.answers, step.lateMs);
      else if (creditPassSelects({ ...r, method: 'card' }, 'fallback') && r.status === 'failed') {
        expect(settledBookings() + bookings.filter((t) => t > now).length, 'credited while a booking exists').toBe(0);
        r.status = 'credited';
        credited = true;
      }
      expect(bookings.length, 'booked twice').toBeLessThanOrEqual(1);
      expect(bookings.length > 0 && credited, 'booked and credited').toBe(false);
    }
    // Calm rounds: the operator waits, reconciles, sends, credits: every refund ends.
    for (let i = 0; i < 4 && !['refunded', 'credited', 'manual'].includes(r.status); i++) {
      now += 3600_000;
      if (r.status === 'unknown' || ((r.status === 'pending' || r.status === 'failed') && r.attemptNotBooked !== true && (r.attempt ?? 0) > 0)) lookup();
      pspPass(['ok'], 0);
      if (creditPassSelects({ ...r, method: 'card' }, 'fallback') && r.status === 'failed') {
        r.status = 'credited';
        credited = true;
      }
    }
    return { r, bookings, credited };
  }

  it('never books twice, never books and credits, and every refund ends', () => {
    fc.assert(
      fc.property(startArb, fc.array(stepArb, { maxLength: 30 }), fc.constantFrom(1000, 2000), (start, steps, settled) => {
        const { r, bookings, credited } = play(start, steps, settled);
        expect(bookings.length).toBeLessThanOrEqual(1);
        expect(bookings.length > 0 && credited).toBe(false);
        expect(['refunded', 'credited', 'manual']).toContain(r.status);
        if (r.status === 'refunded') expect(bookings.length).toBe(1);
        if (r.status === 'credited') expect(bookings.length).toBe(0);
      }),
      { numRuns: 3000 },
    );
  });
});
