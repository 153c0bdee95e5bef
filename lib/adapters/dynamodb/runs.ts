import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RunReport } from '../../core/report.ts';
import { documentClient } from './client.ts';
import { queryAll, type Item } from './items.ts';
import { INDEX, tableName } from './table-names.ts';

export type RunStatus = 'running' | 'succeeded' | 'completed_with_errors' | 'failed' | 'awaiting_approval';

export interface RunRecord {
  runId: string;
  workflow: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  requestedBy: string;
  input: unknown;
  report?: RunReport;
  /** Workflow-specific facts the later passes need (e.g. the simulation's fingerprint). */
  facts?: Record<string, unknown>;
}

const runKey = (runId: string) => ({ pk: `RUN#${runId}`, sk: 'RUN' });

/** The items of a run's partition whose sort key starts with `prefix` (log, exclusions, selected codes), in key order. */
export function runItems(runId: string, prefix: string, opts: { consistent?: boolean } = {}): AsyncGenerator<Item> {
  return queryAll({
    TableName: tableName('runs'),
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': `RUN#${runId}`, ':prefix': prefix },
    ...(opts.consistent ? { ConsistentRead: true } : {}),
  });
}

/** Run records and run logs (detail lines; `mass-refund report` prints them). */
export { pageLogKey } from '../../core/run-log.ts';

export class RunRepository {
  /** Opens a run; starting the same execution twice keeps the first record. */
  async open(run: Omit<RunRecord, 'status'>): Promise<RunRecord> {
    const record: RunRecord = { ...run, status: 'running' };
    try {
      await documentClient().send(
        new PutCommand({
          TableName: tableName('runs'),
          Item: { ...runKey(run.runId), ...record },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return record;
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      const existing = await this.get(run.runId);
      if (!existing) throw error;
      return existing;
    }
  }

  /** Records a run that is already over (its execution ended before opening it); false if the run exists. */
  async recordEnded(report: RunReport): Promise<boolean> {
    const record: RunRecord = {
      runId: report.runId,
      workflow: report.workflow,
      status: report.status,
      startedAt: report.startedAt,
      finishedAt: report.finishedAt,
      requestedBy: report.requestedBy,
      input: report.input,
      report,
    };
    try {
      await documentClient().send(
        new PutCommand({ TableName: tableName('runs'), Item: { ...runKey(report.runId), ...record }, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    const out = await documentClient().send(new GetCommand({ TableName: tableName('runs'), Key: runKey(runId), ConsistentRead: true }));
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, ...rest } = out.Item;
    return rest as RunRecord;
  }

  async finish(runId: string, status: RunStatus, report: RunReport, facts?: Record<string, unknown>): Promise<void> {
    await documentClient().send(
      new UpdateCommand({
        TableName: tableName('runs'),
        Key: runKey(runId),
        UpdateExpression: facts ? 'SET #s = :s, finishedAt = :f, report = :r, facts = :facts' : 'SET #s = :s, finishedAt = :f, report = :r',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': status, ':f': report.finishedAt, ':r': report, ...(facts ? { ':facts': facts } : {}) },
        ConditionExpression: 'attribute_exists(pk)',
      }),
    );
  }

  /**
   * Records the end of a run only if it is still running (conditional write): a run that finished
   * meanwhile, well or not, keeps its own report. True if this call ended it.
   */
  async finishIfRunning(runId: string, status: RunStatus, report: RunReport): Promise<boolean> {
    try {
      await documentClient().send(
        new UpdateCommand({
          TableName: tableName('runs'),
          Key: runKey(runId),
          UpdateExpression: 'SET #s = :s, finishedAt = :f, report = :r',
          ConditionExpression: '#s = :running',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': status, ':f': report.finishedAt, ':r': report, ':running': 'running' },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async setFacts(runId: string, facts: Record<string, unknown>): Promise<void> {
    await documentClient().send(
      new UpdateCommand({
        TableName: tableName('runs'),
        Key: runKey(runId),
        UpdateExpression: 'SET facts = :facts',
        ExpressionAttributeValues: { ':facts': facts },
        ConditionExpression: 'attribute_exists(pk)',
      }),
    );
  }

  /**
   * Appends detail lines under a caller-chosen key (e.g. `shard03#page0007`), so a re-run of the
   * same page overwrites its lines instead of duplicating them. Lines are sorted by key on read.
   */
  async log(runId: string, key: string, lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    // Items stay well below DynamoDB's 400 KB: split long pages.
    const chunks: string[][] = [];
    let current: string[] = [];
    let size = 0;
    for (const line of lines) {
      if (size + line.length > 300_000 && current.length > 0) {
        chunks.push(current);
        current = [];
        size = 0;
      }
      current.push(line);
      size += line.length + 1;
    }
    chunks.push(current);
    await Promise.all(
      chunks.map((chunk, i) =>
        documentClient().send(
          new PutCommand({ TableName: tableName('runs'), Item: { pk: `RUN#${runId}`, sk: `LOG#${key}#${String(i).padStart(3, '0')}`, lines: chunk } }),
        ),
      ),
    );
  }

  async *logLines(runId: string): AsyncGenerator<string> {
    for await (const item of runItems(runId, 'LOG#')) for (const line of item.lines as string[]) yield line;
  }

  async list(workflow?: string): Promise<RunRecord[]> {
    const runs: RunRecord[] = [];
    if (workflow) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const out = await documentClient().send(
          new QueryCommand({
            TableName: tableName('runs'),
            IndexName: INDEX.runsByWorkflow,
            KeyConditionExpression: 'workflow = :w',
            ExpressionAttributeValues: { ':w': workflow },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of out.Items ?? []) runs.push(strip(item));
        startKey = out.LastEvaluatedKey;
      } while (startKey);
      return runs;
    }
    const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await documentClient().send(
        new ScanCommand({ TableName: tableName('runs'), FilterExpression: 'sk = :run', ExpressionAttributeValues: { ':run': 'RUN' }, ExclusiveStartKey: startKey }),
      );
      for (const item of out.Items ?? []) runs.push(strip(item));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return runs.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }
}

function strip(item: Record<string, unknown>): RunRecord {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as RunRecord;
}
