import * as z from 'zod';
import { putSelectedCodes, readExclusionSnapshot, VoucherRepository, type StoredVoucher } from '../../lib/adapters/dynamodb/vouchers.ts';
import { ConflictError, NotFoundError } from '../../lib/core/errors.ts';
import { TalliesSchema, tally, type Tallies } from '../../lib/core/report.ts';
import { decideWriteOff, type WriteOffCriteria } from '../../lib/core/write-off.ts';
import { crashPoint } from '../commons/chaos.ts';
import { stage } from '../commons/handler.ts';
import { CallFields, pageCall, shardItem } from '../commons/paging.ts';
import type { WriteOffInput as WriteOffInputType } from './validate.ts';
import { ValidatedWriteOffInput } from './validate.ts';

/** Items read per page (WRITE_OFF_PAGE_SIZE overrides it: tests force many pages). */
export const WRITE_OFF_PAGE_SIZE = 1000;
/** Vouchers per write-off transaction (2 items each, DynamoDB allows 100) and transactions in flight per page. */
const GROUP_SIZE = 25;
const GROUPS_IN_FLIGHT = 4;

const PageInput = z.object({
  runId: z.string(),
  input: ValidatedWriteOffInput,
  segment: z.number().int().min(0),
  totalSegments: z.number().int().min(1),
  /** Where the segment's scan goes on (null: from the start, or done). */
  cursor: z.record(z.string(), z.unknown()).nullish(),
  page: z.number().int().min(0),
  tallies: TalliesSchema,
  selected: z.number().int().min(0),
  ...CallFields.shape,
});
const Input = z.preprocess((raw) => shardItem(raw, 'segment'), PageInput);

// One container serves many pages of the same run: read the run's exclusion snapshot once.
const exclusionCache = new Map<string, Set<string>>();
async function exclusionsOf(runId: string): Promise<Set<string>> {
  let set = exclusionCache.get(runId);
  if (!set) {
    set = await readExclusionSnapshot(runId);
    if (!set) throw new NotFoundError(`runId: run "${runId}" has no exclusion list; it was not opened`);
    exclusionCache.clear();
    exclusionCache.set(runId, set);
  }
  return set;
}

function pageSize(): number {
  const n = Number(process.env.WRITE_OFF_PAGE_SIZE);
  return Number.isSafeInteger(n) && n > 0 ? n : WRITE_OFF_PAGE_SIZE;
}

function criteriaOf(input: WriteOffInputType): WriteOffCriteria {
  return { issuedUpTo: input.issuedUpTo, expiredBefore: input.expiredBefore, kinds: input.kinds, codes: input.codes };
}

/**
 * 3. Pages of one scan segment (several a call, functions/commons/paging.ts): decides every
 * voucher with the core rule; a real run writes off the eligible ones (conditional, so a re-run or
 * a concurrent run never does it twice) and every page stores the codes it selected for the file.
 * Returns the cursor and the running tallies.
 */
export const handler = stage(Input, async (first, ctx) => pageCall(first, ctx, writeOffPage));

async function writeOffPage(event: z.infer<typeof PageInput>) {
  const { runId, input, segment, totalSegments, page } = event;
  const repo = new VoucherRepository();
  const excluded = await exclusionsOf(runId);
  const criteria = criteriaOf(input);
  const { vouchers, cursor } = await repo.scanPage(segment, totalSegments, pageSize(), event.cursor ?? undefined);

  let tallies: Tallies = event.tallies;
  const selected: string[] = [];
  const toWrite: StoredVoucher[] = [];
  const outcome = input.simulate ? 'would_write_off' : 'written_off';
  for (const v of vouchers) {
    // Written off by this very run (a retried page): count it, do not write again.
    if (!input.simulate && v.writtenOff?.runId === runId) {
      selected.push(v.code);
      tallies = tally(tallies, outcome, { amount: v.writtenOffAmount ?? 0, currency: v.remaining.currency });
      continue;
    }
    const decision = decideWriteOff(v, criteria, excluded);
    if (!decision.eligible) {
      tallies = tally(tallies, `skipped:${decision.reason}`, v.remaining);
    } else if (input.simulate) {
      selected.push(v.code);
      tallies = tally(tallies, outcome, v.remaining);
    } else {
      toWrite.push(v);
    }
  }

  if (toWrite.length) {
    const at = new Date().toISOString();
    const comment = input.comment ?? '';
    const groups: StoredVoucher[][] = [];
    for (let i = 0; i < toWrite.length; i += GROUP_SIZE) groups.push(toWrite.slice(i, i + GROUP_SIZE));
    const results: { v: StoredVoucher; result: WriteResult }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < groups.length) {
        const group = groups[next++] as StoredVoucher[];
        const attempt = await repo.writeOff(group.map((voucher) => ({ voucher, runId, comment, at })));
        if (attempt === 'written_off') {
          for (const v of group) results.push({ v, result: { written: true, amount: v.remaining.amount } });
          crashPoint('writeOff.afterGroup');
          continue;
        }
        // Some condition failed: find out voucher by voucher.
        for (const v of group) results.push({ v, result: await writeOffOne(repo, v, runId, comment, at, criteria, excluded) });
      }
    };
    await Promise.all(Array.from({ length: Math.min(GROUPS_IN_FLIGHT, groups.length) }, worker));
    for (const { v, result } of results) {
      if (result.written) {
        selected.push(v.code);
        tallies = tally(tallies, outcome, { amount: result.amount, currency: v.remaining.currency });
      } else {
        tallies = tally(tallies, `skipped:${result.reason}`, result.remaining);
      }
    }
  }

  if (selected.length) await putSelectedCodes(runId, segment, page, selected);
  return { ...event, cursor: cursor ?? null, page: page + 1, tallies, selected: event.selected + selected.length, done: cursor === undefined };
}

type WriteResult = { written: true; amount: number } | { written: false; reason: string; remaining: { amount: number; currency: string } };

/** One voucher whose group failed a condition: re-read, re-decide, write again (a few times at most). */
async function writeOffOne(
  repo: VoucherRepository,
  decided: StoredVoucher,
  runId: string,
  comment: string,
  at: string,
  criteria: WriteOffCriteria,
  excluded: ReadonlySet<string>,
): Promise<WriteResult> {
  let v = decided;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) {
      const fresh = await repo.get(decided.code);
      if (!fresh) return { written: false, reason: 'vanished', remaining: decided.remaining };
      if (fresh.writtenOff?.runId === runId) return { written: true, amount: fresh.writtenOffAmount ?? 0 };
      const decision = decideWriteOff(fresh, criteria, excluded);
      if (!decision.eligible) return { written: false, reason: decision.reason, remaining: fresh.remaining };
      // Written off by this run once and reversed since: a retried page must not undo the reversal.
      if (await repo.redemption(fresh.code, runId)) return { written: false, reason: 'reversed', remaining: fresh.remaining };
      v = fresh;
    }
    if ((await repo.writeOff([{ voucher: v, runId, comment, at }])) === 'written_off') return { written: true, amount: v.remaining.amount };
  }
  throw new ConflictError(`voucher "${decided.code}" kept changing while being written off; run again`);
}
