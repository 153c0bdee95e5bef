import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PspRefundOutcome, RefundPsp } from '../../../lib/adapters/psp/port.ts';
import { METRIC } from '../../../functions/commons/metric-names.ts';
import { metrics } from '../../../functions/commons/powertools.ts';
import { observed } from '../../../functions/commons/psp.ts';

/** A PSP that answers every credit request with the next of `answers`. */
function pspAnswering(...answers: PspRefundOutcome[]): RefundPsp {
  return {
    name: 'fake',
    refund: async () => answers.shift() ?? { kind: 'succeeded', creditTransactionId: '1' },
    transaction: async () => ({ kind: 'unknown', reason: 'not used' }),
    credit: async () => ({ kind: 'unknown', reason: 'not used' }),
  };
}
const request = { refundId: 'R1', originalTransactionId: 'T1', amount: { amount: 100, currency: 'CHF' }, attempt: 1 };

afterEach(() => vi.restoreAllMocks());

describe("the container's PSP client, observed", () => {
  it('counts a 429 as rate limited and an answer that proves nothing as unknown; a refusal of another kind counts neither', async () => {
    // prepare
    const added = vi.spyOn(metrics, 'addMetric').mockImplementation(() => metrics);
    const psp = observed(
      pspAnswering(
        { kind: 'retryable', reason: 'rate limited (HTTP 429)', cause: 'rate_limited', retryAfterMs: 1000 },
        { kind: 'retryable', reason: 'not sent (ECONNREFUSED)' },
        { kind: 'unknown', reason: 'PSP server error (HTTP 502): may have booked' },
        { kind: 'declined', code: 'EXPIRED_CARD', message: 'expired' },
      ),
      'config-key',
    );
    // act
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push((await psp.refund(request)).kind);
    // assess: the outcomes pass through unchanged, one metric each for the 429 and the unknown
    expect(outcomes).toEqual(['retryable', 'retryable', 'unknown', 'declined']);
    expect(added.mock.calls.map(([name]) => name)).toEqual([METRIC.pspRateLimited, METRIC.pspUnknown]);
  });
});
