/**
 * The bench's performance: one stadium match of N tickets from lib/local/sample-data.ts (about
 * 0.6 N orders, every payment method, agencies, resale payouts), as import text, plus the
 * orders as domain objects for the raw-write baseline. The group-order variant takes a share of
 * the N tickets out of the sample and sells them as group orders of 100 to 2,000 tickets
 * (supporters' clubs, the away allocation on an agency's account, sponsor blocks, schools).
 */
import { orderIdentity, type Order, type OrderIdentity } from '../lib/core/model.ts';
import { mulberry32 } from '../lib/core/prng.ts';
import { generateSampleLines, samplePerformanceIds, type SampleOptions } from '../lib/local/sample-data.ts';

export interface GroupOrderOptions {
  /** Share of the tickets sold in group orders (0.05 = 5 %). */
  share: number;
  /** Tickets of one group order, at least and at most. */
  min: number;
  max: number;
}

export const DEFAULT_GROUP_ORDERS: GroupOrderOptions = { share: 0.05, min: 100, max: 2000 };

export interface BenchData {
  performanceId: string;
  text: string;
  orders: Order[];
  tickets: number;
  lines: number;
  paymentMethods: Record<string, number>;
  resales: number;
  /** The group orders of the variant: how many, their tickets, the largest. */
  groupOrders?: { orders: number; tickets: number; largest: number; payments: number };
}

export function sampleOptionsFor(tickets: number): SampleOptions {
  return {
    seed: 100_000 + tickets,
    performances: 1,
    ticketsPerPerformance: tickets,
    agencies: 5,
    vouchers: 0,
    exclusions: 0,
    // About one resale per 1,000 tickets, at least a few.
    resales: Math.max(3, Math.floor(tickets / 1000)),
  };
}

/** An order line of the import file (lib/core/import.ts): the order's identity, its tickets without orderId, nothing refunded. */
interface OrderLine extends OrderIdentity {
  type: 'order';
  tickets: Omit<Order['tickets'][number], 'orderId'>[];
  fees: Order['fees'];
  payments: (Omit<Order['payments'][number], 'refunded'> & { refunded?: never })[];
}

/** Group order sizes in [min, max] adding up to `total` (the last one takes what is left under `min`). */
export function groupOrderSizes(total: number, opts: GroupOrderOptions, rng: () => number): number[] {
  const sizes: number[] = [];
  let left = total;
  while (left >= opts.min) {
    const size = Math.min(left, opts.min + Math.floor(rng() * (opts.max - opts.min + 1)));
    sizes.push(size);
    left -= size;
  }
  if (left > 0) {
    if (sizes.length > 0) sizes[sizes.length - 1] = (sizes[sizes.length - 1] as number) + left;
    else sizes.push(left);
  }
  return sizes;
}

