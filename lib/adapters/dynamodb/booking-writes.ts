import type { Allocation } from '../../core/allocation.ts';
import type { BookedRefund } from '../../core/booking.ts';
import type { RefundReason, Ticket } from '../../core/model.ts';
import { returnItem } from './accounts.ts';
import type { Item } from './items.ts';
import { orderPk, ticketItem } from './orders.ts';
import { cancellationNoticeItem, outboxMark } from './outbox.ts';
import { refundItem } from './refunds.ts';
import { tableName } from './table-names.ts';

/**
 * The writes of a booking (cancellation, exchange, resale payout), one builder per item kind.
 * The one-transaction booking and the booking in parts use the same builders, so a group order
 * ends with exactly the items a small order gets.
 */
export type Action = Record<string, unknown>;

/** What every write of one booking needs; stored on the cancellation record so any run can finish a booking in parts. */
export interface BookingFacts {
  orderId: string;
  cancellationId: string;
  runId: string;
  at: string;
  reason: RefundReason;
  salesChannel: string;
  pointOfSale: string;
  ownerId: string;
  ownerKind: 'customer' | 'agency';
  agencyId: string | null;
  /** The performance the refunds belong to (a dispatch may take one performance alone); null when the tickets span several. */
  performanceId?: string | null;
  /** A partial refund's percentage in hundredths (what the refund email states). */
  percentHundredths?: number | null;
}

/** An allocation with what its writes need from the payment as it was planned. */
export interface DrawnAllocation extends Allocation {
  refundedBefore: number;
  pspTransactionId: string | null;
}

export function cancellationSk(n: number): string {
  return `CANCELLATION#${String(n).padStart(4, '0')}`;
}


/** A valid or controlled ticket cancelled (an exchange also links it to its replacement). */
export function ticketCancelAction(f: BookingFacts, ticketId: string, replacementId?: string): Action {
  return {
    Update: {
      TableName: tableName('orders'),
      Key: { pk: orderPk(f.orderId), sk: `TICKET#${ticketId}` },
      UpdateExpression: `SET #s = :cancelled, cancelledAt = :at, cancelledByRun = :run${replacementId ? ', replacedByTicketId = :rep' : ''}`,
      ConditionExpression: '#s IN (:valid, :controlled)',
      ExpressionAttributeNames: { '#s': 'state' },
      ExpressionAttributeValues: {
        ':cancelled': 'cancelled',
        ':at': f.at,
        ':run': f.runId,
        ':valid': 'valid',
        ':controlled': 'controlled',
        ...(replacementId ? { ':rep': replacementId } : {}),
      },
    },
  };
}

/** The new ticket of an exchange, issued on the booking's channel and point of sale. */
export function replacementPutAction(f: BookingFacts, replacement: Ticket): Action {
  const { cancelledAt: _c, replacedByTicketId: _r, ...rest } = replacement as Ticket & Item;
  delete rest.cancelledByRun;
  return {
    Put: {
      TableName: tableName('orders'),
      Item: ticketItem(rest as unknown as Ticket, { issuedByRun: f.runId, issuedAt: f.at, salesChannel: f.salesChannel, pointOfSale: f.pointOfSale }),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

export function refundIdOf(f: BookingFacts, paymentId: string): string {
  return `${f.cancellationId}-${paymentId}`;
}

export function bookedRefundOf(f: BookingFacts, a: Allocation): BookedRefund {
  return { id: refundIdOf(f, a.paymentId), paymentId: a.paymentId, method: a.method, amount: a.amount, status: a.destination === 'intermediate_account' ? 'returned_to_account' : 'pending' };
}

/**
 * An allocation's writes: the payment's `refunded` raised (conditioned on the planned value and
 * on the capture), the refund, and for money back on an unsettled intermediate account the
 * agency's ledger item (settled at once; the agency is told, not the ticket holder).
 */
export function allocationActions(f: BookingFacts, a: DrawnAllocation): Action[] {
  const refund = bookedRefundOf(f, a);
  const returned = refund.status === 'returned_to_account';
  const actions: Action[] = [
    {
      Update: {
        TableName: tableName('orders'),
        Key: { pk: orderPk(f.orderId), sk: `PAYMENT#${a.paymentId}` },
        UpdateExpression: 'SET refunded = :new',
        ConditionExpression: 'refunded = :old AND amount >= :new',
        ExpressionAttributeValues: { ':new': a.refundedBefore + a.amount.amount, ':old': a.refundedBefore },
      },
    },
    {
      Put: {
        TableName: tableName('refunds'),
        Item: {
          ...refundItem({
            id: refund.id,
            orderId: f.orderId,
            paymentId: a.paymentId,
            method: a.method,
            amount: a.amount,
            status: refund.status,
            reason: f.reason,
            createdAt: f.at,
            ownerId: f.ownerId,
            ownerKind: f.ownerKind,
            pspTransactionId: a.pspTransactionId,
            createdByRun: f.runId,
            cancellationId: f.cancellationId,
            ...(f.performanceId ? { performanceId: f.performanceId } : {}),
            ...(f.percentHundredths != null ? { percentHundredths: f.percentHundredths } : {}),
          }),
          // Money back on the agency's account is settled at once; the agency is told, not the ticket holder.
          ...(returned ? { settledAt: f.at, settledByRun: f.runId, ...outboxMark({ orderId: f.orderId, ownerId: f.ownerId, ownerKind: f.ownerKind }, 'returned_to_account', refund.id) } : {}),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ];
  if (returned) {
    actions.push({
      Put: {
        TableName: tableName('intermediateAccounts'),
        Item: returnItem({ agencyId: f.agencyId as string, refundId: refund.id, orderId: f.orderId, amount: a.amount, at: f.at, runId: f.runId }),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    });
  }
  return actions;
}

/**
 * The cancellation notice of CancelPerformance `notifyCustomers` (one per order, written with the
 * booking: a re-run finds it booked or books both), or null when none is owed: an agency whose
 * money all went back to its account gets that email instead.
 */
export function cancellationNoticePut(f: BookingFacts, tickets: number, refunds: readonly BookedRefund[], fallbackPerformanceId: string): Action | null {
  const pending = refunds.filter((r) => r.status === 'pending');
  if (refunds.length > 0 && pending.length === 0) return null;
  return {
    Put: {
      TableName: tableName('refunds'),
      Item: cancellationNoticeItem({
        cancellationId: f.cancellationId,
        orderId: f.orderId,
        ownerId: f.ownerId,
        ownerKind: f.ownerKind,
        performanceId: f.performanceId ?? fallbackPerformanceId,
        tickets,
        refund: pending.map((r) => r.amount),
        createdAt: f.at,
        createdByRun: f.runId,
      }),
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

export type { BookedRefund };
