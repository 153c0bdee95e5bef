import { QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PspRefusal } from '../../core/psp-decisions.ts';
import type { LifecycleState } from '../../core/refund-lifecycle.ts';
import type { NotificationKind } from '../../core/refund-emails.ts';
import { documentClient } from './client.ts';
import { isConditionFailure, queryAll, type Item } from './items.ts';
import { outboxMark, type Notification } from './outbox.ts';
import type { Refund } from '../../core/model.ts';
import { refundFromItem, refundKey, shardOf } from './refunds.ts';
import { INDEX, OPEN_REFUND_SHARDS, tableName } from './table-names.ts';

/**
 * The dispatch's writes on refunds. Every move is conditional on status and version (the
 * optimistic lock), so two runs, a retried Lambda or a re-run never move a refund twice.
 * The credit pass's writes are in refund-credits.ts, a simulation's selection in simulation-selection.ts.
 */

export { OUTBOX_SHARDS } from './outbox.ts';

/** The in-flight claim of a PSP request (status `sending`). */
export interface SendingClaim {
  runId: string;
  attempt: number;
  leaseUntil: string;
  /** Where a released claim goes back to. */
  from: 'pending' | 'failed';
}

export interface DispatchRefund extends Omit<Refund, 'status'> {
  status: LifecycleState;
  version: number;
  createdByRun?: string | null;
  settledByRun?: string | null;
  settledAt?: string | null;
  pspCreditTransactionId?: string | null;
  runIds?: string[];
  sending?: SendingClaim | null;
  /** The attempt of the last PSP request (0/absent: never sent). */
  attempt?: number | null;
  /** When the current attempt was first sent since it was last proven not booked (psp-decisions.ts). */
  attemptSentAt?: string | null;
  /** The current attempt is proven not booked (absent on records written before this rule: not proven). */
  attemptNotBooked?: boolean | null;
  /** When the last PSP outcome was written (the last request was sent before). */
  lastPspAt?: string | null;
  pspCode?: string | null;
  pspUnknownReason?: string | null;
  /** A PSP refusal that keeps the refund from being sent again or credited before a lookup. */
  refusal?: PspRefusal | null;
  /** Our credits the PSP reported failed after booking (its history still lists them as successful). */
  failedCredits?: { creditTransactionId: string | null; amount: number; at: string }[];
  notification?: Notification | null;
  /** Every email sent about this refund (a late failure owes a second one of another kind). */
  sentEmails?: { kind: NotificationKind; messageId: string; at: string }[];
}

export function dispatchRefundFromItem(item: Item): DispatchRefund {
  return refundFromItem(item) as unknown as DispatchRefund;
}

/** The outbox mark written with the move that owes the email (lib/adapters/dynamodb/outbox.ts). */
export function outboxValues(r: Pick<DispatchRefund, 'id' | 'orderId' | 'ownerId' | 'ownerKind'>, kind: NotificationKind): Item {
  const mark = outboxMark(r, kind, r.id);
  return { ':obShard': mark.outboxShard, ':obKey': mark.outboxKey, ':notification': mark.notification };
}
export const OUTBOX_SET = 'outboxShard = :obShard, outboxKey = :obKey, notification = :notification';
export const RUN_IDS = 'runIds = list_append(if_not_exists(runIds, :noRuns), :runList)';

export interface OpenPage {
  refunds: DispatchRefund[];
  cursor: string | null;
}

export class DispatchStore {
  /** One page of a shard of the sparse open-refunds index, refunds created in [from, to). */
  async openRefundsPage(shard: number, from: string, to: string, cursor: string | null, limit: number, performanceId: string | null = null): Promise<OpenPage> {
    const out = await documentClient().send(
      new QueryCommand({
        TableName: tableName('refunds'),
        IndexName: INDEX.openRefundsByCreatedAt,
        // BETWEEN is inclusive; a refund created exactly at `to` is dropped below (key attributes cannot be filtered).
        KeyConditionExpression: 'openShard = :s AND createdAt BETWEEN :from AND :to',
        // A run scoped to one performance sees only that performance's refunds (a page may come back short).
        ...(performanceId ? { FilterExpression: 'performanceId = :p' } : {}),
        ExpressionAttributeValues: { ':s': `OPEN#${String(shard).padStart(2, '0')}`, ':from': from, ':to': to, ...(performanceId ? { ':p': performanceId } : {}) },
        Limit: limit,
        ExclusiveStartKey: cursor ? (JSON.parse(cursor) as Item) : undefined,
      }),
    );
    return {
      refunds: (out.Items ?? []).filter((i) => (i.createdAt as string) < to).map(dispatchRefundFromItem),
      cursor: out.LastEvaluatedKey ? JSON.stringify(out.LastEvaluatedKey) : null,
    };
  }

