import { BatchGetCommand, BatchWriteCommand, QueryCommand, ScanCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { documentClient } from './client.ts';
import { DYNAMODB_LIMITS } from './limits.ts';

export type Item = Record<string, unknown>;

/** Writes items with BatchWrite, 25 at a time, retrying what DynamoDB leaves unprocessed. */
export async function batchPut(table: string, items: Item[], concurrency = 8): Promise<void> {
  const chunks: Item[][] = [];
  const size = DYNAMODB_LIMITS.batchWriteItems;
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++] as Item[];
      let requests = chunk.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 10) throw new Error(`BatchWrite to ${table}: ${requests.length} items still unprocessed after 10 retries`);
        const out = await documentClient().send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
        requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
        if (requests.length > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
}

/** Deletes items by key with BatchWrite, 25 at a time, retrying what DynamoDB leaves unprocessed. */
export async function batchDelete(table: string, keys: { pk: string; sk: string }[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 25) {
    let requests = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 10) throw new Error(`BatchWrite to ${table}: ${requests.length} deletes still unprocessed after 10 retries`);
      const out = await documentClient().send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
      requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
      if (requests.length > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
    }
  }
}

export async function* queryAll(input: QueryCommandInput): AsyncGenerator<Item> {
  let startKey: Item | undefined;
  do {
    const out = await documentClient().send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    for (const item of out.Items ?? []) yield item;
    startKey = out.LastEvaluatedKey;
  } while (startKey);
}

/** Parallel scan (segments), for exports and bulk selections. */
export async function* scanAll(table: string, opts: { filter?: string; names?: Record<string, string>; values?: Item; segments?: number } = {}): AsyncGenerator<Item> {
  const segments = opts.segments ?? 1;
  if (segments === 1) {
    let startKey: Item | undefined;
    do {
      const out = await documentClient().send(
        new ScanCommand({
          TableName: table,
          FilterExpression: opts.filter,
          ExpressionAttributeNames: opts.names,
          ExpressionAttributeValues: opts.values,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) yield item;
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return;
  }
  const results = await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      const items: Item[] = [];
      let startKey: Item | undefined;
      do {
        const out = await documentClient().send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: segments,
            FilterExpression: opts.filter,
            ExpressionAttributeNames: opts.names,
            ExpressionAttributeValues: opts.values,
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...(out.Items ?? []));
        startKey = out.LastEvaluatedKey;
      } while (startKey);
      return items;
    }),
  );
  for (const items of results) yield* items;
}

export function stripKeys<T>(item: Item, extra: string[] = []): T {
  const out: Item = {};
  for (const [k, v] of Object.entries(item)) {
    if (k === 'pk' || k === 'sk' || k === 'gsi1pk' || k === 'gsi1sk' || k === 'fingerprint' || extra.includes(k)) continue;
    out[k] = v;
  }
  return out as T;
}

/** Reads items by key with BatchGet, 100 keys at a time, retrying what DynamoDB leaves unprocessed. */
export async function batchGetItems(table: string, keys: Item[], opts: { consistent?: boolean; projection?: string } = {}): Promise<Item[]> {
  const items: Item[] = [];
  for (let i = 0; i < keys.length; i += DYNAMODB_LIMITS.batchGetKeys) {
    let request = keys.slice(i, i + DYNAMODB_LIMITS.batchGetKeys);
    for (let attempt = 0; request.length > 0; attempt++) {
      if (attempt > 10) throw new Error(`BatchGet on ${table}: ${request.length} keys still unprocessed after 10 retries`);
      const out = await documentClient().send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: request, ConsistentRead: opts.consistent ?? false, ...(opts.projection ? { ProjectionExpression: opts.projection } : {}) } } }),
      );
      items.push(...(out.Responses?.[table] ?? []));
      request = (out.UnprocessedKeys?.[table]?.Keys ?? []) as Item[];
      if (request.length > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** Math.min(attempt, 6)));
    }
  }
  return items;
}

/** Whether a write was refused by its condition (alone, or in a transaction without a conflict): the item is not as expected. */
export function isConditionFailure(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  if (name === 'ConditionalCheckFailedException') return true;
  if (name === 'TransactionCanceledException') {
    const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
    return reasons.some((r) => r.Code === 'ConditionalCheckFailed') && !reasons.some((r) => r.Code === 'TransactionConflict');
  }
  return false;
}
