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

/** One movement of a ledger: its key, what caused it, the signed amount in minor units, when (and by which run). */
function movementItem(pk: string, sk: string, cause: Record<string, string>, amount: number, currency: string, at: string, runId?: string): Item {
  return { pk, sk, ...cause, amount, currency, at, ...(runId === undefined ? {} : { runId }) };
}

export function creditEntryItem(e: { ownerId: string; ownerKind: 'customer' | 'agency'; refundId: string; orderId: string; amount: Money; at: string; runId: string }): Item {
  const cause = { ownerId: e.ownerId, ownerKind: e.ownerKind, refundId: e.refundId, orderId: e.orderId };
  return movementItem(creditAccountPk(e.ownerId), `ENTRY#${e.refundId}`, cause, e.amount.amount, e.amount.currency, e.at, e.runId);
}

export function openItemItem(e: { agencyId: string; orderId: string; paymentId: string; amount: Money; at: string }): Item {
  const cause = { agencyId: e.agencyId, orderId: e.orderId, paymentId: e.paymentId };
  return movementItem(intermediateAccountPk(e.agencyId), `ITEM#${e.orderId}#${e.paymentId}`, cause, e.amount.amount, e.amount.currency, e.at);
}

export function returnItem(e: { agencyId: string; refundId: string; orderId: string; amount: Money; at: string; runId: string }): Item {
  const cause = { agencyId: e.agencyId, refundId: e.refundId, orderId: e.orderId };
  return movementItem(intermediateAccountPk(e.agencyId), `RETURN#${e.refundId}`, cause, -e.amount.amount, e.amount.currency, e.at, e.runId);
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

/** Every owner's balance per currency in one ledger table, owners in order. */
async function balancesBy(table: 'creditAccounts' | 'intermediateAccounts', ownerField: string) {
  const items: Item[] = [];
  for await (const item of scanAll(tableName(table))) items.push(item);
  return [...sumByOwner(items, ownerField).entries()].sort(([a], [b]) => a.localeCompare(b));
}

export async function creditAccounts(): Promise<{ ownerId: string; ownerKind?: string; balance: Money[] }[]> {
  return (await balancesBy('creditAccounts', 'ownerId')).map(([ownerId, { kind, totals }]) => ({ ownerId, ...(kind ? { ownerKind: kind } : {}), balance: toMoneyList(totals) }));
}

export async function intermediateAccounts(): Promise<{ agencyId: string; openItems: Money[] }[]> {
  return (await balancesBy('intermediateAccounts', 'agencyId')).map(([agencyId, { totals }]) => ({ agencyId, openItems: toMoneyList(totals) }));
}