  /** Every open refund in [from, to) over all shards (the check against a simulation). */
  async allOpen(from: string, to: string, performanceId: string | null = null): Promise<DispatchRefund[]> {
    const shards = await Promise.all(
      Array.from({ length: OPEN_REFUND_SHARDS }, async (_, shard) => {
        const list: DispatchRefund[] = [];
        let cursor: string | null = null;
        do {
          const page: OpenPage = await this.openRefundsPage(shard, from, to, cursor, 1000, performanceId);
          list.push(...page.refunds);
          cursor = page.cursor;
        } while (cursor);
        return list;
      }),
    );
    return shards.flat();
  }

  async get(id: string): Promise<DispatchRefund | undefined> {
    const out = await documentClient().send(new QueryCommand({ TableName: tableName('refunds'), KeyConditionExpression: 'pk = :pk AND sk = :sk', ExpressionAttributeValues: { ':pk': refundKey(id).pk, ':sk': 'REFUND' }, ConsistentRead: true }));
    const item = out.Items?.[0];
    return item ? dispatchRefundFromItem(item) : undefined;
  }

  /** Refunds of one order (the PSP lookup needs the other credits on the same transaction). */
  async refundsOfOrder(orderId: string): Promise<DispatchRefund[]> {
    const list: DispatchRefund[] = [];
    for await (const item of queryAll({ TableName: tableName('refunds'), IndexName: INDEX.refundsByOrder, KeyConditionExpression: 'orderId = :o', ExpressionAttributeValues: { ':o': orderId } })) {
      list.push(dispatchRefundFromItem(item));
    }
    return list;
  }

