import { GetCommand, PutCommand, ScanCommand, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Money } from '../../core/money.ts';
import type { Voucher, VoucherKind } from '../../core/model.ts';
import { documentClient } from './client.ts';
import { batchGetItems, queryAll, scanAll, type Item } from './items.ts';
import { runItems } from './runs.ts';
import { tableName } from './table-names.ts';

/**
 * Vouchers (and tickets sold as vouchers): one partition per code. The import writer puts the
 * `VOUCHER` item (remaining in minor units + currency, writtenOff null); a write-off adds a
 * `REDEMPTION#<runId>` item booked by the user `write-off`, a reversal a `REVERSAL#<runId>` item.
 * Nothing is ever deleted, so a code's history is its partition.
 */
export const WRITE_OFF_USER = 'write-off';

export const voucherPk = (code: string) => `VOUCHER#${code}`;
const VOUCHER_SK = 'VOUCHER';

export interface StoredVoucher extends Voucher {
  /** Set while written off: the amount the write-off took (statistics, reversal). */
  writtenOffAmount?: number | null;
}

export interface VoucherRedemption {
  code: string;
  runId: string;
  kind: 'write_off';
  user: string;
  amount: Money;
  comment: string;
  at: string;
  voucherKind: VoucherKind;
  issuedAt: string;
}

export interface WriteOffReversal {
  code: string;
  runId: string;
  writeOffRunId: string;
  amount: Money;
  reason: string;
  requestedBy: string;
  at: string;
}

export function voucherFromItem(item: Item): StoredVoucher {
  return {
    code: item.code as string,
    kind: item.kind as VoucherKind,
    issuedAt: item.issuedAt as string,
    validUntil: (item.validUntil as string | null | undefined) ?? null,
    remaining: { amount: item.remaining as number, currency: item.currency as string },
    writtenOff: (item.writtenOff as Voucher['writtenOff']) ?? null,
    writtenOffAmount: (item.writtenOffAmount as number | undefined) ?? null,
    ...(item.lastReversal ? { lastReversal: { runId: (item.lastReversal as { runId: string }).runId, at: (item.lastReversal as { at: string }).at } } : {}),
  };
}

export interface ScanPage {
  vouchers: StoredVoucher[];
  /** Absent when the segment is exhausted. */
  cursor?: Item;
}

/** A write-off to apply: the voucher as it was decided (its remaining value is the condition). */
export interface WriteOffOrder {
  voucher: StoredVoucher;
  runId: string;
  comment: string;
  at: string;
}

export type WriteOffAttempt = 'written_off' | 'condition_failed';

/** Conditional write-off and reversal, and reads of a code's history. */
export class VoucherRepository {
  async get(code: string): Promise<StoredVoucher | undefined> {
    const out = await documentClient().send(new GetCommand({ TableName: tableName('vouchers'), Key: { pk: voucherPk(code), sk: VOUCHER_SK }, ConsistentRead: true }));
    return out.Item ? voucherFromItem(out.Item) : undefined;
  }

  /** Which of these codes exist. */
  async existingCodes(codes: readonly string[]): Promise<Set<string>> {
    const unique = [...new Set(codes)];
    const items = await batchGetItems(tableName('vouchers'), unique.map((code) => ({ pk: voucherPk(code), sk: VOUCHER_SK })), { consistent: true, projection: 'code' });
    return new Set(items.map((i) => i.code as string));
  }

  /** One page of one scan segment (parallel scan), voucher items only. */
  async scanPage(segment: number, totalSegments: number, limit: number, cursor?: Item): Promise<ScanPage> {
    const out = await documentClient().send(
      new ScanCommand({
        TableName: tableName('vouchers'),
        Segment: segment,
        TotalSegments: totalSegments,
        Limit: limit,
        ExclusiveStartKey: cursor,
        FilterExpression: 'sk = :v',
        ExpressionAttributeValues: { ':v': VOUCHER_SK },
        ConsistentRead: true,
      }),
    );
    return { vouchers: (out.Items ?? []).map(voucherFromItem), ...(out.LastEvaluatedKey ? { cursor: out.LastEvaluatedKey } : {}) };
  }

