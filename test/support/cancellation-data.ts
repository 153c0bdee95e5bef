import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../lib/adapters/dynamodb/client.ts';
import { intermediateAccounts } from '../../lib/adapters/dynamodb/accounts.ts';
import { scanAll } from '../../lib/adapters/dynamodb/items.ts';
import { ticketFromItem } from '../../lib/adapters/dynamodb/orders.ts';
import { RefundRepository, type StoredRefund } from '../../lib/adapters/dynamodb/refunds.ts';
import { tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { importText } from '../../lib/cli/import.ts';

/**
 * A small, hand-made performance whose orders cover what a cancellation must get right, with
 * every id prefixed so one test file can import several independent copies:
 *  O1 card, two P1 tickets + fee        O2 card + voucher, one P1 ticket (sponsor, controlled) + one P2 ticket
 *  O3 agency unsettled on account       O4 agency settled on account
 *  O5 klarna, one P1 ticket already cancelled + one valid   O6 card + bank transfer
 *  (O5 and O6 sold at the box office, the rest on the web; tariffs: T2 and T9 child, T7 none, others adult)
 *  then `extra` one-ticket card orders (E1...) for volume.
 */
export function cancellationDataset(p: string, extra = 0): string {
  const chf = (amount: number) => ({ amount, currency: 'CHF' });
  // Tariffs: children on T2 and T9, none on T7, adult otherwise.
  const tariffOf = (id: string) => (id === 'T2' || id === 'T9' ? 'child' : id === 'T7' ? undefined : 'adult');
  const t = (id: string, perf: string, quota: string, seatCategory: string, price: number, state = 'valid', productFamily = 'single_entry') => ({
    id: `${p}${id}`,
    performanceId: `${p}${perf}`,
    quota,
    seatCategory,
    productFamily,
    ...(tariffOf(id) ? { tariff: tariffOf(id) } : {}),
    price: chf(price),
    state,
  });
  let tx = 0;
  const digits = [...p].map((c) => c.charCodeAt(0)).join('');
  const card = (id: string, amount: number, method = 'card') => ({ id, method, amount: chf(amount), pspTransactionId: `${digits.slice(0, 10).padEnd(10, '0')}${String(++tx).padStart(8, '0')}` });
  const boxOffice = new Set(['O5', 'O6']);
  const order = (id: string, owner: object, tickets: object[], payments: object[], fees: object[] = []) => ({
    type: 'order',
    id: `${p}${id}`,
    ...owner,
    salesChannel: boxOffice.has(id) ? 'box_office' : 'web',
    pointOfSale: boxOffice.has(id) ? 'Kasse Stadion' : 'webshop',
    createdAt: '2026-05-01T10:00:00Z',
    tickets,
    fees,
    payments,
  });
  const lines: object[] = [
    { type: 'performance', id: `${p}P1`, name: 'Match', startsAt: '2026-07-12T18:00:00+02:00', currency: 'CHF' },
    { type: 'performance', id: `${p}P2`, name: 'Concert', startsAt: '2026-07-19T20:00:00+02:00', currency: 'CHF' },
    { type: 'customer', id: `${p}C1`, email: 'c1@example.org', language: 'de', name: 'Anna Muster' },
    { type: 'customer', id: `${p}C2`, email: 'c2@example.org', language: 'fr', name: 'Léa Exemple' },
    { type: 'agency', id: `${p}AG1`, name: 'Tickets Ltd', email: 'office@ag1.example.com', language: 'fr' },
    { type: 'agency', id: `${p}AG2`, name: 'Kartenhaus', email: 'office@ag2.example.com', language: 'de' },
    order('O1', { customerId: `${p}C1` }, [t('T1', 'P1', 'public', 'A', 10000), t('T2', 'P1', 'public', 'B', 8000)], [card('PAY1', 18300)], [{ id: 'F1', kind: 'service_fee', amount: chf(300) }]),
    order('O2', { customerId: `${p}C2` }, [t('T3', 'P1', 'sponsor', 'A', 10000, 'controlled'), t('T4', 'P2', 'public', 'A', 5000)], [card('PAY1', 10000), { id: 'PAY2', method: 'voucher', amount: chf(5000) }]),
    order('O3', { agencyId: `${p}AG1` }, [t('T5', 'P1', 'season', 'C', 6000, 'valid', 'season_ticket'), t('T6', 'P1', 'season', 'C', 6000, 'valid', 'season_ticket')], [{ id: 'PAY1', method: 'intermediate_account', amount: chf(12000) }]),
    order('O4', { agencyId: `${p}AG2` }, [t('T7', 'P1', 'public', 'B', 8000)], [{ id: 'PAY1', method: 'intermediate_account', amount: chf(8000), settled: true }]),
    order('O5', { customerId: `${p}C1` }, [t('T8', 'P1', 'public', 'C', 7000, 'cancelled'), t('T9', 'P1', 'public', 'C', 7000)], [{ id: 'PAY1', method: 'klarna', amount: chf(14000) }]),
    order('O6', { customerId: `${p}C2` }, [t('T10', 'P1', 'public', 'B', 10000)], [{ id: 'PAY1', method: 'bank_transfer', amount: chf(5000) }, card('PAY2', 5000)]),
  ];
  for (let i = 1; i <= extra; i++) lines.push(order(`E${i}`, { customerId: `${p}C1` }, [t(`TE${i}`, 'P1', 'public', 'D', 3000 + i)], [card('PAY1', 3000 + i)]));
  return lines.map((l) => JSON.stringify(l)).join('\n');
}

export async function importDataset(text: string): Promise<void> {
  const outcome = await importText(text);
  if (!outcome.ok) throw new Error(`import failed: ${JSON.stringify(outcome.issues)}`);
}

/** The state a cancellation leaves, with the dataset prefix removed and run ids left out: comparable across copies. */
export async function stateOf(p: string): Promise<{ tickets: unknown[]; refunds: unknown[]; accounts: unknown[]; headers: unknown[] }> {
  const strip = (s: unknown) => (typeof s === 'string' ? s.split(p).join('') : s);
  const tickets: Record<string, unknown>[] = [];
  const headers: Record<string, unknown>[] = [];
  for await (const item of scanAll(tableName('orders'))) {
    if (!String(item.pk).startsWith(`ORDER#${p}`)) continue;
    if (String(item.sk).startsWith('TICKET#')) {
      const t = ticketFromItem(item);
      tickets.push({ id: strip(t.id), state: t.state, price: t.price, replacesTicketId: strip(t.replacesTicketId ?? null), replacedByTicketId: strip(t.replacedByTicketId ?? null) });
    }
    if (item.sk === 'HEADER') headers.push({ id: strip(item.id), version: item.version, cancellationCount: item.cancellationCount, feesRefunded: item.feesRefunded, lease: item.booking ? 'held' : null });
  }
  const refunds: StoredRefund[] = [];
  for await (const r of new RefundRepository().scanAll()) if (r.orderId.startsWith(p)) refunds.push(r);
  const accounts = (await intermediateAccounts()).filter((a) => a.agencyId.startsWith(p)).map((a) => ({ ...a, agencyId: strip(a.agencyId) }));
  const byId = (a: { id?: unknown }, b: { id?: unknown }) => String(a.id).localeCompare(String(b.id));
  return {
    tickets: tickets.sort(byId),
    headers: headers.sort(byId),
    refunds: refunds
      .map((r) => ({ id: strip(r.id), orderId: strip(r.orderId), paymentId: r.paymentId, method: r.method, amount: r.amount, status: r.status, reason: r.reason, ownerId: strip(r.ownerId), ownerKind: r.ownerKind }))
      .sort(byId),
    accounts,
  };
}

export async function refundsOf(orderId: string): Promise<StoredRefund[]> {
  const out = await documentClient().send(
    new QueryCommand({ TableName: tableName('refunds'), IndexName: 'byOrder', KeyConditionExpression: 'orderId = :o', ExpressionAttributeValues: { ':o': orderId } }),
  );
  const repo = new RefundRepository();
  const refunds = await Promise.all((out.Items ?? []).map((i) => repo.get(String(i.id))));
  return refunds.filter((r): r is StoredRefund => r !== undefined).sort((a, b) => a.id.localeCompare(b.id));
}