  /**
   * pending|failed (version v) -> sending, with a lease. From here the attempt is not proven not
   * booked; a `fresh` claim (new key, or a key proven clean) starts the key's trust window now.
   * Returns the claimed version, or null if another run moved it.
   */
  async claim(r: DispatchRefund, claim: SendingClaim, plan: { fresh: boolean; at: string }): Promise<number | null> {
    try {
      await documentClient().send(
        new UpdateCommand({
          TableName: tableName('refunds'),
          Key: refundKey(r.id),
          // A new attempt has no credit yet: a lookup must not read a previous attempt's (late-failed) credit as this one's.
          UpdateExpression: `SET #s = :sending, sending = :claim, attempt = :attempt, attemptNotBooked = :no, ${plan.fresh ? 'attemptSentAt = :at, ' : ''}version = version + :one, ${RUN_IDS} REMOVE pspCreditTransactionId, refusal`,
          ConditionExpression: '#s = :from AND version = :v',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: {
            ':sending': 'sending', ':claim': claim, ':attempt': claim.attempt, ':no': false, ':one': 1, ':from': r.status, ':v': r.version, ':noRuns': [], ':runList': [claim.runId],
            ...(plan.fresh ? { ':at': plan.at } : {}),
          },
        }),
      );
      return r.version + 1;
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  /**
   * Writes the PSP outcome of a claim (or a lookup's resolution), conditioned on the refund still
   * being as read (status `expectStatus`, the version given). Returns false if someone else moved it.
   * Every move records whether the last attempt is proven not booked (psp-decisions.ts).
   */
  async settleClaim(
    r: Pick<DispatchRefund, 'id' | 'orderId' | 'ownerId' | 'ownerKind'>,
    claimedVersion: number,
    outcome:
      | { to: 'refunded'; creditTransactionId: string | null; runId: string; at: string; notify?: boolean }
      | { to: 'failed'; pspCode: string; pspMessage: string; runId: string; at: string; notify?: NotificationKind; refusal?: PspRefusal | null; failedCredit?: { creditTransactionId: string | null; amount: number } }
      | { to: 'unknown'; reason: string; runId: string; at: string; pspCode?: string | null; refusal?: PspRefusal | null }
      /** Nothing booked by this claim; `provenNotBooked` when the attempt is proven clean as a whole. */
      | { to: 'pending' | 'failed'; released: string; runId: string; at: string; provenNotBooked: boolean }
      | { to: 'manual'; reason: string; runId: string; at: string },
    expectStatus: LifecycleState = 'sending',
  ): Promise<boolean> {
    const names: Record<string, string> = { '#s': 'status' };
    const values: Item = { ':expect': expectStatus, ':v': claimedVersion, ':one': 1, ':to': outcome.to, ':at': outcome.at, ':run': outcome.runId };
    let update: string;
    if (outcome.to === 'refunded') {
      // A run with notifyCustomers false owes no email: no outbox mark.
      const notify = outcome.notify !== false;
      Object.assign(values, notify ? outboxValues(r, 'refunded_to_card') : {}, { ':credit': outcome.creditTransactionId, ':no': false });
      update = `SET #s = :to, pspCreditTransactionId = :credit, attemptNotBooked = :no, settledAt = :at, settledByRun = :run, lastPspAt = :at, ${notify ? `${OUTBOX_SET}, ` : ''}version = version + :one REMOVE sending, openShard, pspCode, pspMessage, pspUnknownReason, refusal`;
    } else if ('pspCode' in outcome && outcome.to === 'failed') {
      Object.assign(values, { ':code': outcome.pspCode, ':msg': outcome.pspMessage.slice(0, 500), ':open': `OPEN#${String(shardOf(r.id, OPEN_REFUND_SHARDS)).padStart(2, '0')}`, ':yes': true });
      if (outcome.notify) Object.assign(values, outboxValues(r, outcome.notify));
      const sets = [`#s = :to`, 'pspCode = :code', 'pspMessage = :msg', 'attemptNotBooked = :yes', 'lastPspAt = :at', 'lastRunId = :run', 'openShard = :open', 'version = version + :one'];
      if (outcome.notify) sets.push(OUTBOX_SET);
      if (outcome.refusal) {
        sets.push('refusal = :refusal');
        values[':refusal'] = outcome.refusal;
      }
      if (outcome.failedCredit) {
        sets.push('failedCredits = list_append(if_not_exists(failedCredits, :none), :failedCredit)');
        Object.assign(values, { ':none': [], ':failedCredit': [{ ...outcome.failedCredit, at: outcome.at }] });
      }
      update = `SET ${sets.join(', ')} REMOVE sending, settledAt, settledByRun, pspUnknownReason${outcome.refusal ? '' : ', refusal'}`;
    } else if (outcome.to === 'unknown') {
      Object.assign(values, { ':reason': outcome.reason.slice(0, 500), ':no': false });
      const sets = ['#s = :to', 'pspUnknownReason = :reason', 'attemptNotBooked = :no', 'lastPspAt = :at', 'lastRunId = :run', 'version = version + :one'];
      const removes = ['sending'];
      if (outcome.pspCode) {
        sets.push('pspCode = :code');
        values[':code'] = outcome.pspCode;
      }
      if (outcome.refusal) {
        sets.push('refusal = :refusal');
        values[':refusal'] = outcome.refusal;
      } else if (outcome.refusal === null) removes.push('refusal');
      update = `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`;
    } else if (outcome.to === 'manual') {
      Object.assign(values, { ':manual': { method: 'other', note: outcome.reason.slice(0, 500), requestedBy: 'reconciliation', at: outcome.at, runId: outcome.runId } });
      update = 'SET #s = :to, manual = :manual, settledAt = :at, settledByRun = :run, lastRunId = :run, version = version + :one REMOVE sending, openShard';
    } else {
      Object.assign(values, { ':reason': outcome.released.slice(0, 500), ':proven': outcome.provenNotBooked });
      update = 'SET #s = :to, lastReleaseReason = :reason, attemptNotBooked = :proven, lastRunId = :run, lastPspAt = :at, version = version + :one REMOVE sending, pspUnknownReason, refusal';
    }
    try {
      await documentClient().send(
        new UpdateCommand({
          TableName: tableName('refunds'),
          Key: refundKey(r.id),
          UpdateExpression: update,
          ConditionExpression: '#s = :expect AND version = :v',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Reconciliation: a credit the PSP reported failed after it was booked; the customer is told. */
  async lateFailure(r: DispatchRefund, pspCode: string, creditTransactionId: string, runId: string, at: string): Promise<boolean> {
    return this.settleClaim(
      r,
      r.version,
      { to: 'failed', pspCode, pspMessage: 'the PSP reported the credit failed after booking it', runId, at, notify: 'late_failure', failedCredit: { creditTransactionId, amount: r.amount.amount } },
      'refunded',
    );
  }

  // ---- reconciliation scope ----

  /** One page of a parallel scan segment over the refunds ever sent to the PSP (reconciliation compares their transactions). */
  async scanPage(segment: number, totalSegments: number, cursor: string | null, limit: number): Promise<{ refunds: DispatchRefund[]; cursor: string | null }> {
    const out = await documentClient().send(
      new ScanCommand({
        TableName: tableName('refunds'),
        Segment: segment,
        TotalSegments: totalSegments,
        FilterExpression: 'sk = :r AND (attempt > :zero OR #s IN (:unknown, :sending, :refunded))',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':r': 'REFUND', ':zero': 0, ':unknown': 'unknown', ':sending': 'sending', ':refunded': 'refunded' },
        Limit: limit,
        ExclusiveStartKey: cursor ? (JSON.parse(cursor) as Item) : undefined,
      }),
    );
    return { refunds: (out.Items ?? []).map(dispatchRefundFromItem), cursor: out.LastEvaluatedKey ? JSON.stringify(out.LastEvaluatedKey) : null };
  }
}
