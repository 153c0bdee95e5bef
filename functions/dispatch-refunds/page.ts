import * as z from 'zod';
import { DispatchStore } from '../../lib/adapters/dynamodb/dispatch-store.ts';
import { OrderRepository } from '../../lib/adapters/dynamodb/orders.ts';
import { RefundCredits } from '../../lib/adapters/dynamodb/refund-credits.ts';
import { pageLogKey, RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { SimulationSelection } from '../../lib/adapters/dynamodb/simulation-selection.ts';
import type { PspConfigurationError } from '../../lib/adapters/psp/port.ts';
import { systemClock } from '../../lib/services/clock.ts';
import { dispatchPage, type DispatchPageDeps } from '../../lib/services/dispatch/page.ts';
import { crashPoint } from '../commons/chaos.ts';
import { stage, type StageContext } from '../commons/handler.ts';
import { CallFields, pageCall, shardItem } from '../commons/paging.ts';
import { logger } from '../commons/powertools.ts';
import { reconcileTransaction } from '../../lib/services/reconcile/transaction.ts';
import { lookupTiming, psp } from '../commons/psp.ts';
import { dispatchConfig, PageState } from './shared.ts';

const Input = z.preprocess((raw) => shardItem(raw), PageState.extend(CallFields.shape));

/** Runs stopped by a configuration error: other pages of the same run in this container stop claiming too. */
const stoppedRuns = new Map<string, PspConfigurationError>();

/**
 * 3. Pages of one open-refunds shard (several a call, functions/commons/paging.ts), for any pass
 * (lib/services/dispatch/page.ts); each page's lines go to the run log.
 * Returns the next state of the shard's paging loop.
 */
export const handler = stage(Input, async (first, ctx) =>
  pageCall(first, ctx, async (state) => {
    const { cursor, tallies, lines } = await dispatchPage(state, dependencies(ctx));
    await new RunRepository().log(state.runId, pageLogKey(state.shard, state.page, { prefix: state.logPrefix }), lines);
    return { ...state, cursor, page: state.page + 1, done: cursor === null, tallies };
  }),
);

function dependencies(ctx: StageContext): DispatchPageDeps {
  const store = new DispatchStore();
  return {
    store, selections: new SimulationSelection(), credits: new RefundCredits(), orders: new OrderRepository(), psp, config: dispatchConfig(),
    stops: stoppedRuns, clock: systemClock, logger, remainingMs: () => ctx.lambda.getRemainingTimeInMillis(),
    afterPspAnswer: () => crashPoint('dispatch.afterPspAnswer'),
    lookup: (one) => reconcileTransaction({ ...one, store, timing: lookupTiming(), confirmSince: null }),
  };
}
