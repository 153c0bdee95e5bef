import { GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Refund, RefundStatus } from '../../core/model.ts';
import { documentClient } from './client.ts';
import { OPEN_REFUND_SHARDS, tableName } from './table-names.ts';

/** Statuses that still wait for a dispatch pass or reconciliation: they sit in the open-refunds index. */
export const OPEN_STATUSES: ReadonlySet<RefundStatus> = new Set(['pending', 'failed', 'unknown']);

export interface StoredRefund extends Refund {
  createdByRun?: string | null;
  settledByRun?: string | null;
  settledAt?: string | null;
  pspCreditTransactionId?: string | null;
  manual?: { method: string; note: string; requestedBy: string; at: string; runId: string } | null;
  /** Optimistic lock: every change increments it. */
  version: number;
  [extra: string]: unknown;
}

export function refundKey(id: string) {
  return { pk: `REFUND#${id}`, sk: 'REFUND' };
}

/** FNV-1a: a stable, cheap shard number for an id. */
export function shardOf(id: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

export function openShardOf(refundId: string): string {
  return `OPEN#${String(shardOf(refundId, OPEN_REFUND_SHARDS)).padStart(2, '0')}`;
}

/** The item for a new refund: amount flattened to minor units + currency so updates stay atomic. */
export function refundItem(refund: Refund & { createdByRun?: string | null; [extra: string]: unknown }): Record<string, unknown> {
  const { amount, ...rest } = refund;
  return {
    ...refundKey(refund.id),
    ...rest,
    amount: amount.amount,
    currency: amount.currency,
    version: 1,
    ...(OPEN_STATUSES.has(refund.status) ? { openShard: openShardOf(refund.id) } : {}),
  };
}

export function refundFromItem(item: Record<string, unknown>): StoredRefund {
  const { pk: _pk, sk: _sk, openShard: _o, outboxShard: _os, outboxKey: _ok, amount, currency, ...rest } = item;
  return { ...(rest as unknown as StoredRefund), amount: { amount: amount as number, currency: currency as string } };
}

export class RefundRepository {
  async get(id: string): Promise<StoredRefund | undefined> {
    const out = await documentClient().send(new GetCommand({ TableName: tableName('refunds'), Key: refundKey(id), ConsistentRead: true }));
    return out.Item ? refundFromItem(out.Item) : undefined;
  }

  /** Takes one pending or failed refund out of automation for good (it leaves the open index). */
  async switchToManual(id: string, expectedVersion: number, manual: NonNullable<StoredRefund['manual']>): Promise<void> {
    await documentClient().send(
      new UpdateCommand({
        TableName: tableName('refunds'),
        Key: refundKey(id),
        UpdateExpression: 'SET #s = :manual, manual = :m, settledAt = :at, settledByRun = :run, version = version + :one REMOVE openShard',
        ConditionExpression: '#v = :v AND #s IN (:pending, :failed)',
        ExpressionAttributeNames: { '#s': 'status', '#v': 'version' },
        ExpressionAttributeValues: {
          ':manual': 'manual',
          ':m': manual,
          ':at': manual.at,
          ':run': manual.runId,
          ':one': 1,
          ':v': expectedVersion,
          ':pending': 'pending',
          ':failed': 'failed',
        },
      }),
    );
  }

  /** Every refund (the table also holds cancellation notices, which are not refunds). */
  async *scanAll(): AsyncGenerator<StoredRefund> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await documentClient().send(new ScanCommand({ TableName: tableName('refunds'), FilterExpression: 'sk = :r', ExpressionAttributeValues: { ':r': 'REFUND' }, ExclusiveStartKey: startKey }));
      for (const item of out.Items ?? []) yield refundFromItem(item);
      startKey = out.LastEvaluatedKey;
    } while (startKey);
  }
}
