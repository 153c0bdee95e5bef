import { batchPut } from '../../lib/adapters/dynamodb/items.ts';
import { refundItem } from '../../lib/adapters/dynamodb/refunds.ts';
import { tableName } from '../../lib/adapters/dynamodb/table-names.ts';
import { importText } from '../../lib/cli/import.ts';
import type { PaymentMethod } from '../../lib/core/model.ts';
import type { PspSandbox } from '../../lib/local/psp-sandbox/index.ts';

export interface OneTicketRefund {
  id: string;
  orderId: string;
  method: PaymentMethod;
  amount: number;
  tx: string | null;
  owner: string;
}

export interface OneTicketRefundsOptions {
  performanceId: string;
  performanceName: string;
  /** Two digits that start every PSP transaction id (keeps data sets apart). */
  txPrefix: string;
  /** Pending refunds are created on this day, one second apart. */
  day: string;
  customer: (i: number) => { name: string; email: string; language: string };
  /** Every tenth card order gets two partial refunds on its one transaction. */
  twoPartRefunds?: boolean;
  /** A fee kept on order i (paid on top of the refunded ticket): the PSP would then take a second credit. */
  keptFee?: (i: number, amount: number) => number;
}

/**
 * Large dispatch data sets (the chaos suite, scripts/dispatch-20k.ts): one customer and one
 * one-ticket order per refund, 90 % card, 5 % Amazon Pay, 5 % other methods, imported through
 * the real import; PSP transactions registered with the sandbox; `n` pending refunds written.
 */
export async function seedOneTicketRefunds(n: number, opts: OneTicketRefundsOptions, sandbox: PspSandbox): Promise<OneTicketRefund[]> {
  const lines = [JSON.stringify({ type: 'performance', id: opts.performanceId, name: opts.performanceName, startsAt: '2026-07-12T18:00:00+02:00', currency: 'CHF' })];
  const others: PaymentMethod[] = ['klarna', 'sofort', 'bank_transfer', 'voucher', 'cash'];
  const specs: OneTicketRefund[] = [];
  const fees = new Map<string, number>();
  for (let i = 0; specs.length < n; i++) {
    const method: PaymentMethod = i % 20 === 0 ? (others[(i / 20) % others.length] as PaymentMethod) : i % 20 === 1 ? 'amazon_pay' : 'card';
    const twoParts = opts.twoPartRefunds === true && method === 'card' && i % 10 === 3 && specs.length + 2 <= n;
    const amount = 1000 + (i % 97) * 50;
    const tx = method === 'card' || method === 'amazon_pay' ? `${opts.txPrefix}${String(i).padStart(16, '0')}` : null;
    const owner = `C${i}`;
    const orderId = `O${i}`;
    const fee = opts.keptFee?.(i, amount) ?? 0;
    if (fee > 0) fees.set(orderId, fee);
    lines.push(JSON.stringify({ type: 'customer', id: owner, ...opts.customer(i) }));
    lines.push(
      JSON.stringify({
        type: 'order',
        id: orderId,
        customerId: owner,
        salesChannel: 'web',
        pointOfSale: 'webshop',
        createdAt: '2026-05-01T10:00:00Z',
        tickets: [{ id: `T${i}`, performanceId: opts.performanceId, quota: 'public', seatCategory: 'A', productFamily: 'single_entry', price: { amount, currency: 'CHF' }, state: 'cancelled' }],
        fees: fee > 0 ? [{ id: `F${i}`, kind: 'service_fee', amount: { amount: fee, currency: 'CHF' } }] : [],
        payments: [{ id: 'PAY1', method, amount: { amount: amount + fee, currency: 'CHF' }, ...(tx ? { pspTransactionId: tx } : {}) }],
      }),
    );
    if (twoParts) {
      const first = Math.floor(amount / 3);
      specs.push({ id: `R${i}a`, orderId, method, amount: first, tx, owner }, { id: `R${i}b`, orderId, method, amount: amount - first, tx, owner });
    } else specs.push({ id: `R${i}`, orderId, method, amount, tx, owner });
  }
  // Registered in-process: the CLI's registration would post thousands per request, above the sandbox's body limit.
  const imported = await importText(`${lines.join('\n')}\n`, '');
  if (!imported.ok) throw new Error(`refund data refused: ${JSON.stringify(imported.issues?.slice(0, 3))}`);
  const txs = new Map<string, { transactionId: string; amount: { amount: number; currency: string }; paymentMethod: string }>();
  for (const s of specs) {
    if (!s.tx) continue;
    const seen = txs.get(s.tx);
    const fee = seen ? 0 : (fees.get(s.orderId) ?? 0);
    txs.set(s.tx, { transactionId: s.tx, amount: { amount: (seen?.amount.amount ?? 0) + s.amount + fee, currency: 'CHF' }, paymentMethod: s.method });
  }
  sandbox.registerTransactions([...txs.values()]);
  const two = (x: number) => String(x).padStart(2, '0');
  await batchPut(
    tableName('refunds'),
    specs.map((s, i) =>
      refundItem({
        id: s.id,
        orderId: s.orderId,
        paymentId: 'PAY1',
        method: s.method,
        amount: { amount: s.amount, currency: 'CHF' },
        status: 'pending',
        reason: 'cancellation',
        createdAt: `${opts.day}T${two(Math.floor(i / 3600) % 24)}:${two(Math.floor(i / 60) % 60)}:${two(i % 60)}Z`,
        ownerId: s.owner,
        ownerKind: 'customer',
        pspTransactionId: s.tx,
      }),
    ),
    16,
  );
  return specs;
}
