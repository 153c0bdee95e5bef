import { CreateTableCommand, DeleteTableCommand, ListTablesCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLE_ENV, type TableKey } from '../adapters/dynamodb/table-names.ts';

interface TableResource {
  key: TableKey;
  logicalId: string;
  properties: {
    KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
    AttributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
    GlobalSecondaryIndexes?: { IndexName: string; KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[]; Projection: { ProjectionType: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] } }[];
  };
}

/** The tables of the synthesized stack, found by their `mass-refund:table` metadata. */
export function tablesOfTemplate(template: Record<string, unknown>): TableResource[] {
  const resources = (template.Resources ?? {}) as Record<string, { Type: string; Properties: TableResource['properties']; Metadata?: Record<string, unknown> }>;
  const tables: TableResource[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::DynamoDB::Table') continue;
    const key = resource.Metadata?.['mass-refund:table'];
    if (typeof key !== 'string' || !(key in TABLE_ENV)) continue;
    tables.push({ key: key as TableKey, logicalId, properties: resource.Properties });
  }
  return tables;
}

export function localTableName(prefix: string, key: TableKey): string {
  return `${prefix}${key}`;
}

/** Environment variables that point the adapters at the local tables. */
export function tableEnv(prefix: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, variable] of Object.entries(TABLE_ENV)) env[variable] = localTableName(prefix, key as TableKey);
  return env;
}

/** Map from template logical id to local physical name, for the runner's Ref resolution. */
export function tableNamesByLogicalId(template: Record<string, unknown>, prefix: string): Record<string, string> {
  return Object.fromEntries(tablesOfTemplate(template).map((t) => [t.logicalId, localTableName(prefix, t.key)]));
}

async function existingTables(client: DynamoDBClient): Promise<Set<string>> {
  const names = new Set<string>();
  let start: string | undefined;
  do {
    const out = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const n of out.TableNames ?? []) names.add(n);
    start = out.LastEvaluatedTableName;
  } while (start);
  return names;
}

/** Creates every table of the template that is missing (idempotent), with the template's own keys and indexes. */
export async function ensureTables(client: DynamoDBClient, template: Record<string, unknown>, prefix: string): Promise<string[]> {
  const existing = await existingTables(client);
  const created: string[] = [];
  const tables = tablesOfTemplate(template);
  if (tables.length === 0) throw new Error('the synthesized template declares no tables tagged mass-refund:table');
  for (const t of tables) {
    const name = localTableName(prefix, t.key);
    if (existing.has(name)) continue;
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: t.properties.KeySchema,
        AttributeDefinitions: t.properties.AttributeDefinitions,
        GlobalSecondaryIndexes: t.properties.GlobalSecondaryIndexes?.map((g) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection })),
      }),
    );
    created.push(name);
  }
  return created;
}

/** Empties every local table of the prefix (reset). Deleting and re-creating is faster than item deletes. */
export async function dropTables(client: DynamoDBClient, prefix: string): Promise<void> {
  const existing = await existingTables(client);
  for (const name of existing) {
    if (name.startsWith(prefix)) await client.send(new DeleteTableCommand({ TableName: name }));
  }
}

export async function countItems(client: DynamoDBClient, name: string): Promise<number> {
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(new ScanCommand({ TableName: name, Select: 'COUNT', ExclusiveStartKey: start }));
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return count;
}

