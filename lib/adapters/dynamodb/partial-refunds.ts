import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../core/errors.ts';
import { documentClient } from './client.ts';
import { RunRepository } from './runs.ts';
import { tableName } from './table-names.ts';

/**
 * A performance is partially refunded once (seed 003). The run that does it writes
 * `PERFORMANCE#id / PARTIAL_REFUND` with a condition; a later run is refused, naming it, unless
 * that run failed or completed with errors (left orders undone) and the new one asks for the same
 * percentage: then it takes over and finishes the job (exchanges are idempotent, so nothing is
 * exchanged twice).
 */
export interface PartialRefundMark {
  performanceId: string;
  runId: string;
  percentHundredths: number;
  at: string;
  previousRuns?: string[];
}

const key = (performanceId: string) => ({ pk: `PERFORMANCE#${performanceId}`, sk: 'PARTIAL_REFUND' });

export async function partialRefundMark(performanceId: string): Promise<PartialRefundMark | undefined> {
  const out = await documentClient().send(new GetCommand({ TableName: tableName('catalog'), Key: key(performanceId), ConsistentRead: true }));
  return out.Item as PartialRefundMark | undefined;
}

const percentText = (h: number) => `${Math.trunc(h / 100)}${h % 100 ? `.${String(h % 100).padStart(2, '0').replace(/0$/, '')}` : ''} %`;

/** Why `runId` may not partially refund the performance (undefined: it may, possibly taking over a failed run). */
export async function partialRefundRefusal(mark: PartialRefundMark | undefined, runId: string, percentHundredths: number): Promise<string | undefined> {
  if (!mark || mark.runId === runId) return undefined;
  const earlier = await new RunRepository().get(mark.runId);
  const what = `performance "${mark.performanceId}" was already partially refunded (${percentText(mark.percentHundredths)}) by run ${mark.runId}`;
  const unfinished = earlier?.status === 'failed' || earlier?.status === 'completed_with_errors';
  if (unfinished && mark.percentHundredths === percentHundredths) return undefined;
  if (unfinished) {
    const how = earlier.status === 'failed' ? 'which failed' : 'which left orders undone';
    return `${what}, ${how}: run it again with the same percent (${percentText(mark.percentHundredths)}) to finish it`;
  }
  if (earlier?.status === 'running') return `${what.replace('was already', 'is being')}; it is still running`;
  return `${what}; a performance is partially refunded once`;
}

/** Claims the performance for this run (conditional write), or throws ConflictError naming the earlier run. */
export async function claimPartialRefund(performanceId: string, runId: string, percentHundredths: number, at: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const mark = await partialRefundMark(performanceId);
    const refusal = await partialRefundRefusal(mark, runId, percentHundredths);
    if (refusal) throw new ConflictError(`performanceId: ${refusal}`);
    if (mark?.runId === runId) return;
    try {
      if (!mark) {
        await documentClient().send(
          new PutCommand({ TableName: tableName('catalog'), Item: { ...key(performanceId), performanceId, runId, percentHundredths, at }, ConditionExpression: 'attribute_not_exists(pk)' }),
        );
      } else {
        await documentClient().send(
          new UpdateCommand({
            TableName: tableName('catalog'),
            Key: key(performanceId),
            UpdateExpression: 'SET runId = :me, previousRuns = list_append(if_not_exists(previousRuns, :none), :prev)',
            ConditionExpression: 'runId = :earlier',
            ExpressionAttributeValues: { ':me': runId, ':earlier': mark.runId, ':prev': [mark.runId], ':none': [] },
          }),
        );
      }
      return;
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      // Another run claimed it between our read and write: decide again on what it wrote.
    }
  }
  throw new ConflictError(`performanceId: performance "${performanceId}" is being claimed by another partial refund run`);
}
