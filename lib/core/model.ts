import type { Money } from './money.ts';

/** The domain's records, as the import format and the exports name them (../shared/CONTRACT.md). */

export type TicketState = 'valid' | 'controlled' | 'cancelled';

export const PAYMENT_METHODS = [
  'card',
  'amazon_pay',
  'klarna',
  'sofort',
  'bank_transfer',
  'cash',
  'voucher',
  'credit_account',
  'intermediate_account',
] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** Methods the PSP can refund to the original transaction (seed 000: cards, Amazon Pay). */
export const REFUNDABLE_TO_SOURCE: ReadonlySet<PaymentMethod> = new Set(['card', 'amazon_pay']);

export const VOUCHER_KINDS = ['value', 'package', 'service', 'imported', 'ticket', 'gift_card'] as const;
export type VoucherKind = (typeof VOUCHER_KINDS)[number];

export const REFUND_STATUSES = ['pending', 'refunded', 'failed', 'unknown', 'credited', 'returned_to_account', 'manual'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];
export const REFUND_REASONS = ['cancellation', 'partial_refund', 'resale'] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

export interface Performance {
  id: string;
  name: string;
  /** With the offset of the venue: emails show the date and time as written here. */
  startsAt: string;
  currency: string;
}

export interface Customer {
  id: string;
  email: string;
  language: string;
  name: string;
}

export interface Agency {
  id: string;
  name: string;
  email: string;
  language: string;
}

export interface Ticket {
  id: string;
  orderId: string;
  performanceId: string;
  quota: string;
  seatCategory: string;
  productFamily: string;
  /** Optional price type (adult, child, …); CancelPerformance can filter on it. */
  tariff?: string | null;
  price: Money;
  state: TicketState;
  /** Set on a ticket issued by an exchange (partial refund). */
  replacesTicketId?: string | null;
  /** Set on the old ticket of an exchange. */
  replacedByTicketId?: string | null;
  seat?: string | null;
  /** When the ticket was cancelled (set by a cancellation or an exchange). */
  cancelledAt?: string | null;
}

export interface Fee {
  id: string;
  kind: string;
  amount: Money;
}

export interface Payment {
  id: string;
  method: PaymentMethod;
  amount: Money;
  pspTransactionId?: string | null;
  /** Only for intermediate_account: false while the agency's collective invoice is unpaid. */
  settled?: boolean | null;
  /** Sum of the refunds drawn on this payment so far (all statuses but none undone). */
  refunded: Money;
}

/** Who bought an order, where and when: the fields every copy of an order carries alike. */
export type OrderIdentity = Pick<Order, 'id' | 'customerId' | 'agencyId' | 'salesChannel' | 'pointOfSale' | 'createdAt'>;

/** An order's identity fields, a missing customer or agency as null (as stored and exported). */
export function orderIdentity(o: OrderIdentity): OrderIdentity {
  return { id: o.id, customerId: o.customerId ?? null, agencyId: o.agencyId ?? null, salesChannel: o.salesChannel, pointOfSale: o.pointOfSale, createdAt: o.createdAt };
}

export interface Order {
  id: string;
  customerId?: string | null;
  agencyId?: string | null;
  salesChannel: string;
  pointOfSale: string;
  createdAt: string;
  tickets: Ticket[];
  fees: Fee[];
  payments: Payment[];
  /** Whether fees were already refunded (they are refunded at most once). */
  feesRefunded?: boolean;
}

export interface Refund {
  id: string;
  orderId: string;
  paymentId: string;
  method: PaymentMethod;
  amount: Money;
  status: RefundStatus;
  reason: RefundReason;
  createdAt: string;
  /** Who gets the money or the email: the customer, or the agency for agency orders. */
  ownerId: string;
  ownerKind: 'customer' | 'agency';
  /** The performance of the refunded tickets (absent when they belong to several). */
  performanceId?: string | null;
  pspTransactionId?: string | null;
  pspCode?: string | null;
}

export interface Resale {
  id: string;
  ticketId: string;
  sellerOrderId: string;
  payout: Money;
  resoldAt: string;
}

export interface Voucher {
  code: string;
  kind: VoucherKind;
  issuedAt: string;
  validUntil?: string | null;
  remaining: Money;
  writtenOff?: { runId: string; comment: string; at: string } | null;
  /** Set once a write-off of the code was reversed: the code is then written off again only by a run that names it. */
  lastReversal?: { runId: string; at: string } | null;
}
