import * as z from 'zod';
import { putSelectedCodes, readExclusionSnapshot, VoucherRepository, writeOffInGroups } from '../../lib/adapters/dynamodb/vouchers.ts';
import { NotFoundError } from '../../lib/core/errors.ts';
import { TalliesSchema, tally } from '../../lib/core/report.ts';
import { planWriteOffPage, recheckWriteOff, writeOffOutcome, type WriteOffCriteria } from '../../lib/core/write-off.ts';
import { crashPoint } from '../commons/chaos.ts';
import { stage } from '../commons/handler.ts';
import { CallFields, pageCall, shardItem } from '../commons/paging.ts';
import type { WriteOffInput as WriteOffInputType } from './validate.ts';
import { ValidatedWriteOffInput } from './validate.ts';

/** Items read per page (WRITE_OFF_PAGE_SIZE overrides it: tests force many pages). */
export const WRITE_OFF_PAGE_SIZE = 1000;

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
  const ctx = { runId, simulate: input.simulate, criteria: criteriaOf(input), excluded: await exclusionsOf(runId) };
  const { vouchers, cursor } = await repo.scanPage(segment, totalSegments, pageSize(), event.cursor ?? undefined);
  const plan = planWriteOffPage(vouchers, ctx, event.tallies);
  const order = { runId, comment: input.comment ?? '', at: new Date().toISOString() };
  const written = await writeOffInGroups(repo, plan.toWrite, order, (fresh, decided) => recheckWriteOff(fresh, decided, ctx), () => crashPoint('writeOff.afterGroup'));
  let tallies = plan.tallies;
  for (const { voucher: v, result } of written) {
    if (result.written) {
      plan.selected.push(v.code);
      tallies = tally(tallies, writeOffOutcome(false), { amount: result.amount, currency: v.remaining.currency });
    } else tallies = tally(tallies, `skipped:${result.reason}`, result.remaining);
  }
  if (plan.selected.length) await putSelectedCodes(runId, segment, page, plan.selected);
  return { ...event, cursor: cursor ?? null, page: page + 1, tallies, selected: event.selected + plan.selected.length, done: cursor === undefined };
}
