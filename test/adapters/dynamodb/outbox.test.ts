import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../../lib/adapters/dynamodb/client.ts';
import { MAX_EMAIL_ATTEMPTS, OUTBOX_SHARDS, OutboxStore, outboxMark, type OutboxEntry } from '../../../lib/adapters/dynamodb/outbox.ts';
import { refundItem } from '../../../lib/adapters/dynamodb/refunds.ts';
import { tableName } from '../../../lib/adapters/dynamodb/table-names.ts';
import { allRefunds } from '../../support/dispatch-fixtures.ts';
import { startTestRuntime, type TestRuntime } from '../../support/local-runtime.ts';

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(async () => rt?.stop());

/** Credited refunds that each owe a `credited` email. */
async function owed(prefix: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}-${i}`;
    const owner = { orderId: `O-${id}`, ownerId: `C-${id}`, ownerKind: 'customer' as const };
    const item = refundItem({ id, ...owner, paymentId: 'PAY1', method: 'klarna', amount: { amount: 1000, currency: 'CHF' }, status: 'credited', reason: 'cancellation', createdAt: '2026-05-01T00:00:00Z' });
    await documentClient().send(new PutCommand({ TableName: tableName('refunds'), Item: { ...item, ...outboxMark(owner, 'credited', id) } }));
    ids.push(id);
  }
  return ids;
}

async function entriesOf(ids: string[]): Promise<OutboxEntry[]> {
  const store = new OutboxStore();
  const entries: OutboxEntry[] = [];
  for (let shard = 0; shard < OUTBOX_SHARDS; shard++) {
    let cursor: string | null = null;
    do {
      const page = await store.page(shard, cursor, 100);
      entries.push(...page.entries.filter((e) => ids.includes(e.id)));
      cursor = page.cursor;
    } while (cursor);
  }
  return entries;
}

describe('the notification outbox', () => {
  it('marks sending in one pack, leaves out a mark another sender took first, and marks them sent: out of the outbox', async () => {
    // prepare
    const ids = await owed('pack', 5);
    const entries = await entriesOf(ids);
    const store = new OutboxStore();
    expect((await store.markSending([entries[2]!], 'other-run')).size).toBe(1);
    // act
    const marked = await store.markSending(entries, 'email-run');
    await store.markSent([...marked].map((e) => ({ key: e.key, kind: 'credited' as const, messageId: `m-${e.id}`, at: '2026-05-02T00:00:00Z' })));
    // assess
    expect([...marked].map((e) => e.id).sort()).toEqual(ids.filter((_, i) => i !== 2).sort());
    const refunds = await allRefunds();
    for (const [i, id] of ids.entries()) {
      if (i === 2) expect(refunds.get(id)?.notification).toMatchObject({ status: 'sending', runId: 'other-run' });
      else expect(refunds.get(id)?.notification).toMatchObject({ status: 'sent', runId: 'email-run', messageId: `m-${id}` });
    }
    expect((await entriesOf(ids)).map((e) => e.id)).toEqual([ids[2]]); // only the one still sending
    expect((await store.markSending(entries, 'email-run-2')).size).toBe(0); // nothing unsent: nothing can go out twice
  });

  it('puts a refused email back for later, and gives up after the last allowed refusal; throttling counts no attempt', async () => {
    // prepare
    const [id] = await owed('refused', 1);
    const store = new OutboxStore();
    // act: throttled once, then refused until it ends
    let entry = (await entriesOf([id!]))[0]!;
    await store.markSending([entry], 'r');
    expect(await store.release(entry, 'Throttling: Maximum sending rate exceeded.', false)).toBe('unsent');
    const outcomes: string[] = [];
    for (let i = 0; i < MAX_EMAIL_ATTEMPTS; i++) {
      entry = (await entriesOf([id!]))[0]!;
      await store.markSending([entry], 'r');
      outcomes.push(await store.release(entry, 'MessageRejected: Address blacklisted.', true));
    }
    // assess
    expect(outcomes).toEqual([...Array(MAX_EMAIL_ATTEMPTS - 1).fill('unsent'), 'failed']);
    expect((await allRefunds()).get(id!)?.notification).toMatchObject({ status: 'failed', attempts: MAX_EMAIL_ATTEMPTS, lastError: 'MessageRejected: Address blacklisted.' });
    expect(await entriesOf([id!])).toEqual([]);
  });
});
