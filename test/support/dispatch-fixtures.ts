import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import { documentClient } from '../../lib/adapters/dynamodb/client.ts';
import { scanAll } from '../../lib/adapters/dynamodb/items.ts';
import { refundItem, refundKey } from '../../lib/adapters/dynamodb/refunds.ts';
import { tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { dispatchRefundFromItem, type DispatchRefund } from '../../lib/adapters/dynamodb/dispatch-store.ts';
import { outboxMark } from '../../lib/adapters/dynamodb/outbox.ts';
import { idempotencyKeyFor, refnoFor } from '../../lib/adapters/psp/port.ts';
import { importText } from '../../lib/cli/import.ts';
import type { PaymentMethod } from '../../lib/core/model.ts';
import type { TestRuntime } from './local-runtime.ts';

let txCounter = 0;
/** A fresh 18-digit Datatrans-like transaction id per payment. */
export const newTransactionId = () => `26${String(Date.now() % 1e9).padStart(9, '0')}${String(txCounter++).padStart(7, '0')}`;

export interface FixtureRefund {
  id: string;
  orderId: string;
  method: PaymentMethod;
  amount: number;
  currency: string;
  transactionId: string | null;
  ownerId: string;
  ownerKind: 'customer' | 'agency';
}

/**
 * Imports one order per refund (one ticket, one payment of the given method) for a scenario
 * and puts a pending refund of the whole payment, created at `createdAt`.
 */
export async function pendingRefunds(
  scenario: string,
  createdAt: string,
  specs: {
    method: PaymentMethod;
    amount?: number;
    /** What the payment captured, when more than the refund (the rest is a fee kept): the PSP would take a second credit. */
    paid?: number;
    currency?: string;
    agency?: boolean;
    language?: string;
    settled?: boolean;
    status?: 'pending' | 'returned_to_account';
  }[],
): Promise<FixtureRefund[]> {
  const lines: string[] = [];
  const perf = `P-${scenario}`;
  lines.push(JSON.stringify({ type: 'performance', id: perf, name: `Match ${scenario}`, startsAt: '2026-07-12T18:00:00+02:00', currency: 'CHF' }));
  const refunds: FixtureRefund[] = [];
  specs.forEach((spec, i) => {
    const currency = spec.currency ?? 'CHF';
    const amount = spec.amount ?? 1000 + i * 10;
    const paid = spec.paid ?? amount;
    const orderId = `O-${scenario}-${i}`;
    const ownerId = spec.agency ? `AG-${scenario}-${i}` : `C-${scenario}-${i}`;
    const language = spec.language ?? ['de', 'fr', 'es', 'en'][i % 4];
    lines.push(JSON.stringify({ type: spec.agency ? 'agency' : 'customer', id: ownerId, name: `Owner ${i}`, email: `${ownerId.toLowerCase()}@example.org`, language }));
    const transactionId = spec.method === 'card' || spec.method === 'amazon_pay' ? newTransactionId() : null;
    lines.push(
      JSON.stringify({
        type: 'order',
        id: orderId,
        ...(spec.agency ? { agencyId: ownerId } : { customerId: ownerId }),
        salesChannel: 'web',
        pointOfSale: 'webshop',
        createdAt: '2026-05-01T10:00:00Z',
        tickets: [{ id: `T-${orderId}`, performanceId: perf, quota: 'public', seatCategory: 'A', productFamily: 'single_entry', price: { amount, currency }, state: 'cancelled' }],
        fees: paid > amount ? [{ id: `F-${orderId}`, kind: 'service_fee', amount: { amount: paid - amount, currency } }] : [],
        payments: [{ id: 'PAY1', method: spec.method, amount: { amount: paid, currency }, ...(transactionId ? { pspTransactionId: transactionId } : {}), ...(spec.method === 'intermediate_account' ? { settled: spec.settled ?? true } : {}) }],
      }),
    );
    refunds.push({ id: `R-${orderId}`, orderId, method: spec.method, amount, currency, transactionId, ownerId, ownerKind: spec.agency ? 'agency' : 'customer' });
  });
  const outcome = await importText(`${lines.join('\n')}\n`);
  if (!outcome.ok) throw new Error(`fixture import failed: ${JSON.stringify(outcome.issues)}`);
  for (const [i, r] of refunds.entries()) {
    const status = specs[i]?.status ?? 'pending';
    const item = refundItem({
      id: r.id,
      orderId: r.orderId,
      paymentId: 'PAY1',
      method: r.method,
      amount: { amount: r.amount, currency: r.currency },
      status,
      reason: 'cancellation',
      createdAt,
      ownerId: r.ownerId,
      ownerKind: r.ownerKind,
      pspTransactionId: r.transactionId,
      performanceId: perf,
    });
    // A return to an intermediate account is written by the cancellation with its agency email owed.
    if (status === 'returned_to_account') Object.assign(item, outboxMark(r, 'returned_to_account', r.id));
    await documentClient().send(new PutCommand({ TableName: tableName('refunds'), Item: item }));
  }
  return refunds;
}

export async function setAmount(refundId: string, amount: number): Promise<void> {
  await documentClient().send(
    new UpdateCommand({ TableName: tableName('refunds'), Key: refundKey(refundId), UpdateExpression: 'SET amount = :a, version = version + :one', ExpressionAttributeValues: { ':a': amount, ':one': 1 } }),
  );
}

export async function allRefunds(): Promise<Map<string, DispatchRefund>> {
  const map = new Map<string, DispatchRefund>();
  for await (const item of scanAll(tableName('refunds'), { filter: 'sk = :r', values: { ':r': 'REFUND' } })) {
    const r = dispatchRefundFromItem(item);
    map.set(r.id, r);
  }
  return map;
}

export async function creditEntries(): Promise<Map<string, { ownerId: string; amount: number; currency: string }>> {
  const map = new Map<string, { ownerId: string; amount: number; currency: string }>();
  for await (const item of scanAll(tableName('creditAccounts'))) {
    map.set(item.refundId as string, { ownerId: item.ownerId as string, amount: item.amount as number, currency: item.currency as string });
  }
  return map;
}

interface SesMail {
  messageId: string;
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
}

export async function sesEmails(rt: TestRuntime): Promise<SesMail[]> {
  const res = await fetch(`${rt.sesUrl}/store`);
  return ((await res.json()) as { emails: SesMail[] }).emails;
}

/**
 * The checks after every scenario: our ledger equals the sandbox's (every refunded refund has
 * exactly one booked API credit with its key and amount; no booked API credit we do not know), no refund
 * both refunded and credited, and the emails received match the outcomes (one per order and kind).
 */
export async function assertConsistent(rt: TestRuntime): Promise<void> {
  const refunds = await allRefunds();
  const entries = await creditEntries();
  const byRefno = new Map([...refunds.values()].map((r) => [refnoFor(r.id), r]));
  // Back-office credits (source admin) are never ours.
  const booked = rt.sandbox.ledger().filter((c) => c.status === 'booked' && c.source === 'api');
  for (const credit of booked) {
    const r = byRefno.get(credit.refno);
    expect(r, `sandbox credit ${credit.refno} is not one of our refunds`).toBeDefined();
    expect(r?.status, `sandbox booked ${credit.refno}, we hold it ${r?.status}`).toBe('refunded');
  }
  for (const r of refunds.values()) {
    const credits = booked.filter((c) => c.refno === refnoFor(r.id));
    if (r.status === 'refunded') {
      expect(credits, `refund ${r.id} refunded once at the PSP`).toHaveLength(1);
      expect(credits[0]?.amount).toEqual(r.amount);
      expect(credits[0]?.idempotencyKey).toBe(idempotencyKeyFor(r.id, r.attempt ?? 1));
      expect(entries.has(r.id), `refund ${r.id} both refunded and credited`).toBe(false);
    } else {
      expect(credits, `refund ${r.id} (${r.status}) has a booked PSP credit`).toHaveLength(0);
    }
    expect(entries.has(r.id)).toBe(r.status === 'credited');
    if (r.status === 'credited') expect(entries.get(r.id)).toEqual({ ownerId: r.ownerId, amount: r.amount.amount, currency: r.amount.currency });
  }
  // Emails: every sent notification is one received email, one per order and kind.
  const mails = await sesEmails(rt);
  const byMessage = new Map(mails.map((m) => [m.messageId, m]));
  const groups = new Map<string, Set<string>>();
  for (const r of refunds.values()) {
    for (const n of r.sentEmails ?? []) {
    const mail = byMessage.get(n.messageId);
    expect(mail, `email of refund ${r.id} received`).toBeDefined();
    expect(mail?.destination.to).toEqual([`${r.ownerId.toLowerCase()}@example.org`]);
    expect(mail?.body.text).toContain(r.orderId);
    const key = `${r.orderId}#${n.kind}`;
    groups.set(key, (groups.get(key) ?? new Set()).add(n.messageId));
    }
  }
  const sentIds = new Set([...groups.values()].flatMap((s) => [...s]));
  expect(mails.filter((m) => !sentIds.has(m.messageId)), 'emails we did not record').toEqual([]);
  for (const [key, ids] of groups) expect(ids.size, `one email for ${key}`).toBe(1);
}

export type Report = { runId: string; status: string; outcomes: Record<string, { count: number; totals: Record<string, number> }>; errors: { code: string; message: string }[]; [k: string]: unknown };
