import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAYMENT_METHODS, type PaymentMethod } from '../../lib/core/model.ts';
import {
  CREDIT_POLICIES,
  creditPassSelects,
  exportedStatus,
  FINAL_STATES,
  passFor,
  pspPassSelects,
  transition,
  type LifecycleEvent,
  type LifecycleState,
} from '../../lib/core/refund-lifecycle.ts';

const eventArb: fc.Arbitrary<LifecycleEvent> = fc.oneof(
  fc.constantFrom<LifecycleEvent>(
    { type: 'claim' },
    { type: 'psp_succeeded' },
    { type: 'psp_declined' },
    { type: 'psp_unknown' },
    { type: 'release', to: 'pending' },
    { type: 'release', to: 'failed' },
    { type: 'credit' },
    { type: 'switch_manual' },
    { type: 'reconcile_credited' },
    { type: 'reconcile_not_credited' },
    { type: 'reconcile_failed' },
    { type: 'reconcile_manual' },
    { type: 'reconcile_unclear' },
    { type: 'late_failure' },
    { type: 'return_to_account' },
  ),
);

/** Applies events, ignoring the refused ones (as the store's conditions do), and records money moves. */
function play(events: LifecycleEvent[]) {
  let state: LifecycleState = 'pending';
  const history: LifecycleState[] = [state];
  let ended = 0;
  let moneyAtCard = false;
  let credited = false;
  for (const e of events) {
    const next = transition(state, e);
    if (next === null) continue;
    if (FINAL_STATES.has(next)) ended += 1;
    if (next === 'refunded') moneyAtCard = true;
    if (e.type === 'late_failure' || e.type === 'reconcile_failed') moneyAtCard = false;
    if (next === 'credited') credited = true;
    state = next;
    history.push(state);
  }
  return { state, history, ended, moneyAtCard, credited };
}

describe('refund lifecycle', () => {
  it('never ends a refund twice, and never leaves a final state', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), (events) => {
        const { history, ended } = play(events);
        expect(ended).toBeLessThanOrEqual(1);
        const firstFinal = history.findIndex((s) => FINAL_STATES.has(s));
        if (firstFinal >= 0) expect(history.slice(firstFinal).every((s) => s === history[firstFinal])).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('never has a refund both refunded to the card and credited', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), (events) => {
        const { moneyAtCard, credited, state } = play(events);
        expect(moneyAtCard && credited).toBe(false);
        if (state === 'refunded') expect(credited).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('credits nothing that may be at the PSP: unknown, in flight and refunded refunds are never selected', () => {
    fc.assert(
      fc.property(fc.constantFrom<LifecycleState>('sending', 'unknown', 'refunded', 'credited', 'manual', 'returned_to_account'), fc.constantFrom(...PAYMENT_METHODS), fc.constantFrom(...CREDIT_POLICIES), (status, method, policy) => {
        expect(creditPassSelects({ status, method }, policy)).toBe(false);
        expect(pspPassSelects({ status, method }, policy)).toBe(false);
      }),
    );
  });

  it('selects per credit policy', () => {
    const card = (status: LifecycleState) => ({ status, method: 'card' as PaymentMethod });
    const klarna = { status: 'pending' as const, method: 'klarna' as PaymentMethod };
    // fallback: PSP first, failures and non-refundable methods to credit
    expect(passFor(card('pending'), 'fallback')).toBe('psp');
    expect(pspPassSelects(card('failed'), 'fallback')).toBe(true);
    expect(creditPassSelects(card('failed'), 'fallback')).toBe(true);
    expect(creditPassSelects(card('pending'), 'fallback')).toBe(false);
    expect(passFor(klarna, 'fallback')).toBe('credit');
    // always: no PSP call, card refunds never sent are credited
    expect(pspPassSelects(card('pending'), 'always')).toBe(false);
    expect(passFor(card('pending'), 'always')).toBe('credit');
    // never: PSP failures stay failed
    expect(creditPassSelects(card('failed'), 'never')).toBe(false);
    expect(creditPassSelects(klarna, 'never')).toBe(true);
  });

  it('exports an in-flight claim as pending, or unknown once its lease expired', () => {
    const now = new Date('2026-07-13T10:00:00Z');
    expect(exportedStatus('sending', '2026-07-13T10:05:00Z', now)).toBe('pending');
    expect(exportedStatus('sending', '2026-07-13T09:55:00Z', now)).toBe('unknown');
    expect(exportedStatus('failed', null, now)).toBe('failed');
  });

  it('credits no refund whose last PSP attempt may have booked; sends again a failure whose reference the PSP refuses only never', () => {
    const card = { method: 'card' as PaymentMethod };
    expect(creditPassSelects({ ...card, status: 'failed', attempt: 1, attemptNotBooked: true }, 'fallback')).toBe(true);
    expect(creditPassSelects({ ...card, status: 'failed', attempt: 1, attemptNotBooked: false }, 'fallback')).toBe(false);
    expect(creditPassSelects({ ...card, status: 'failed', attempt: 1 }, 'fallback')).toBe(false); // a record from before the rule: not proven
    expect(creditPassSelects({ ...card, status: 'pending', attempt: 2, attemptNotBooked: false }, 'always')).toBe(false);
    expect(creditPassSelects({ ...card, status: 'pending' }, 'always')).toBe(true);
    expect(pspPassSelects({ ...card, status: 'failed', attempt: 1, attemptNotBooked: true, refusal: 'refno_in_use' }, 'fallback')).toBe(false);
    expect(passFor({ ...card, status: 'failed', attempt: 1, attemptNotBooked: true, refusal: 'refno_in_use' }, 'fallback')).toBe('credit');
  });
});
