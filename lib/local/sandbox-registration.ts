export interface SettledTransaction {
  transactionId: string;
  amount: { amount: number; currency: string };
  paymentMethod: string;
}

/** Registers card/Amazon Pay transactions as settled at the local PSP sandbox (its admin API), 500 a request (its body limit is 64 KB). */
export async function registerWithSandbox(sandboxUrl: string | undefined, txs: readonly SettledTransaction[]): Promise<void> {
  if (!sandboxUrl || txs.length === 0) return;
  for (let i = 0; i < txs.length; i += 500) {
    const res = await fetch(`${sandboxUrl}/_sandbox/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ transactions: txs.slice(i, i + 500) }),
    });
    if (!res.ok) throw new Error(`the PSP sandbox refused the transactions: HTTP ${res.status} ${await res.text()}`);
  }
}
