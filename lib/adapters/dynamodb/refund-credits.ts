import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { forEachConcurrently } from '../../core/concurrency.ts';
import { creditEntryItem } from './accounts.ts';
import { documentClient } from './client.ts';
import { OUTBOX_SET, outboxValues, RUN_IDS, type DispatchRefund } from './dispatch-store.ts';
import { isConditionFailure } from './items.ts';
import { packTransactions } from './limits.ts';
import { refundKey } from './refunds.ts';
import { tableName } from './table-names.ts';

/**
 * The credit pass's writes: a refund credited to its owner's credit account, the refund and its
 * ledger entry in one transaction. Conditional on status and version like every dispatch move
 * (dispatch-store.ts), so two runs never credit a refund twice.
 */

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

export class RefundCredits {
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
}
