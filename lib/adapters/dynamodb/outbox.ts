import { BatchGetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { OUTBOX_SHARDS } from '../../core/email-sending.ts';
import type { Money } from '../../core/money.ts';
import type { PaymentMethod, RefundReason } from '../../core/model.ts';
import type { NotificationKind } from '../../core/refund-emails.ts';
import { documentClient } from './client.ts';
import { isConditionFailure, type Item } from './items.ts';
import { shardOf } from './refunds.ts';
import { INDEX, tableName } from './table-names.ts';

/**
 * The notification outbox: every email owed is a mark on the item that owes it, written in the
 * same transaction as the move of money (a refund refunded, credited, returned, failed late) or
 * the cancellation (a cancellation notice, its own item). The sparse `outbox` index of the
 * refunds table lists the marks; SendEmails drains it. A mark goes unsent -> sending (before SES)
 * -> sent (leaves the index), so an email is sent at most once, even by two senders at once.
 */

export { OUTBOX_SHARDS };
/** Rejected this many times by SES, a mark stops being retried (status `failed`, out of the outbox). */
export const MAX_EMAIL_ATTEMPTS = 5;

export interface Notification {
  kind: NotificationKind;
  status: 'unsent' | 'sending' | 'sent' | 'failed';
  runId?: string;
  attempts?: number;
  lastError?: string;
  sentAt?: string;
  messageId?: string;
}

/** Who owns the money (and gets the email), and the order it belongs to. */
export interface OutboxOwner {
  orderId: string;
  ownerId: string;
  ownerKind: 'customer' | 'agency';
}

/**
 * The outbox attributes of a mark. Marks of one order and kind sit next to each other (one
 * email); an agency's returns sit next to each other across its orders (one email lists them).
 */
export function outboxMark(owner: OutboxOwner, kind: NotificationKind, itemId: string): Item {
  const byAgency = kind === 'returned_to_account' && owner.ownerKind === 'agency';
  const shardKey = byAgency ? owner.ownerId : owner.orderId;
  return {
    outboxShard: `OUTBOX#${String(shardOf(shardKey, OUTBOX_SHARDS)).padStart(2, '0')}`,
    outboxKey: byAgency ? `AGENCY#${owner.ownerId}#${owner.orderId}#${itemId}` : `${owner.orderId}#${kind}#${itemId}`,
    notification: { kind, status: 'unsent' },
  };
}

/** What a cancellation notice tells: written with the cancellation, in the refunds table, under the outbox. */
export interface CancellationNotice extends OutboxOwner {
  cancellationId: string;
  performanceId: string;
  tickets: number;
  /** What will be refunded (pending refunds; money back on an agency account has its own email). */
  refund: Money[];
  createdAt: string;
  createdByRun: string;
}

export function noticeKey(cancellationId: string) {
  return { pk: `NOTICE#${cancellationId}`, sk: 'NOTICE' };
}

export function cancellationNoticeItem(n: CancellationNotice): Item {
  // orderId is kept inside `notice` so the item stays out of the refunds' byOrder index.
  const { orderId, ...rest } = n;
  return { ...noticeKey(n.cancellationId), id: n.cancellationId, ownerId: n.ownerId, ownerKind: n.ownerKind, notice: { ...rest, orderId }, ...outboxMark(n, 'cancellation_notice', n.cancellationId) };
}

/** One mark of the outbox, with what its email needs. */
export interface OutboxEntry extends OutboxOwner {
  key: { pk: string; sk: string };
  id: string;
  notification: Notification;
  /** A refund's facts (absent on a notice). */
  refund?: {
    amount: Money;
    method: PaymentMethod;
    reason: RefundReason;
    performanceId: string | null;
    percentHundredths: number | null;
    pspCode: string | null;
    runIds: string[];
  };
  notice?: { performanceId: string; tickets: number; refund: Money[] };
}

function entryOf(item: Item): OutboxEntry {
  const key = { pk: item.pk as string, sk: item.sk as string };
  const notification = item.notification as Notification;
  if (item.sk === 'NOTICE') {
    const n = item.notice as { orderId: string; performanceId: string; tickets: number; refund: Money[] };
    return { key, id: item.id as string, orderId: n.orderId, ownerId: item.ownerId as string, ownerKind: item.ownerKind as 'customer' | 'agency', notification, notice: { performanceId: n.performanceId, tickets: n.tickets, refund: n.refund } };
  }
  return {
    key,
    id: item.id as string,
    orderId: item.orderId as string,
    ownerId: item.ownerId as string,
    ownerKind: item.ownerKind as 'customer' | 'agency',
    notification,
    refund: {
      amount: { amount: item.amount as number, currency: item.currency as string },
      method: item.method as PaymentMethod,
      reason: (item.reason as RefundReason | undefined) ?? 'cancellation',
      performanceId: (item.performanceId as string | undefined) ?? null,
      percentHundredths: (item.percentHundredths as number | undefined) ?? null,
      pspCode: (item.pspCode as string | undefined) ?? null,
      runIds: (item.runIds as string[] | undefined) ?? [],
    },
  };
}

export interface OutboxPage {
  entries: OutboxEntry[];
  /** The index key of each entry, to resume after any of them. */
  keys: Item[];
  cursor: string | null;
}

export interface SentMark {
  key: { pk: string; sk: string };
  kind: NotificationKind;
  messageId: string;
  at: string;
}

function sendingUpdate(e: Pick<OutboxEntry, 'key' | 'notification'>, runId: string): Record<string, unknown> {
  return {
    TableName: tableName('refunds'),
    Key: e.key,
    UpdateExpression: 'SET notification.#st = :sending, notification.runId = :run',
    ConditionExpression: 'notification.#st = :unsent AND notification.kind = :kind',
    ExpressionAttributeNames: { '#st': 'status' },
    ExpressionAttributeValues: { ':sending': 'sending', ':unsent': 'unsent', ':kind': e.notification.kind, ':run': runId },
  };
}

function sentUpdate(m: SentMark): Record<string, unknown> {
  return {
    TableName: tableName('refunds'),
    Key: m.key,
    UpdateExpression:
      'SET notification.#st = :sent, notification.sentAt = :at, notification.messageId = :m, sentEmails = list_append(if_not_exists(sentEmails, :none), :sentList) REMOVE outboxShard, outboxKey',
    ConditionExpression: 'notification.#st = :sending AND notification.kind = :kind',
    ExpressionAttributeNames: { '#st': 'status' },
    ExpressionAttributeValues: { ':sent': 'sent', ':sending': 'sending', ':kind': m.kind, ':at': m.at, ':m': m.messageId, ':none': [], ':sentList': [{ kind: m.kind, messageId: m.messageId, at: m.at }] },
  };
}

/** sending -> unsent (back in the outbox) or failed (out of it), with the last reason and the refusals counted. */
function unsendingUpdate(e: Pick<OutboxEntry, 'key' | 'notification'>, status: 'unsent' | 'failed', reason: string, attempts: number): Record<string, unknown> {
  return {
    TableName: tableName('refunds'),
    Key: e.key,
    UpdateExpression: `SET notification.#st = :${status}, notification.lastError = :e, notification.attempts = :n${status === 'failed' ? ' REMOVE outboxShard, outboxKey' : ''}`,
    ConditionExpression: 'notification.#st = :sending AND notification.kind = :kind',
    ExpressionAttributeNames: { '#st': 'status' },
    ExpressionAttributeValues: { [`:${status}`]: status, ':sending': 'sending', ':kind': e.notification.kind, ':e': reason.slice(0, 300), ':n': attempts },
  };
}

const MAX_ACTIONS = 100;


/** One transaction of independent updates: false if a condition failed or it conflicted (nothing written). */
async function tryPacked(actions: Record<string, unknown>[]): Promise<boolean> {
  if (actions.length < 2) return false;
  try {
    await documentClient().send(new TransactWriteCommand({ TransactItems: actions.map((Update) => ({ Update })) as never }));
    return true;
  } catch (error) {
    const codes = ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((c) => c.Code);
    if (isConditionFailure(error) || (error as Error).name === 'TransactionConflictException' || codes.includes('TransactionConflict')) return false;
    throw error;
  }
}

/** One update, false when its condition no longer holds (the mark moved meanwhile). */
async function tryUpdate(update: Record<string, unknown>): Promise<boolean> {
  try {
    await documentClient().send(new UpdateCommand(update as never));
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export class OutboxStore {
  /** One page of an outbox shard, in key order. */
  async page(shard: number, cursor: string | null, limit: number): Promise<OutboxPage> {
    const out = await documentClient().send(
      new QueryCommand({
        TableName: tableName('refunds'),
        IndexName: INDEX.notificationOutbox,
        KeyConditionExpression: 'outboxShard = :s',
        ExpressionAttributeValues: { ':s': `OUTBOX#${String(shard).padStart(2, '0')}` },
        Limit: limit,
        ExclusiveStartKey: cursor ? (JSON.parse(cursor) as Item) : undefined,
      }),
    );
    const items = out.Items ?? [];
    return {
      entries: items.map(entryOf),
      keys: items.map((i) => ({ pk: i.pk, sk: i.sk, outboxShard: i.outboxShard, outboxKey: i.outboxKey })),
      cursor: out.LastEvaluatedKey ? JSON.stringify(out.LastEvaluatedKey) : null,
    };
  }

  /** The cursor after the first `used` entries of a page: the page's own cursor when it used them all. */
  resumeAfter(page: OutboxPage, used: number): string | null {
    return used < page.entries.length ? JSON.stringify(page.keys[used - 1]) : page.cursor;
  }

  /**
   * unsent -> sending before SES, packed up to 100 to a transaction (a pack with a mark that moved
   * meanwhile is marked one by one). Returns the entries marked by this call: only those may be sent.
   */
  async markSending(entries: readonly OutboxEntry[], runId: string): Promise<Set<OutboxEntry>> {
    const marked = new Set<OutboxEntry>();
    for (let i = 0; i < entries.length; i += MAX_ACTIONS) {
      const pack = entries.slice(i, i + MAX_ACTIONS);
      if (await tryPacked(pack.map((e) => sendingUpdate(e, runId)))) {
        for (const e of pack) marked.add(e);
        continue;
      }
      for (const e of pack) if (await tryUpdate(sendingUpdate(e, runId))) marked.add(e);
    }
    return marked;
  }

  /** sending -> sent, and the mark leaves the outbox; packed like markSending. */
  async markSent(sent: readonly SentMark[]): Promise<void> {
    for (let i = 0; i < sent.length; i += MAX_ACTIONS) {
      const pack = sent.slice(i, i + MAX_ACTIONS);
      if (await tryPacked(pack.map(sentUpdate))) continue;
      // A mark that changed meanwhile (a newer email owed on the refund) stays as it is.
      for (const m of pack) await tryUpdate(sentUpdate(m));
    }
  }

  /**
   * SES did not take the email: back to unsent, for this run's next sweep or the next run.
   * `countAttempt` for a refusal of this email (not for throttling); the last allowed refusal
   * ends the mark as `failed`, out of the outbox, with the reason (the run report lists it).
   */
  async release(e: Pick<OutboxEntry, 'key' | 'notification'>, reason: string, countAttempt: boolean): Promise<'unsent' | 'failed'> {
    const attempts = (e.notification.attempts ?? 0) + (countAttempt ? 1 : 0);
    if (countAttempt && attempts >= MAX_EMAIL_ATTEMPTS) {
      await this.fail(e, reason, attempts);
      return 'failed';
    }
    await tryUpdate(unsendingUpdate(e, 'unsent', reason, attempts));
    return 'unsent';
  }

  /** A mark no retry can deliver (no address, rejected too often): failed, out of the outbox. */
  async fail(e: Pick<OutboxEntry, 'key' | 'notification'>, reason: string, attempts = e.notification.attempts ?? 0): Promise<void> {
    await tryUpdate(unsendingUpdate(e, 'failed', reason, attempts));
  }
}

export interface Recipient {
  email: string;
  language: string;
  name: string;
}

/** The catalog records (customers, agencies) who get the emails. */
export async function recipientsOf(owners: readonly { ownerId: string; ownerKind: 'customer' | 'agency' }[]): Promise<Map<string, Recipient>> {
  const unique = [...new Map(owners.map((o) => [`${o.ownerKind}:${o.ownerId}`, o])).values()];
  const result = new Map<string, Recipient>();
  const items = await batchGetCatalog(unique.map((o) => (o.ownerKind === 'agency' ? { pk: `AGENCY#${o.ownerId}`, sk: 'AGENCY' } : { pk: `CUSTOMER#${o.ownerId}`, sk: 'CUSTOMER' })));
  for (const item of items) {
    const kind = item.sk === 'AGENCY' ? 'agency' : 'customer';
    result.set(`${kind}:${item.id as string}`, { email: item.email as string, language: (item.language as string) ?? 'en', name: (item.name as string) ?? '' });
  }
  return result;
}

/** Performances by id (name and start), for the emails' event lines. */
export async function performancesOf(ids: readonly string[]): Promise<Map<string, { name: string; startsAt: string }>> {
  const items = await batchGetCatalog([...new Set(ids)].map((id) => ({ pk: `PERFORMANCE#${id}`, sk: 'PERFORMANCE' })));
  return new Map(items.map((i) => [i.id as string, { name: i.name as string, startsAt: i.startsAt as string }]));
}

async function batchGetCatalog(keys: Item[]): Promise<Item[]> {
  const items: Item[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let request = keys.slice(i, i + 100);
    for (let attempt = 0; request.length > 0; attempt++) {
      const out = await documentClient().send(new BatchGetCommand({ RequestItems: { [tableName('catalog')]: { Keys: request } } }));
      items.push(...(out.Responses?.[tableName('catalog')] ?? []));
      request = (out.UnprocessedKeys?.[tableName('catalog')]?.Keys ?? []) as Item[];
      if (request.length > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** Math.min(attempt, 6)));
    }
  }
  return items;
}
