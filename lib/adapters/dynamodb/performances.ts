import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from './client.ts';
import { PERFORMANCE_SHARDS, tableName } from './table-names.ts';

/** The shards of a performance's tickets index, as the paged workflows' Map takes them: 0 … PERFORMANCE_SHARDS-1. */
export const PERFORMANCE_SHARD_LIST = Array.from({ length: PERFORMANCE_SHARDS }, (_, i) => i);

/** Whether the catalog knows the performance (a key-only read). */
export async function performanceExists(performanceId: string): Promise<boolean> {
  const out = await documentClient().send(
    new GetCommand({ TableName: tableName('catalog'), Key: { pk: `PERFORMANCE#${performanceId}`, sk: 'PERFORMANCE' }, ProjectionExpression: 'pk' }),
  );
  return out.Item !== undefined;
}
