import { creditAccounts, intermediateAccounts } from '../adapters/dynamodb/accounts.ts';
import { scanAll } from '../adapters/dynamodb/items.ts';
import { OrderRepository, ticketFromItem } from '../adapters/dynamodb/orders.ts';
import { RefundRepository } from '../adapters/dynamodb/refunds.ts';
import { recipientsOf } from '../adapters/dynamodb/outbox.ts';
import { RunRepository } from '../adapters/dynamodb/runs.ts';
import { tableName } from '../adapters/dynamodb/table-names.ts';
import { VoucherRepository, type StoredVoucher } from '../adapters/dynamodb/vouchers.ts';
import { NotFoundError } from '../core/errors.ts';
import { writeOffStatistics, type WriteOffStatistics } from '../core/write-off.ts';
import { exportedStatus, type LifecycleState } from '../core/refund-lifecycle.ts';
import { decimalAmount } from './format.ts';
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
      if (!opts.sesUrl) return sentEmailsOfRefunds(runId);
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
      if (!opts.pspUrl) throw new UsageError('psp-ledger is the local PSP sandbox\'s own record (--target local); on AWS, Datatrans\' reports are the PSP\'s ledger');
      const res = await fetch(`${opts.pspUrl}/_sandbox/ledger`);
      const body = (await res.json()) as { credits: Row[] };
      return body.credits;
    }
  }
}

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

/** A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading quote; plain numbers stay numbers. */
function neutralize(text: string): string {
  if (/^-?\d+(\.\d+)?$/.test(text)) return text;
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = neutralize(typeof value === 'object' ? JSON.stringify(value) : String(value));
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const isMoney = (v: unknown): v is { amount: number; currency: string } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Number.isSafeInteger((v as { amount?: unknown }).amount) && typeof (v as { currency?: unknown }).currency === 'string';

/**
 * Money as spreadsheets want it, beside the contract's columns (which stay first and unchanged):
 * a Money field `amount` gets `amountDecimal` ("123.45") and `amountCurrency`; a list of Money
 * (a balance per currency) gets one decimal column per currency, e.g. `balanceCHF`.
 */
export function withDecimalColumns(rows: Row[], contractFields: readonly string[] = []): Row[] {
  const single = new Set<string>();
  const lists = new Map<string, Set<string>>();
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) {
      if (isMoney(value)) single.add(key);
      else if (Array.isArray(value) && value.length > 0 && value.every(isMoney)) {
        const currencies = lists.get(key) ?? new Set<string>();
        for (const m of value) currencies.add(m.currency);
        lists.set(key, currencies);
      }
    }
  }
  if (single.size === 0 && lists.size === 0) return rows;
  return rows.map((row) => {
    const added: Row = {};
    for (const [key, value] of Object.entries(row)) {
      if (single.has(key)) {
        added[`${key}Decimal`] = isMoney(value) ? decimalAmount(value.amount, value.currency) : null;
        added[`${key}Currency`] = isMoney(value) ? value.currency : null;
      }
      for (const c of [...(lists.get(key) ?? [])].sort()) {
        const of = Array.isArray(value) ? value.filter((m): m is { amount: number; currency: string } => isMoney(m) && m.currency === c) : [];
        added[`${key}${c}`] = of.length ? decimalAmount(of.reduce((n, m) => n + m.amount, 0), c) : null;
      }
    }
    if (contractFields.length === 0) return { ...row, ...added };
    // The contract's columns first and unchanged, the decimal columns right after them, then the rest.
    const out: Row = {};
    for (const k of contractFields) if (k in row) out[k] = row[k];
    Object.assign(out, added);
    for (const [k, v] of Object.entries(row)) if (!(k in out)) out[k] = v;
    return out;
  });
}

/** CSV with the JSON Lines' columns (nested values as JSON in their cell), decimal amounts beside them; `bom` for Excel. */
export function toCsv(rows: Row[], opts: { kind?: ExportKind; bom?: boolean } = {}): string {
  const shaped = withDecimalColumns(rows, opts.kind ? (CONTRACT_FIELDS[opts.kind] ?? []) : []);
  const columns: string[] = [];
  for (const row of shaped) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const lines = [columns.map(csvCell).join(',')];
  for (const row of shaped) lines.push(columns.map((c) => csvCell(row[c])).join(','));
  return `${(opts.bom ? '\uFEFF' : '') + lines.join('\n')}\n`;
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

/**
 * The emails of a deployed stack: SES keeps no copy, so they are what the refunds record as sent
 * (one email per order and kind; its message id, recipient and time).
 */
async function sentEmailsOfRefunds(runId: string | undefined): Promise<Row[]> {
  const byMessage = new Map<string, { ownerId: string; ownerKind: 'customer' | 'agency'; orderId: string; kind: string; sentAt: string; refundIds: string[] }>();
  for await (const r of new RefundRepository().scanAll()) {
    const sent = (r.sentEmails ?? []) as { kind: string; messageId: string; at: string; runId?: string }[];
    for (const e of sent) {
      if (runId && e.runId !== runId && r.createdByRun !== runId && r.settledByRun !== runId) continue;
      const entry = byMessage.get(e.messageId) ?? { ownerId: String(r.ownerId), ownerKind: r.ownerKind === 'agency' ? 'agency' : 'customer', orderId: r.orderId, kind: e.kind, sentAt: e.at, refundIds: [] };
      entry.refundIds.push(r.id);
      byMessage.set(e.messageId, entry);
    }
  }
  const recipients = await recipientsOf([...byMessage.values()].map((e) => ({ ownerId: e.ownerId, ownerKind: e.ownerKind })));
  return [...byMessage.entries()]
    .map(([messageId, e]) => ({
      to: recipients.get(`${e.ownerKind}:${e.ownerId}`)?.email ?? null,
      subject: null,
      text: null,
      sentAt: e.sentAt,
      messageId,
      kind: e.kind,
      orderId: e.orderId,
      refundIds: e.refundIds.sort(),
    }))
    .sort((a, b) => a.sentAt.localeCompare(b.sentAt) || a.messageId.localeCompare(b.messageId));
}