  async *scanVouchers(): AsyncGenerator<StoredVoucher> {
    for await (const item of scanAll(tableName('vouchers'), { filter: 'sk = :v', values: { ':v': VOUCHER_SK }, segments: 4 })) yield voucherFromItem(item);
  }

  async *scanRedemptions(): AsyncGenerator<VoucherRedemption> {
    for await (const item of scanAll(tableName('vouchers'), { filter: 'begins_with(sk, :r)', values: { ':r': 'REDEMPTION#' }, segments: 4 })) {
      yield strip<VoucherRedemption>(item);
    }
  }

  /** The code's voucher, its redemptions (write-offs) and reversals, oldest first. */
  async history(code: string): Promise<{ voucher: StoredVoucher; redemptions: VoucherRedemption[]; reversals: WriteOffReversal[] } | undefined> {
    let voucher: StoredVoucher | undefined;
    const redemptions: VoucherRedemption[] = [];
    const reversals: WriteOffReversal[] = [];
    for await (const item of queryAll({ TableName: tableName('vouchers'), KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': voucherPk(code) }, ConsistentRead: true })) {
      const sk = item.sk as string;
      if (sk === VOUCHER_SK) voucher = voucherFromItem(item);
      else if (sk.startsWith('REDEMPTION#')) redemptions.push(strip(item));
      else if (sk.startsWith('REVERSAL#')) reversals.push(strip(item));
    }
    if (!voucher) return undefined;
    const byAt = (a: { at: string }, b: { at: string }) => a.at.localeCompare(b.at);
    return { voucher, redemptions: redemptions.sort(byAt), reversals: reversals.sort(byAt) };
  }

  async redemption(code: string, runId: string): Promise<VoucherRedemption | undefined> {
    const out = await documentClient().send(
      new GetCommand({ TableName: tableName('vouchers'), Key: { pk: voucherPk(code), sk: `REDEMPTION#${runId}` }, ConsistentRead: true }),
    );
    return out.Item ? strip<VoucherRedemption>(out.Item) : undefined;
  }

  /**
   * Writes off up to 50 vouchers in one transaction: each voucher only if still not written off and
   * its remaining value unchanged, each redemption only once per run. Any failed condition cancels
   * the whole group: the caller then retries the vouchers one by one to find out which.
   */
  async writeOff(orders: WriteOffOrder[]): Promise<WriteOffAttempt> {
    if (orders.length === 0) return 'written_off';
    const items: NonNullable<TransactWriteCommandInput['TransactItems']> = [];
    for (const { voucher: v, runId, comment, at } of orders) {
      const writtenOff = { runId, comment, at };
      items.push({
        Update: {
          TableName: tableName('vouchers'),
          Key: { pk: voucherPk(v.code), sk: VOUCHER_SK },
          UpdateExpression: 'SET writtenOff = :w, writtenOffAmount = :r, remaining = :zero',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(writtenOff) OR attribute_type(writtenOff, :nul)) AND remaining = :r AND currency = :c',
          ExpressionAttributeValues: { ':w': writtenOff, ':r': v.remaining.amount, ':zero': 0, ':nul': 'NULL', ':c': v.remaining.currency },
        },
      });
      const redemption: VoucherRedemption = {
        code: v.code,
        runId,
        kind: 'write_off',
        user: WRITE_OFF_USER,
        amount: v.remaining,
        comment,
        at,
        voucherKind: v.kind,
        issuedAt: v.issuedAt,
      };
      items.push({
        Put: {
          TableName: tableName('vouchers'),
          Item: { pk: voucherPk(v.code), sk: `REDEMPTION#${runId}`, ...redemption },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }
    try {
      await documentClient().send(new TransactWriteCommand({ TransactItems: items }));
      return 'written_off';
    } catch (error) {
      const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      if ((error as Error).name === 'TransactionCanceledException' && reasons.some((r) => r.Code === 'ConditionalCheckFailed')) return 'condition_failed';
      throw error;
    }
  }

  /**
   * Restores the remaining value written off by `writeOffRunId` and records the reversal; the
   * write-off's redemption stays. Returns false when the voucher is no longer written off by that run.
   */
  async reverse(code: string, writeOffRunId: string, reversal: WriteOffReversal): Promise<boolean> {
    try {
      await documentClient().send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: tableName('vouchers'),
                Key: { pk: voucherPk(code), sk: VOUCHER_SK },
                UpdateExpression: 'SET remaining = writtenOffAmount, writtenOff = :nul, lastReversal = :rev REMOVE writtenOffAmount',
                ConditionExpression: 'writtenOff.runId = :wr AND attribute_exists(writtenOffAmount)',
                ExpressionAttributeValues: { ':wr': writeOffRunId, ':nul': null, ':rev': { runId: reversal.runId, at: reversal.at, reason: reversal.reason } },
              },
            },
            {
              Put: {
                TableName: tableName('vouchers'),
                Item: { pk: voucherPk(code), sk: `REVERSAL#${reversal.runId}`, ...reversal },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      if ((error as Error).name === 'TransactionCanceledException' && reasons.some((r) => r.Code === 'ConditionalCheckFailed')) return false;
      throw error;
    }
  }

  async reversal(code: string, runId: string): Promise<WriteOffReversal | undefined> {
    const out = await documentClient().send(new GetCommand({ TableName: tableName('vouchers'), Key: { pk: voucherPk(code), sk: `REVERSAL#${runId}` }, ConsistentRead: true }));
    return out.Item ? strip<WriteOffReversal>(out.Item) : undefined;
  }
}

/** The exclusion list (imported `write_off_exclusion` records): catalog items WRITE_OFF_EXCLUSION#id. */
export async function loadWriteOffExclusions(): Promise<string[]> {
  const ids: string[] = [];
  for await (const item of scanAll(tableName('catalog'), { filter: 'sk = :x', values: { ':x': 'WRITE_OFF_EXCLUSION' }, segments: 4 })) ids.push(item.id as string);
  return ids.sort();
}

/**
 * A run keeps the exclusion list it started with (RUN#id / EXCLUSIONS#nnn), so every page of
 * the run decides against the same list and each page reads a few items instead of the catalog.
 */
const EXCLUSIONS_PER_ITEM = 10_000;

export async function snapshotExclusions(runId: string, ids: string[]): Promise<void> {
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += EXCLUSIONS_PER_ITEM) chunks.push(ids.slice(i, i + EXCLUSIONS_PER_ITEM));
  if (chunks.length === 0) chunks.push([]);
  await Promise.all(
    chunks.map((chunk, i) =>
      documentClient().send(new PutCommand({ TableName: tableName('runs'), Item: { pk: `RUN#${runId}`, sk: `EXCLUSIONS#${String(i).padStart(3, '0')}`, ids: chunk } })),
    ),
  );
}

/** The run's exclusion list, all its items (a query page holds 1 MB: a long list spans several). */
export async function readExclusionSnapshot(runId: string): Promise<Set<string> | undefined> {
  const items: Item[] = [];
  for await (const item of runItems(runId, 'EXCLUSIONS#', { consistent: true })) items.push(item);
  if (!items.length) return undefined;
  return new Set(items.flatMap((i) => i.ids as string[]));
}

/** Every page stores the codes it selected (RUN#id / CODES#<segment>#<page>); a retried page overwrites its own item. */
export async function putSelectedCodes(runId: string, segment: number, page: number, codes: string[]): Promise<void> {
  await documentClient().send(
    new PutCommand({
      TableName: tableName('runs'),
      Item: { pk: `RUN#${runId}`, sk: `CODES#${String(segment).padStart(3, '0')}#${String(page).padStart(6, '0')}`, codes },
    }),
  );
}

export async function readSelectedCodes(runId: string): Promise<string[]> {
  const codes: string[] = [];
  for await (const item of runItems(runId, 'CODES#', { consistent: true })) codes.push(...(item.codes as string[]));
  return codes;
}

function strip<T>(item: Item): T {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as T;
}
