import { describe, expect, it } from 'vitest';
import { orderFields, toCsv, toJsonl } from '../../lib/cli/export.ts';

describe('export formats', () => {
  it('puts the contract fields first, in the contract order, null when absent', () => {
    const rows = orderFields('refunds', [{ version: 3, status: 'failed', id: 'R1', amount: { amount: 100, currency: 'CHF' }, pspCode: 'EXPIRED_CARD' }]);
    expect(Object.keys(rows[0] ?? {})).toEqual(['id', 'orderId', 'paymentId', 'method', 'amount', 'status', 'reason', 'createdAt', 'pspCode', 'version']);
    expect(rows[0]?.orderId).toBeNull();
  });

  it('writes CSV with the JSON Lines columns, quoting nested values and separators, a decimal column per currency of a balance', () => {
    const rows = orderFields('credit-accounts', [{ ownerId: 'C,1', balance: [{ amount: 5, currency: 'EUR' }] }]);
    expect(toCsv(rows, { kind: 'credit-accounts' })).toBe('ownerId,balance,balanceEUR\n"C,1","[{""amount"":5,""currency"":""EUR""}]",0.05\n');
    expect(toJsonl(rows)).toBe('{"ownerId":"C,1","balance":[{"amount":5,"currency":"EUR"}]}\n');
  });

  it('puts amounts as decimal columns beside their currency, right after the contract columns, exact to the minor unit', () => {
    // prepare
    const rows = orderFields('refunds', [
      { id: 'R1', amount: { amount: 123456789, currency: 'CHF' }, status: 'refunded', version: 2 },
      { id: 'R2', amount: { amount: 1500, currency: 'JPY' }, status: 'pending', version: 1 },
      { id: 'R3', amount: { amount: 1005, currency: 'KWD' }, status: 'failed', version: 1 },
    ]);
    // act
    const [header, ...lines] = toCsv(rows, { kind: 'refunds' }).trim().split('\n');
    // assess
    expect(header).toBe('id,orderId,paymentId,method,amount,status,reason,createdAt,pspCode,amountDecimal,amountCurrency,version');
    expect(lines[0]).toBe('R1,,,,"{""amount"":123456789,""currency"":""CHF""}",refunded,,,,1234567.89,CHF,2');
    expect(lines[1]).toContain(',1500,JPY,');
    expect(lines[2]).toContain(',1.005,KWD,');
  });

  it('escapes cells a spreadsheet would run as a formula, keeps negative numbers as numbers', () => {
    const rows = [
      { code: '=HYPERLINK("http://evil","x")', note: '+1', who: '@admin', minus: '-cmd', tab: '\tx', amount: '-12.50', n: -3 },
    ];
    expect(toCsv(rows)).toBe(`code,note,who,minus,tab,amount,n\n"'=HYPERLINK(""http://evil"",""x"")",'+1,'@admin,'-cmd,'\tx,-12.50,-3\n`);
  });

  it('starts with a UTF-8 byte order mark when asked (Excel reads umlauts right)', () => {
    const csv = toCsv([{ name: 'Zürich' }], { bom: true });
    expect(csv).toBe('\uFEFFname\nZürich\n');
    expect(Buffer.from(csv, 'utf8').subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  });
});
