import type { StoredVoucher, VoucherRepository } from '../../adapters/dynamodb/vouchers.ts';
import { ConflictError } from '../../core/errors.ts';
import type { WriteOffResult } from '../../core/write-off.ts';

/** What writing off uses of the vouchers table (lib/adapters/dynamodb/vouchers.ts). */
export type VoucherStore = Pick<VoucherRepository, 'get' | 'redemption' | 'writeOff'>;

/** Vouchers per write-off transaction (2 items each; DynamoDB allows 100) and transactions in flight. */
const GROUP_SIZE = 25;
const GROUPS_IN_FLIGHT = 4;
/** Tries of one voucher whose group failed a condition, before the page fails (and is retried). */
const VOUCHER_TRIES = 3;

/**
 * Writes off a page's eligible vouchers in groups of 25, 4 groups in flight. A group that fails a
 * condition is written voucher by voucher: each read again and re-decided (`recheck`), a voucher
 * this run wrote off once and that was reversed since left alone. `afterGroup` runs after each
 * group written (the chaos suite crashes there).
 */
export async function writeOffInGroups<V extends StoredVoucher>(
  repo: VoucherStore,
  vouchers: readonly V[],
  order: { runId: string; comment: string; at: string },
  recheck: (fresh: StoredVoucher | undefined, decided: V) => WriteOffResult | 'retry',
  afterGroup: () => void = () => {},
): Promise<{ voucher: V; result: WriteOffResult }[]> {
  const groups: V[][] = [];
  for (let i = 0; i < vouchers.length; i += GROUP_SIZE) groups.push(vouchers.slice(i, i + GROUP_SIZE));
  const results: { voucher: V; result: WriteOffResult }[] = [];
  const one = async (decided: V): Promise<WriteOffResult> => {
    let v: StoredVoucher = decided;
    for (let attempt = 0; attempt < VOUCHER_TRIES; attempt++) {
      if (attempt > 0) {
        const fresh = await repo.get(decided.code);
        const settled = recheck(fresh, decided);
        if (settled !== 'retry') return settled;
        // Written off by this run once and reversed since: a retried page must not undo the reversal.
        if (await repo.redemption(decided.code, order.runId)) return { written: false, reason: 'reversed', remaining: (fresh as StoredVoucher).remaining };
        v = fresh as StoredVoucher;
      }
      if ((await repo.writeOff([{ voucher: v, ...order }])) === 'written_off') return { written: true, amount: v.remaining.amount };
    }
    throw new ConflictError(`voucher "${decided.code}" kept changing while being written off; run again`);
  };
  let next = 0;
  const worker = async () => {
    while (next < groups.length) {
      const group = groups[next++] as V[];
      if ((await repo.writeOff(group.map((voucher) => ({ voucher, ...order })))) === 'written_off') {
        for (const voucher of group) results.push({ voucher, result: { written: true, amount: voucher.remaining.amount } });
        afterGroup();
        continue;
      }
      // Some condition failed: find out voucher by voucher.
      for (const voucher of group) results.push({ voucher, result: await one(voucher) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(GROUPS_IN_FLIGHT, groups.length) }, worker));
  return results;
}
