import { describe, expect, it } from 'vitest';
import type { DispatchRefund } from '../../../lib/adapters/dynamodb/dispatch-store.ts';
import { PspConfigurationError, type PspRefundOutcome, type RefundPsp } from '../../../lib/adapters/psp/port.ts';
import { pspPass, type PspPassDeps, type PspPassRun } from '../../../lib/services/dispatch/psp-pass.ts';

const NOW = Date.parse('2026-07-13T10:00:00Z');

const refund = (id: string, over: Partial<DispatchRefund> = {}): DispatchRefund =>
  ({ id, orderId: `O-${id}`, paymentId: 'P1', pspTransactionId: 'T1', method: 'card', amount: { amount: 1000, currency: 'CHF' }, status: 'pending', version: 1, ownerId: 'C1', ownerKind: 'customer', ...over }) as DispatchRefund;

/** A PSP that answers from a script per refund, and a store that records its writes: no DynamoDB, no network. */
function fakes(script: Record<string, PspRefundOutcome[]>, opts: { remainingMs?: number; settled?: boolean } = {}) {
  const sent: { refundId: string; attempt: number }[] = [];
  const writes: { id: string; to: string }[] = [];
  const waits: number[] = [];
  const psp: RefundPsp = {
    name: 'fake',
    refund: async (req) => {
      sent.push({ refundId: req.refundId, attempt: req.attempt });
      return script[req.refundId]?.shift() ?? { kind: 'succeeded', creditTransactionId: `C-${req.refundId}` };
    },
    transaction: async () => ({ kind: 'unknown', reason: 'not used' }),
    credit: async () => ({ kind: 'unknown', reason: 'not used' }),
  };
  const deps: PspPassDeps = {
    store: {
      claim: async (r) => r.version + 1,
      settleClaim: async (r, _v, outcome) => {
        writes.push({ id: r.id, to: outcome.to });
        return opts.settled ?? true;
      },
      refundsOfOrder: async () => [],
    },
    orders: { get: async () => undefined },
    psp,
    lookup: async () => ({ events: [], refunds: [] }),
    config: { leaseMs: 900_000, concurrency: 1, maxTries: 6, keyTrustMs: 50 * 60_000 },
    stops: new Map(),
    clock: { now: () => NOW, random: () => 0, sleep: async (ms) => void waits.push(ms) },
    remainingMs: () => opts.remainingMs ?? 600_000,
    afterPspAnswer: () => {},
    logger: { info: () => {} },
  };
  return { deps, sent, writes, waits };
}

const run: PspPassRun = { runId: 'run-1', policy: 'fallback', notify: true, approved: () => true };

describe('the psp pass over a page', () => {
  it('retries a 429 with the same key after its Retry-After and writes the success', async () => {
    // prepare
    const { deps, sent, writes, waits } = fakes({ R1: [{ kind: 'retryable', reason: 'rate limited (HTTP 429)', retryAfterMs: 1500 }] });
    // act
    const notes = await pspPass([refund('R1')], run, deps);
    // assess
    expect(sent).toEqual([{ refundId: 'R1', attempt: 1 }, { refundId: 'R1', attempt: 1 }]);
    expect(waits).toEqual([1500]);
    expect(writes).toEqual([{ id: 'R1', to: 'refunded' }]);
    expect(notes).toEqual([{ outcome: 'refunded', amount: { amount: 1000, currency: 'CHF' }, line: 'R1 order=O-R1 card 1000 CHF: refunded at the PSP (credit C-R1)' }]);
  });

  it('does not wait for a retry when the outcome could not be written before the time-out: released, nothing booked', async () => {
    // prepare
    const { deps, sent, writes } = fakes({ R1: [{ kind: 'retryable', reason: 'rate limited (HTTP 429)' }] }, { remainingMs: 30_000 });
    // act
    const notes = await pspPass([refund('R1')], run, deps);
    // assess
    expect(sent).toHaveLength(1);
    expect(writes).toEqual([{ id: 'R1', to: 'pending' }]);
    expect(notes.map((n) => n.outcome)).toEqual(['deferred']);
  });

  it('stops the run on a configuration error: the claim released, the rest of the page and later pages not sent', async () => {
    // prepare
    const { deps, sent, writes } = fakes({ R1: [{ kind: 'configuration_error', httpStatus: 401, reason: 'unauthorized' }] });
    // act
    const first = pspPass([refund('R1'), refund('R2')], run, deps);
    // assess
    await expect(first).rejects.toBeInstanceOf(PspConfigurationError);
    expect(sent.map((s) => s.refundId)).toEqual(['R1']);
    expect(writes).toEqual([{ id: 'R1', to: 'pending' }]);
    expect(deps.stops.get('run-1')?.httpStatus).toBe(401);
    // A later page of the same run in this container claims nothing.
    await expect(pspPass([refund('R3')], run, deps)).rejects.toBeInstanceOf(PspConfigurationError);
    expect(sent).toHaveLength(1);
  });

  it('leaves a refund another run is sending, and one its simulation did not approve; notes a conflict when the claim moved', async () => {
    // prepare
    const held = refund('R1', { status: 'sending', sending: { runId: 'other', attempt: 1, leaseUntil: '2026-07-13T10:10:00Z', from: 'pending' } });
    const { deps, sent } = fakes({}, { settled: false });
    // act
    const notes = await pspPass([held, refund('R2'), refund('R3')], { ...run, approved: (r) => r.id !== 'R2' }, deps);
    // assess
    expect(notes.map((n) => [n.outcome, n.line])).toEqual([
      ['skipped:in_flight', 'R1 order=O-R1 card 1000 CHF: in flight in run other'],
      ['skipped:not_in_simulation', 'R2 order=O-R2 card 1000 CHF: not in the approved simulation (or amount changed)'],
      ['conflict', 'R3 order=O-R3 card 1000 CHF: claim resolved elsewhere before the outcome was written'],
    ]);
    expect(sent.map((s) => s.refundId)).toEqual(['R3']);
  });
});
