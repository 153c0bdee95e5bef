import { newTransactionId } from './dispatch-fixtures.ts';

/**
 * Group orders, too large for one DynamoDB transaction, every id prefixed so one test file can
 * import several independent copies. Owners' emails are `<owner id, lower case>@example.org`
 * (as assertConsistent expects). Performances: `P1` (the match), `P2` (an interrupted match).
 *  CARD240    240 tickets on P1, paid by a voucher (listed first) and a card, service fees; some scanned, 2 cancelled
 *  AGENCY130  130 tickets on P1 bought on account by an agency whose collective invoice is unpaid
 *  PR160      160 tickets on P2 (for a partial refund), card + Klarna, a quarter scanned
 *  BIG2000    2,000 tickets on P1 paid by 20 payments of 8 methods, 20 tickets cancelled before
 *  S1..Sn     one-ticket card orders on P1 (the fast path beside the group orders)
 */
export type GroupOrderName = 'CARD240' | 'AGENCY130' | 'PR160' | 'BIG2000';

export interface GroupDatasetOptions {
  orders: GroupOrderName[];
  small?: number;
}

const PRICES = [12000, 8500, 6000, 3500, 9000, 4750];

export function groupOrderDataset(p: string, opts: GroupDatasetOptions): string {
  const chf = (amount: number) => ({ amount, currency: 'CHF' });
  const lines: object[] = [
    { type: 'performance', id: `${p}P1`, name: 'FC Example - FC Sample', startsAt: '2026-07-12T18:00:00+02:00', currency: 'CHF' },
    { type: 'performance', id: `${p}P2`, name: 'FC Sample - FC Example', startsAt: '2026-07-19T18:00:00+02:00', currency: 'CHF' },
    { type: 'customer', id: `${p}C1`, email: `${p.toLowerCase()}c1@example.org`, language: 'de', name: 'Supporters Club Nord' },
    { type: 'customer', id: `${p}C2`, email: `${p.toLowerCase()}c2@example.org`, language: 'fr', name: 'École des Exemples' },
    { type: 'agency', id: `${p}AG1`, name: 'Away Club Tickets', email: `${p.toLowerCase()}ag1@example.org`, language: 'en' },
  ];
  const tickets = (prefix: string, perf: string, n: number, stateOf: (i: number) => string = () => 'valid') =>
    Array.from({ length: n }, (_, i) => ({
      id: `${p}${prefix}-T${String(i + 1).padStart(4, '0')}`,
      performanceId: `${p}${perf}`,
      quota: i % 5 === 0 ? 'sponsor' : 'public',
      seatCategory: ['A', 'B', 'C', 'D'][i % 4] as string,
      productFamily: 'single_entry',
      price: chf(PRICES[i % PRICES.length] as number),
      state: stateOf(i),
    }));
  const sumOf = (ts: { price: { amount: number } }[]) => ts.reduce((s, t) => s + t.price.amount, 0);
  const order = (id: string, owner: object, ts: object[], payments: object[], fees: object[] = [], salesChannel = 'web') => ({
    type: 'order',
    id: `${p}${id}`,
    ...owner,
    salesChannel,
    pointOfSale: salesChannel === 'agency' ? `${p}AG1` : 'webshop',
    createdAt: '2026-05-01T10:00:00Z',
    tickets: ts,
    fees,
    payments,
  });
  const want = new Set(opts.orders);
  if (want.has('CARD240')) {
    const ts = tickets('CARD240', 'P1', 240, (i) => (i === 7 || i === 77 ? 'cancelled' : i % 10 === 3 ? 'controlled' : 'valid'));
    const fees = [{ id: 'F1', kind: 'service_fee', amount: chf(250 * 240) }];
    const total = sumOf(ts) + 250 * 240;
    lines.push(order('CARD240', { customerId: `${p}C1` }, ts, [{ id: 'PAY1', method: 'voucher', amount: chf(150_000) }, { id: 'PAY2', method: 'card', amount: chf(total - 150_000), pspTransactionId: newTransactionId() }], fees));
  }
  if (want.has('AGENCY130')) {
    const ts = tickets('AGENCY130', 'P1', 130);
    lines.push(order('AGENCY130', { agencyId: `${p}AG1` }, ts, [{ id: 'PAY1', method: 'intermediate_account', amount: chf(sumOf(ts)), settled: false }], [], 'agency'));
  }
  if (want.has('PR160')) {
    const ts = tickets('PR160', 'P2', 160, (i) => (i % 4 === 1 ? 'controlled' : 'valid'));
    const total = sumOf(ts);
    lines.push(order('PR160', { customerId: `${p}C2` }, ts, [{ id: 'PAY1', method: 'card', amount: chf(total - 200_000), pspTransactionId: newTransactionId() }, { id: 'PAY2', method: 'klarna', amount: chf(200_000) }]));
  }
  if (want.has('BIG2000')) {
    const ts = tickets('BIG2000', 'P1', 2000, (i) => (i % 100 === 50 ? 'cancelled' : i % 7 === 0 ? 'controlled' : 'valid'));
    const fees = [{ id: 'F1', kind: 'service_fee', amount: chf(100 * 2000) }];
    const total = sumOf(ts) + 100 * 2000;
    const methods = ['voucher', 'card', 'card', 'bank_transfer', 'card', 'amazon_pay', 'card', 'klarna', 'card', 'voucher', 'card', 'cash', 'card', 'amazon_pay', 'sofort', 'card', 'credit_account', 'voucher', 'klarna', 'bank_transfer'];
    const share = Math.floor(total / methods.length);
    const payments = methods.map((method, i) => ({
      id: `PAY${i + 1}`,
      method,
      amount: chf(i === methods.length - 1 ? total - share * (methods.length - 1) : share),
      ...(method === 'card' || method === 'amazon_pay' ? { pspTransactionId: newTransactionId() } : {}),
    }));
    lines.push(order('BIG2000', { customerId: `${p}C1` }, ts, payments, fees));
  }
  for (let i = 1; i <= (opts.small ?? 0); i++) {
    const ts = tickets(`S${i}`, 'P1', 1);
    lines.push(order(`S${i}`, { customerId: `${p}C2` }, ts, [{ id: 'PAY1', method: 'card', amount: chf(sumOf(ts)), pspTransactionId: newTransactionId() }]));
  }
  return `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`;
}
