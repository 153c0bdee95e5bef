import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from './client.ts';
import { tableName } from './table-names.ts';

const KEY = { pk: 'LOCK#SendEmails', sk: 'LOCK' };

/**
 * One SendEmails run sends at a time, so the account's sending rate is one run's rate: a lease in
 * the runs table, renewed by every batch, released at the end (or left to expire after a crash).
 */
export class SenderLock {
  /** Takes the lease if it is free, expired, or already this run's. Returns the holder otherwise. */
  async acquire(runId: string, leaseMs: number, now = Date.now()): Promise<{ acquired: true } | { acquired: false; holder: string; until: string }> {
    try {
      await documentClient().send(
        new PutCommand({
          TableName: tableName('runs'),
          Item: { ...KEY, runId, leaseUntil: new Date(now + leaseMs).toISOString() },
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now OR runId = :run',
          ExpressionAttributeValues: { ':now': new Date(now).toISOString(), ':run': runId },
        }),
      );
      return { acquired: true };
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      const out = await documentClient().send(new GetCommand({ TableName: tableName('runs'), Key: KEY, ConsistentRead: true }));
      return { acquired: false, holder: String(out.Item?.runId ?? 'unknown'), until: String(out.Item?.leaseUntil ?? '') };
    }
  }

  /** Extends this run's lease; false when another run took it over (ours had expired). */
  async renew(runId: string, leaseMs: number, now = Date.now()): Promise<boolean> {
    try {
      await documentClient().send(
        new UpdateCommand({
          TableName: tableName('runs'),
          Key: KEY,
          UpdateExpression: 'SET leaseUntil = :until',
          ConditionExpression: 'runId = :run',
          ExpressionAttributeValues: { ':until': new Date(now + leaseMs).toISOString(), ':run': runId },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async release(runId: string): Promise<void> {
    try {
      await documentClient().send(new DeleteCommand({ TableName: tableName('runs'), Key: KEY, ConditionExpression: 'runId = :run', ExpressionAttributeValues: { ':run': runId } }));
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
}
