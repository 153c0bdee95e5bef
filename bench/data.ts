/**
 * The bench's performance: one stadium match of N tickets from lib/core/sample-data.ts (about
 * 0.6 N orders, every payment method, agencies, resale payouts), as import text, plus the
 * orders as domain objects for the raw-write baseline.
 */
import type { Order } from '../lib/core/model.ts';
import { generateSampleLines, samplePerformanceIds, type SampleOptions } from '../lib/core/sample-data.ts';

export interface BenchData {
  performanceId: string;
  text: string;
  orders: Order[];
  tickets: number;
  lines: number;
  paymentMethods: Record<string, number>;
  resales: number;
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

interface OrderLine {
  type: 'order';
  id: string;
  customerId?: string;
  agencyId?: string;
  salesChannel: string;
  pointOfSale: string;
  createdAt: string;
  tickets: Omit<Order['tickets'][number], 'orderId'>[];
  fees: Order['fees'];
  payments: (Omit<Order['payments'][number], 'refunded'> & { refunded?: never })[];
}

export function generateBenchData(tickets: number): BenchData {
  const opts = sampleOptionsFor(tickets);
  const [performanceId] = samplePerformanceIds(opts);
  const parts: string[] = [];
  const orders: Order[] = [];
  const paymentMethods: Record<string, number> = {};
  let resales = 0;
  for (const line of generateSampleLines(opts)) {
    parts.push(line);
    if (line.startsWith('{"type":"resale"')) resales++;
    if (!line.startsWith('{"type":"order"')) continue;
    const o = JSON.parse(line) as OrderLine;
    for (const p of o.payments) paymentMethods[p.method] = (paymentMethods[p.method] ?? 0) + 1;
    orders.push({
      id: o.id,
      customerId: o.customerId ?? null,
      agencyId: o.agencyId ?? null,
      salesChannel: o.salesChannel,
      pointOfSale: o.pointOfSale,
      createdAt: o.createdAt,
      tickets: o.tickets.map((t) => ({ ...t, orderId: o.id })),
      fees: o.fees,
      payments: o.payments.map((p) => ({ ...p, refunded: { amount: 0, currency: p.amount.currency } })),
    });
  }
  parts.push('');
  return { performanceId: performanceId as string, text: parts.join('\n'), orders, tickets, lines: parts.length - 1, paymentMethods, resales };
}
