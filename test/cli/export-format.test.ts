import { describe, expect, it } from 'vitest';
import { orderFields, toCsv, toJsonl } from '../../lib/cli/export.ts';

describe('export formats', () => {
  it('puts the contract fields first, in the contract order, null when absent', () => {
    const rows = orderFields('refunds', [{ version: 3, status: 'failed', id: 'R1', amount: { amount: 100, currency: 'CHF' }, pspCode: 'EXPIRED_CARD' }]);
    expect(Object.keys(rows[0] ?? {})).toEqual(['id', 'orderId', 'paymentId', 'method', 'amount', 'status', 'reason', 'createdAt', 'pspCode', 'version']);
    expect(rows[0]?.orderId).toBeNull();
  });

  it('writes CSV with the same columns as the JSON Lines, quoting nested values and separators', () => {
    const rows = orderFields('credit-accounts', [{ ownerId: 'C,1', balance: [{ amount: 5, currency: 'EUR' }] }]);
    expect(toCsv(rows)).toBe('ownerId,balance\n"C,1","[{""amount"":5,""currency"":""EUR""}]"\n');
    expect(toJsonl(rows)).toBe('{"ownerId":"C,1","balance":[{"amount":5,"currency":"EUR"}]}\n');
  });
});
