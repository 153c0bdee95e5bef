import * as z from 'zod';
import { DispatchStore } from '../../lib/adapters/dynamodb/dispatch-store.ts';
import { pageLogKey, RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { TalliesSchema } from '../../lib/core/report.ts';
import { Difference, SCAN_SEGMENTS } from '../../lib/core/reconciliation.ts';
import { reconcilePage } from '../../lib/services/reconcile/page.ts';
import { stage } from '../commons/handler.ts';
import { CallFields, pageCall, shardItem } from '../commons/paging.ts';
import { envInt } from '../commons/env.ts';
import { lookupTiming, psp } from '../commons/psp.ts';

const PageInput = z.object({
  runId: z.string(),
  scope: z.object({ runId: z.string().nullable(), since: z.string() }),
  segment: z.number().int().min(0),
  cursor: z.string().nullish().transform((c) => c ?? null),
  page: z.number().int().min(0).default(0),
  tallies: TalliesSchema.default({}),
  differences: z.array(Difference).default([]),
  differenceCount: z.number().int().default(0),
  ...CallFields.shape,
});
const Input = z.preprocess((raw) => shardItem(raw, 'segment'), PageInput);

/**
 * 2. Pages of one scan segment of the refunds ever sent to the PSP (several a call, functions/commons/paging.ts):
 * each original transaction compared once per run, refunds awaiting a lookup settled when old enough,
 * late failures caught, every PSP credit our ledger does not explain listed (lib/services/reconcile/page.ts).
 * Never sends a refund.
 */
export const handler = stage(Input, async (first, ctx) =>
  pageCall(first, ctx, async (state) => {
    const deps = { store: new DispatchStore(), psp: await psp() };
    const { lines, ...next } = await reconcilePage(deps, state, { totalSegments: SCAN_SEGMENTS, pageSize: envInt('RECONCILE_PAGE_SIZE', 200), timing: lookupTiming() });
    await new RunRepository().log(state.runId, pageLogKey(state.segment, state.page, { unit: 'seg' }), lines);
    return { ...state, ...next, page: state.page + 1, done: next.cursor === null };
  }),
);
