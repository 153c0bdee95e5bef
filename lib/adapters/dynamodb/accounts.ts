import type { Money } from '../../core/money.ts';
import { scanAll, type Item } from './items.ts';
import { tableName } from './table-names.ts';
import { getOrCreate } from '../../core/collections.ts';

/**
 * Accounts are ledgers: one item per movement, keyed by what caused it (a refund id, an
 * imported payment), so writing a movement twice is a no-op and a balance is the sum of entries.
 *
 * Credit accounts:       pk OWNER#<customer or agency id>, sk ENTRY#<refundId>
 * Intermediate accounts: pk AGENCY#<agency id>, sk ITEM#<orderId>#<paymentId> (open item, +)
 *                                              or RETURN#<refundId> (money returned, −)
 */
export const creditAccountPk = (ownerId: string) => `OWNER#${ownerId}`;
export const intermediateAccountPk = (agencyId: string) => `AGENCY#${agencyId}`;

export function creditEntryItem(e: { ownerId: string; ownerKind: 'customer' | 'agency'; refundId: string; orderId: string; amount: Money; at: string; runId: string }): Item {
  return {
    pk: creditAccountPk(e.ownerId),
    sk: `ENTRY#${e.refundId}`,
    ownerId: e.ownerId,
    ownerKind: e.ownerKind,
    refundId: e.refundId,
    orderId: e.orderId,
    amount: e.amount.amount,
    currency: e.amount.currency,
    at: e.at,
    runId: e.runId,
  };
}

export function openItemItem(e: { agencyId: string; orderId: string; paymentId: string; amount: Money; at: string }): Item {
  return {
    pk: intermediateAccountPk(e.agencyId),
    sk: `ITEM#${e.orderId}#${e.paymentId}`,
    agencyId: e.agencyId,
    orderId: e.orderId,
    paymentId: e.paymentId,
    amount: e.amount.amount,
    currency: e.amount.currency,
    at: e.at,
  };
}

export function returnItem(e: { agencyId: string; refundId: string; orderId: string; amount: Money; at: string; runId: string }): Item {
  return {
    pk: intermediateAccountPk(e.agencyId),
    sk: `RETURN#${e.refundId}`,
    agencyId: e.agencyId,
    refundId: e.refundId,
    orderId: e.orderId,
    amount: -e.amount.amount,
    currency: e.amount.currency,
    at: e.at,
    runId: e.runId,
  };
}

function sumByOwner(items: Item[], ownerField: string): Map<string, { kind?: string; totals: Map<string, number> }> {
  const owners = new Map<string, { kind?: string; totals: Map<string, number> }>();
  for (const item of items) {
    const owner = item[ownerField] as string;
    const entry = getOrCreate(owners, owner, () => ({ kind: item.ownerKind as string | undefined, totals: new Map() }));
    const currency = item.currency as string;
    entry.totals.set(currency, (entry.totals.get(currency) ?? 0) + (item.amount as number));
  }
  return owners;
}

const toMoneyList = (totals: Map<string, number>): Money[] =>
  [...totals.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([currency, amount]) => ({ amount, currency }));

export async function creditAccounts(): Promise<{ ownerId: string; ownerKind?: string; balance: Money[] }[]> {
  const items: Item[] = [];
  for await (const item of scanAll(tableName('creditAccounts'))) items.push(item);
  return [...sumByOwner(items, 'ownerId').entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ownerId, { kind, totals }]) => ({ ownerId, ...(kind ? { ownerKind: kind } : {}), balance: toMoneyList(totals) }));
}

export async function intermediateAccounts(): Promise<{ agencyId: string; openItems: Money[] }[]> {
  const items: Item[] = [];
  for await (const item of scanAll(tableName('intermediateAccounts'))) items.push(item);
  return [...sumByOwner(items, 'agencyId').entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([agencyId, { totals }]) => ({ agencyId, openItems: toMoneyList(totals) }));
}
