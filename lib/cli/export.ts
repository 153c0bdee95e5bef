import { creditAccounts, intermediateAccounts } from '../adapters/dynamodb/accounts.ts';
import { scanAll } from '../adapters/dynamodb/items.ts';
import { OrderRepository, ticketFromItem } from '../adapters/dynamodb/orders.ts';
import { RefundRepository } from '../adapters/dynamodb/refunds.ts';
import { RunRepository } from '../adapters/dynamodb/runs.ts';
import { tableName } from '../adapters/dynamodb/table-names.ts';
import { VoucherRepository, type StoredVoucher } from '../adapters/dynamodb/vouchers.ts';
import { NotFoundError } from '../core/errors.ts';
import { writeOffStatistics, type WriteOffStatistics } from '../core/write-off.ts';
import { exportedStatus, type LifecycleState } from '../core/refund-lifecycle.ts';
import { UsageError } from './io.ts';

export const EXPORT_KINDS = ['orders', 'tickets', 'refunds', 'credit-accounts', 'intermediate-accounts', 'vouchers', 'redemptions', 'runs', 'emails', 'psp-ledger'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

type Row = Record<string, unknown>;

const byId = (key: string) => (a: Row, b: Row) => String(a[key]).localeCompare(String(b[key]));

/** A voucher as exported: money as {amount, currency}, `writtenOff` null or {runId, comment, at}. */
export function voucherRow(v: StoredVoucher): Row {
  return {
    code: v.code,
    kind: v.kind,
    issuedAt: v.issuedAt,
    validUntil: v.validUntil ?? null,
    remaining: v.remaining,
    writtenOff: v.writtenOff ?? null,
    writtenOffAmount: v.writtenOff ? { amount: v.writtenOffAmount ?? 0, currency: v.remaining.currency } : null,
  };
}

/**
 * Records of one kind, as the contract's export table names them; `runId` keeps those a run touched.
 * `writtenOff` keeps write-offs only (vouchers currently written off; redemptions of kind write_off).
 */
export async function exportRecords(kind: ExportKind, opts: { runId?: string; sesUrl?: string; pspUrl?: string; writtenOff?: boolean } = {}): Promise<Row[]> {
  const runId = opts.runId;
  switch (kind) {
    case 'orders': {
      const rows: Row[] = [];
      for await (const { order, header } of new OrderRepository().scanOrders()) rows.push({ ...order, currency: header.currency, version: header.version });
      return rows.sort(byId('id'));
    }
    case 'tickets': {
      const rows: Row[] = [];
      for await (const item of scanAll(tableName('orders'), { filter: 'begins_with(sk, :t)', values: { ':t': 'TICKET#' }, segments: 4 })) {
        const t = ticketFromItem(item);
        if (runId && t.cancelledByRun !== runId && t.issuedByRun !== runId) continue;
        rows.push({ replacesTicketId: null, tariff: null, ...t });
      }
      return rows.sort(byId('id'));
    }
    case 'refunds': {
      const rows: Row[] = [];
      for await (const r of new RefundRepository().scanAll()) {
        if (runId && r.createdByRun !== runId && r.settledByRun !== runId && !(Array.isArray(r.runIds) && r.runIds.includes(runId))) continue;
        // Contract statuses: an in-flight claim (internal `sending`) is pending, or unknown once its lease expired.
        const { sending, ...rest } = r as typeof r & { sending?: { leaseUntil?: string } | null };
        const status = exportedStatus(r.status as LifecycleState, sending?.leaseUntil, new Date());
        rows.push({ ...rest, status, pspCode: status === 'failed' ? (r.pspCode ?? null) : null, ...(sending ? { inFlight: true } : {}) });
      }
      return rows.sort(byId('id'));
    }
    case 'credit-accounts':
      return creditAccounts();
    case 'intermediate-accounts':
      return intermediateAccounts();
    case 'vouchers': {
      const rows: Row[] = [];
      for await (const v of new VoucherRepository().scanVouchers()) {
        if (runId && v.writtenOff?.runId !== runId) continue;
        if (opts.writtenOff && !v.writtenOff) continue;
        rows.push(voucherRow(v));
      }
      return rows.sort(byId('code'));
    }
    case 'redemptions': {
      const rows: Row[] = [];
      for await (const r of new VoucherRepository().scanRedemptions()) {
        if (runId && r.runId !== runId) continue;
        if (opts.writtenOff && r.kind !== 'write_off') continue;
        rows.push({ ...r });
      }
      return rows.sort((a, b) => String(a.code).localeCompare(String(b.code)) || String(a.at).localeCompare(String(b.at)));
    }
    case 'runs': {
      const runs = await new RunRepository().list();
      return runs.filter((r) => !runId || r.runId === runId).map((r) => ({ ...r }));
    }
    case 'emails': {
      if (!opts.sesUrl) throw new UsageError('emails can only be exported from the local SES server (--target local)');
      const res = await fetch(`${opts.sesUrl}/store`);
      const body = (await res.json()) as { emails: { messageId: string; from: string; destination: { to: string[] }; subject: string; body: { text?: string; html?: string }; at: number }[] };
      return body.emails.map((e) => ({
        messageId: e.messageId,
        to: e.destination.to.join(', '),
        from: e.from,
        subject: e.subject,
        text: e.body.text ?? '',
        html: e.body.html ?? null,
        sentAt: new Date(e.at * (e.at < 1e12 ? 1000 : 1)).toISOString(),
      }));
    }
    case 'psp-ledger': {
      if (!opts.pspUrl) throw new UsageError('the PSP ledger can only be exported from the local PSP sandbox (--target local)');
      const res = await fetch(`${opts.pspUrl}/_sandbox/ledger`);
      const body = (await res.json()) as { credits: Row[] };
      return body.credits;
    }
  }
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV with the same columns as the JSON Lines (nested values as JSON in their cell). */
/** The contract's fields of each kind, in the contract's order; other fields follow, sorted. */
export const CONTRACT_FIELDS: Partial<Record<ExportKind, string[]>> = {
  orders: ['id', 'customerId', 'agencyId', 'salesChannel', 'pointOfSale', 'createdAt', 'tickets', 'fees', 'payments'],
  tickets: ['id', 'orderId', 'performanceId', 'quota', 'seatCategory', 'productFamily', 'tariff', 'price', 'state', 'replacesTicketId'],
  refunds: ['id', 'orderId', 'paymentId', 'method', 'amount', 'status', 'reason', 'createdAt', 'pspCode'],
  'credit-accounts': ['ownerId', 'balance'],
  'intermediate-accounts': ['agencyId', 'openItems'],
  vouchers: ['code', 'kind', 'remaining', 'writtenOff'],
  'psp-ledger': ['transactionId', 'creditTransactionId', 'amount', 'refno', 'idempotencyKey'],
  emails: ['to', 'subject', 'text', 'sentAt'],
  runs: ['runId', 'workflow', 'status', 'startedAt', 'finishedAt', 'requestedBy', 'input', 'report'],
};

export function orderFields(kind: ExportKind, rows: Row[]): Row[] {
  const first = CONTRACT_FIELDS[kind] ?? [];
  return rows.map((row) => {
    const out: Row = {};
    for (const key of first) out[key] = row[key] ?? null;
    for (const key of Object.keys(row).filter((k) => !first.includes(k)).sort()) out[key] = row[key];
    return out;
  });
}

export function toCsv(rows: Row[]): string {
  const columns: string[] = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const lines = [columns.map(csvCell).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(','));
  return lines.join('\n') + '\n';
}

export function toJsonl(rows: Row[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}

/** Statistics of the vouchers and tickets currently written off (a reversed write-off drops out). */
export async function writeOffStats(opts: { runId?: string } = {}): Promise<WriteOffStatistics> {
  const written: { kind: StoredVoucher['kind']; issuedAt: string; amount: { amount: number; currency: string } }[] = [];
  for await (const v of new VoucherRepository().scanVouchers()) {
    if (!v.writtenOff || (opts.runId && v.writtenOff.runId !== opts.runId)) continue;
    written.push({ kind: v.kind, issuedAt: v.issuedAt, amount: { amount: v.writtenOffAmount ?? 0, currency: v.remaining.currency } });
  }
  return writeOffStatistics(written);
}

/** One code with its write-off (comment, date, run), its redemptions and reversals. */
export async function lookupVoucher(code: string): Promise<Row> {
  const history = await new VoucherRepository().history(code);
  if (!history) throw new NotFoundError(`code: no voucher or ticket "${code}"`);
  return {
    ...voucherRow(history.voucher),
    redeemable: !history.voucher.writtenOff && history.voucher.remaining.amount > 0,
    redemptions: history.redemptions,
    reversals: history.reversals,
  };
}
