import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import { documentClient } from './client.ts';
import { tableName } from './table-names.ts';

/**
 * The state a run carries from one execution to the next (lib/core/continuation.ts), kept beside
 * the run's record: written by the execution that pauses, taken once by the one that goes on.
 */
export interface Checkpoint {
  runId: string;
  /** The part (execution number in the run) that goes on from here: 2, 3, ... */
  part: number;
  workflow: string;
  /** The state the next execution starts from, and where (a Map state's name, or a Task's). */
  state: Record<string, unknown>;
  resumeAt: string;
  /** The execution that wrote it, and the one that is to take it (its name is the run's part). */
  writtenBy: string;
  executionName: string;
  takenBy?: string;
}

const key = (runId: string, part: number) => ({ pk: `RUN#${runId}`, sk: `CHECKPOINT#${String(part).padStart(5, '0')}` });
const failedCondition = (error: unknown) => (error as Error).name === 'ConditionalCheckFailedException';

export class CheckpointRepository {
  /**
   * Writes the checkpoint of part `part`. The same execution writing it again (a retried stage)
   * overwrites its own until it is taken; anyone else finds it written and is refused.
   */
  async save(checkpoint: Omit<Checkpoint, 'takenBy'>): Promise<void> {
    const { state, ...facts } = checkpoint;
    try {
      await documentClient().send(
        new PutCommand({
          TableName: tableName('runs'),
          Item: { ...key(checkpoint.runId, checkpoint.part), ...facts, state: JSON.stringify(state), savedAt: new Date().toISOString() },
          ConditionExpression: 'attribute_not_exists(pk) OR (writtenBy = :me AND attribute_not_exists(takenBy))',
          ExpressionAttributeValues: { ':me': checkpoint.writtenBy },
        }),
      );
    } catch (error) {
      if (!failedCondition(error)) throw error;
      const existing = await this.get(checkpoint.runId, checkpoint.part);
      throw new ConflictError(`run ${checkpoint.runId}: part ${checkpoint.part} was already checkpointed by execution ${existing?.writtenBy ?? 'unknown'}${existing?.takenBy ? ` and taken by ${existing.takenBy}` : ''}`, { cause: error });
    }
  }

  async get(runId: string, part: number): Promise<Checkpoint | undefined> {
    const out = await documentClient().send(new GetCommand({ TableName: tableName('runs'), Key: key(runId, part), ConsistentRead: true }));
    return out.Item ? this.#read(out.Item) : undefined;
  }

  /** Takes the checkpoint for the execution `executionName` (again, if it took it before: a retried stage). */
  async take(runId: string, part: number, executionName: string): Promise<Checkpoint> {
    try {
      const out = await documentClient().send(
        new UpdateCommand({
          TableName: tableName('runs'),
          Key: key(runId, part),
          UpdateExpression: 'SET takenBy = :me, takenAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND executionName = :me AND (attribute_not_exists(takenBy) OR takenBy = :me)',
          ExpressionAttributeValues: { ':me': executionName, ':at': new Date().toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return this.#read(out.Attributes ?? {});
    } catch (error) {
      if (!failedCondition(error)) throw error;
      const existing = await this.get(runId, part);
      if (!existing) throw new NotFoundError(`continueRun: run "${runId}" has no part ${part} to continue`, { cause: error });
      if (existing.executionName !== executionName) throw new ConflictError(`continueRun: part ${part} of run "${runId}" is for execution ${existing.executionName}, not ${executionName}`, { cause: error });
      throw new ConflictError(`continueRun: part ${part} of run "${runId}" was taken by execution ${existing.takenBy ?? 'unknown'}`, { cause: error });
    }
  }

  #read(item: Record<string, unknown>): Checkpoint {
    const { pk: _pk, sk: _sk, state, savedAt: _s, takenAt: _t, ...rest } = item;
    return { ...(rest as Omit<Checkpoint, 'state'>), state: JSON.parse(String(state)) as Record<string, unknown> };
  }
}