/** Group orders on the match, as import lines: card + voucher, agency on account (unsettled and settled), 20 payments, agency by card. */
function* groupOrderLines(performanceId: string, sizes: number[], seed: number): Generator<string> {
  const rng = mulberry32(seed);
  const int = (n: number) => Math.floor(rng() * n);
  const prices: Record<string, number> = { A: 12000, B: 8500, C: 6000, D: 3500 };
  const chf = (amount: number) => ({ amount, currency: 'CHF' });
  let psp = 0;
  const pspTransactionId = () => `99${String(++psp).padStart(16, '0')}`;
  for (const [g, size] of sizes.entries()) {
    const scenario = g % 5;
    const tickets = Array.from({ length: size }, (_, i) => {
      const seatCategory = ['A', 'B', 'C', 'D'][int(4)] as string;
      const r = int(100);
      return {
        id: `G${g + 1}-T${i + 1}`,
        performanceId,
        quota: scenario === 1 || scenario === 4 ? 'away' : g % 2 === 0 ? 'public' : 'sponsor',
        seatCategory,
        productFamily: 'single_entry',
        price: chf(prices[seatCategory] as number),
        state: r < 90 ? 'valid' : r < 98 ? 'controlled' : 'cancelled',
      };
    });
    const fees = scenario === 0 || scenario === 2 ? [{ id: 'F1', kind: 'service_fee', amount: chf(100 * size) }] : [];
    const total = tickets.reduce((s, t) => s + t.price.amount, 0) + fees.reduce((s, f) => s + f.amount.amount, 0);
    let payments: object[];
    let owner: object;
    let channel = { salesChannel: 'web', pointOfSale: 'webshop' };
    const agencyId = `AG${1 + (g % 5)}`;
    if (scenario === 0) {
      const voucher = Math.min(50_000, Math.floor(total / 10));
      payments = [{ id: 'PAY1', method: 'voucher', amount: chf(voucher) }, { id: 'PAY2', method: 'card', amount: chf(total - voucher), pspTransactionId: pspTransactionId() }];
    } else if (scenario === 2) {
      const methods = ['card', 'card', 'voucher', 'card', 'amazon_pay', 'bank_transfer', 'card', 'klarna', 'card', 'voucher', 'card', 'cash', 'card', 'sofort', 'card', 'amazon_pay', 'credit_account', 'card', 'voucher', 'card'];
      const share = Math.floor(total / methods.length);
      payments = methods.map((method, i) => ({
        id: `PAY${i + 1}`,
        method,
        amount: chf(i === methods.length - 1 ? total - share * (methods.length - 1) : share),
        ...(method === 'card' || method === 'amazon_pay' ? { pspTransactionId: pspTransactionId() } : {}),
      }));
    } else if (scenario === 4) {
      payments = [{ id: 'PAY1', method: 'card', amount: chf(total), pspTransactionId: pspTransactionId() }];
    } else {
      payments = [{ id: 'PAY1', method: 'intermediate_account', amount: chf(total), settled: scenario === 3 }];
    }
    if (scenario === 1 || scenario === 3 || scenario === 4) {
      owner = { agencyId };
      channel = { salesChannel: 'agency', pointOfSale: agencyId };
    } else {
      const customerId = `GC${g + 1}`;
      yield JSON.stringify({ type: 'customer', id: customerId, email: `group${g + 1}@example.org`, language: ['de', 'fr', 'it', 'en'][g % 4], name: `Supporters Club ${g + 1}` });
      owner = { customerId };
    }
    yield JSON.stringify({ type: 'order', id: `G${g + 1}`, ...owner, ...channel, createdAt: '2026-05-02T09:00:00Z', tickets, fees, payments });
  }
}

export function generateBenchData(tickets: number, group?: GroupOrderOptions): BenchData {
  const groupTickets = group ? Math.round(tickets * group.share) : 0;
  const opts = sampleOptionsFor(tickets - groupTickets);
  const [performanceId] = samplePerformanceIds(opts);
  const sizes = group && groupTickets > 0 ? groupOrderSizes(groupTickets, group, mulberry32(opts.seed ?? 1)) : [];
  const parts: string[] = [];
  const orders: Order[] = [];
  const paymentMethods: Record<string, number> = {};
  let resales = 0;
  let groupPayments = 0;
  const lines = function* () {
    yield* generateSampleLines(opts);
    yield* groupOrderLines(performanceId as string, sizes, (opts.seed ?? 1) + 7);
  };
  for (const line of lines()) {
    parts.push(line);
    if (line.startsWith('{"type":"resale"')) resales++;
    if (!line.startsWith('{"type":"order"')) continue;
    const o = JSON.parse(line) as OrderLine;
    if (/^G\d+$/.test(o.id)) groupPayments += o.payments.length;
    for (const p of o.payments) paymentMethods[p.method] = (paymentMethods[p.method] ?? 0) + 1;
    orders.push({
      ...orderIdentity(o),
      tickets: o.tickets.map((t) => ({ ...t, orderId: o.id })),
      fees: o.fees,
      payments: o.payments.map((p) => ({ ...p, refunded: { amount: 0, currency: p.amount.currency } })),
    });
  }
  parts.push('');
  const groupOrders = sizes.length ? { orders: sizes.length, tickets: groupTickets, largest: Math.max(...sizes), payments: groupPayments } : undefined;
  return { performanceId: performanceId as string, text: parts.join('\n'), orders, tickets, lines: parts.length - 1, paymentMethods, resales, ...(groupOrders ? { groupOrders } : {}) };
}
