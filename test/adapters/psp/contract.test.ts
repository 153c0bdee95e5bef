import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { requestProblems, responseProblems, spec } from './openapi-contract.ts';
import { idempotencyKeyFor, refnoFor } from '../../../lib/adapters/psp/port.ts';

const CREDIT = '/v1/transactions/260501100000000001/credit';
const auth = { authorization: 'Basic MTEwMDAwMDAwMDpzYW5kYm94LXBhc3N3b3Jk', 'content-type': 'application/json; charset=UTF-8' };

describe('the OpenAPI contract checker (built from the spec, not by hand)', () => {
  it('reads the credit and status operations from the spec', () => {
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/transactions/{transactionId}/credit', '/v1/transactions/{transactionId}']));
  });

  it('accepts the spec\'s own credit example and rejects what Datatrans would reject', () => {
    const ok = requestProblems('POST', CREDIT, auth, '{"amount":1000,"currency":"CHF","refno":"3chIjj228"}');
    const fractional = requestProblems('POST', CREDIT, auth, '{"amount":10.5,"currency":"CHF","refno":"x"}');
    const longRefno = requestProblems('POST', CREDIT, auth, JSON.stringify({ amount: 1, currency: 'CHF', refno: 'x'.repeat(41) }));
    const noRefno = requestProblems('POST', CREDIT, auth, '{"amount":1,"currency":"CHF"}');
    const extra = requestProblems('POST', CREDIT, auth, '{"amount":1,"currency":"CHF","refno":"x","refundId":"R1"}');
    const shortId = requestProblems('POST', '/v1/transactions/12345/credit', auth, '{"amount":1,"currency":"CHF","refno":"x"}');
    const noAuth = requestProblems('POST', CREDIT, { 'content-type': 'application/json' }, '{"amount":1,"currency":"CHF","refno":"x"}');

    expect(ok).toEqual([]);
    for (const problems of [fractional, longRefno, noRefno, extra, shortId, noAuth]) expect(problems.length).toBeGreaterThan(0);
  });

  it('checks answers against the documented schema for their status, else the error format', () => {
    expect(responseProblems('POST', CREDIT, 200, '{"transactionId":"240710141416368263","acquirerAuthorizationCode":"141416"}')).toEqual([]);
    expect(responseProblems('POST', CREDIT, 200, '{"transactionId":240710141416368263}').length).toBeGreaterThan(0);
    expect(responseProblems('POST', CREDIT, 400, '{"error":{"code":"NOT_A_CODE","message":"x"}}').length).toBeGreaterThan(0);
    expect(responseProblems('POST', CREDIT, 503, '{"oops":true}').length).toBeGreaterThan(0);
    expect(responseProblems('GET', '/v1/transactions/260501100000000001', 200, '{"transactionId":"260501100000000001","type":"refund"}').length).toBeGreaterThan(0);
  });

  it('every derived refno and idempotency key is valid on the wire, whatever the refund id', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 50 }), (refundId, attempt) => {
        const body = JSON.stringify({ amount: 100, currency: 'CHF', refno: refnoFor(refundId) });
        expect(requestProblems('POST', CREDIT, { ...auth, 'idempotency-key': idempotencyKeyFor(refundId, attempt) }, body)).toEqual([]);
      }),
    );
  });
});
