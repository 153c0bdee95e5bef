import { ListTablesCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Every item of every table under `prefix`, as sorted canonical JSON lines per table: equal dumps = unchanged database. */
export async function dumpTables(client: DynamoDBClient, prefix: string): Promise<Record<string, string[]>> {
  const names: string[] = [];
  let start: string | undefined;
  do {
    const out = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    names.push(...(out.TableNames ?? []).filter((n) => n.startsWith(prefix)));
    start = out.LastEvaluatedTableName;
  } while (start);
  const dump: Record<string, string[]> = {};
  await Promise.all(
    names.sort().map(async (name) => {
      const lines: string[] = [];
      let key: Record<string, AttributeValue> | undefined;
      do {
        const out = await client.send(new ScanCommand({ TableName: name, ExclusiveStartKey: key, ConsistentRead: true }));
        for (const item of out.Items ?? []) lines.push(canonical(item));
        key = out.LastEvaluatedKey;
      } while (key);
      dump[name.slice(prefix.length)] = lines.sort();
    }),
  );
  return dump;
}

/** Differences between two dumps, for a readable assertion message (first few only). */
export function dumpDiff(before: Record<string, string[]>, after: Record<string, string[]>, limit = 5): string[] {
  const diff: string[] = [];
  for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = new Set(before[table] ?? []);
    const b = new Set(after[table] ?? []);
    for (const line of b) if (!a.has(line)) diff.push(`${table} + ${line.slice(0, 300)}`);
    for (const line of a) if (!b.has(line)) diff.push(`${table} - ${line.slice(0, 300)}`);
  }
  return diff.slice(0, limit);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}
