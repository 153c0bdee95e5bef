import { BatchGetCommand, QueryCommand, ScanCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { forEachConcurrently } from '../../core/concurrency.ts';
import type { SelectedRefund } from '../../core/dispatch.ts';
import type { PspRefusal } from '../../core/psp-decisions.ts';
import type { LifecycleState } from '../../core/refund-lifecycle.ts';
import type { NotificationKind } from '../../core/refund-emails.ts';
import { creditEntryItem } from './accounts.ts';
import { documentClient } from './client.ts';
import { packTransactions } from './limits.ts';
import { batchPut, queryAll, type Item } from './items.ts';
import { isConditionFailure } from './items.ts';
import { outboxMark, type Notification } from './outbox.ts';
import type { Refund } from '../../core/model.ts';
import { refundFromItem, refundKey, shardOf } from './refunds.ts';
import { INDEX, OPEN_REFUND_SHARDS, tableName } from './table-names.ts';

/**
 * The dispatch's writes on refunds. Every move is conditional on status and version (the
 * optimistic lock), so two runs, a retried Lambda or a re-run never move a refund twice.
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
function outboxValues(r: Pick<DispatchRefund, 'id' | 'orderId' | 'ownerId' | 'ownerKind'>, kind: NotificationKind): Item {
  const mark = outboxMark(r, kind, r.id);
  return { ':obShard': mark.outboxShard, ':obKey': mark.outboxKey, ':notification': mark.notification };
}
const OUTBOX_SET = 'outboxShard = :obShard, outboxKey = :obKey, notification = :notification';
const RUN_IDS = 'runIds = list_append(if_not_exists(runIds, :noRuns), :runList)';


/** The two writes that credit one refund: the refund -> credited (conditions), its ledger entry; the email owed unless `notify` is false. */
function creditActions(r: DispatchRefund, runId: string, at: string, notify = true): Record<string, unknown>[] {
  return [
    {
      Update: {
        TableName: tableName('refunds'),
        Key: refundKey(r.id),
        UpdateExpression: `SET #s = :credited, settledAt = :at, settledByRun = :run, ${notify ? `${OUTBOX_SET}, ` : ''}version = version + :one, ${RUN_IDS} REMOVE openShard, sending`,
        ConditionExpression: '#s = :from AND version = :v AND #s IN (:pending, :failed)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':credited': 'credited',
          ':at': at,
          ':run': runId,
          ':one': 1,
          ':from': r.status,
          ':v': r.version,
          ':pending': 'pending',
          ':failed': 'failed',
          ':noRuns': [],
          ':runList': [runId],
          ...(notify ? outboxValues(r, 'credited') : {}),
        },
      },
    },
    {
      Put: {
        TableName: tableName('creditAccounts'),
        Item: creditEntryItem({ ownerId: r.ownerId, ownerKind: r.ownerKind, refundId: r.id, orderId: r.orderId, amount: r.amount, at, runId }),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ];
}

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

  /**
   * Credits one refund to its owner's credit account in one transaction: the refund moves
   * pending|failed -> credited (version checked), the ledger entry is keyed by the refund
   * (attribute_not_exists), and the email is owed. False if another run moved it first.
   */
  async credit(r: DispatchRefund, runId: string, at: string, notify = true): Promise<boolean> {
    try {
      await documentClient().send(new TransactWriteCommand({ TransactItems: creditActions(r, runId, at, notify) as never }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Credits several refunds, packed `perTransaction` to a TransactWriteItems (two writes each):
   * every refund keeps its own conditions, so a transaction books all its refunds or none. If one
   * of them moved meanwhile, each refund of that transaction is credited alone (`credit`).
   * Returns the ids credited by this call.
   */
  async creditMany(refunds: readonly DispatchRefund[], runId: string, at: string, perTransaction = 50, transactionsAtOnce = 1, notify = true): Promise<Set<string>> {
    const credited = new Set<string>();
    // Cut to DynamoDB's limits whatever `perTransaction` asks (two actions per refund: at most 50 to a transaction).
    const groups = packTransactions(refunds, (r) => creditActions(r, runId, at, notify), { maxUnits: perTransaction });
    await forEachConcurrently(groups, transactionsAtOnce, (group) => this.creditGroup(group, runId, at, credited, notify));
    return credited;
  }

  private async creditGroup(group: DispatchRefund[], runId: string, at: string, credited: Set<string>, notify: boolean): Promise<void> {
    if (await this.tryPacked(group.flatMap((r) => creditActions(r, runId, at, notify)))) {
      for (const r of group) credited.add(r.id);
      return;
    }
    // One refund of the group moved (or conflicted), or it is alone: credit each one alone.
    for (const r of group) if (await this.credit(r, runId, at, notify)) credited.add(r.id);
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

  // ---- simulation selection (run items) ----

  async saveSelection(simulationRunId: string, selection: SelectedRefund[]): Promise<void> {
    await batchPut(
      tableName('runs'),
      selection.map((s) => ({ pk: `RUN#${simulationRunId}`, sk: `SEL#${s.id}`, ...s })),
    );
  }

  async selection(simulationRunId: string): Promise<SelectedRefund[]> {
    const list: SelectedRefund[] = [];
    for await (const item of queryAll({
      TableName: tableName('runs'),
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sel)',
      ExpressionAttributeValues: { ':pk': `RUN#${simulationRunId}`, ':sel': 'SEL#' },
      ConsistentRead: true,
    })) {
      list.push({ id: item.id as string, amount: item.amount as number, currency: item.currency as string, status: item.status as string, ...(item.pass ? { pass: item.pass as 'psp' | 'credit' } : {}) });
    }
    return list;
  }

  /** The simulated rows of some refunds (a page checks each refund it touches against the approval). */
  async selectedOf(simulationRunId: string, ids: string[]): Promise<Map<string, SelectedRefund>> {
    const result = new Map<string, SelectedRefund>();
    for (let i = 0; i < ids.length; i += 100) {
      let keys: Item[] = ids.slice(i, i + 100).map((id) => ({ pk: `RUN#${simulationRunId}`, sk: `SEL#${id}` }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        const out = await documentClient().send(new BatchGetCommand({ RequestItems: { [tableName('runs')]: { Keys: keys, ConsistentRead: true } } }));
        for (const item of out.Responses?.[tableName('runs')] ?? []) {
          result.set(item.id as string, { id: item.id as string, amount: item.amount as number, currency: item.currency as string, status: item.status as string });
        }
        keys = (out.UnprocessedKeys?.[tableName('runs')]?.Keys ?? []) as Item[];
        if (keys.length > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** Math.min(attempt, 6)));
      }
    }
    return result;
  }

  /** One transaction of several independent writes: false if a condition failed or it conflicted (nothing written). */
  private async tryPacked(actions: Record<string, unknown>[]): Promise<boolean> {
    if (actions.length < 2) return false;
    try {
      await documentClient().send(new TransactWriteCommand({ TransactItems: actions as never }));
      return true;
    } catch (error) {
      const codes = ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((c) => c.Code);
      if (isConditionFailure(error) || (error as Error).name === 'TransactionConflictException' || codes.includes('TransactionConflict')) return false;
      throw error;
    }
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
