import * as z from 'zod';
import { anotherPage, CALLS_PER_SHARD_PER_EXECUTION, shardPauses, type CallPolicy, DEFAULT_CALL_POLICY } from '../../lib/core/continuation.ts';
import { envInt } from './env.ts';
import type { StageContext } from './handler.ts';
import { logger } from './powertools.ts';

/**
 * Page calls (lib/core/continuation.ts): a stage over a shard takes pages until its shard is done,
 * its time budget is spent or its Lambda time runs short, then returns the shard's state; the state
 * machine calls again, or, once the shard has had its calls in this execution, pauses it and the
 * run goes on in the next execution.
 */

/** Where a run stands in its chain of executions (`$.continuation` of the state). */
export const Continuation = z.looseObject({ part: z.number().int().min(1), callsLeft: z.number().int() });

/** What every page call carries besides its shard's state. */
export const CallFields = z.object({
  /** Calls this shard made in this execution (the Map's item selector starts it at 0). */
  calls: z.number().int().min(0).default(0),
  /** Calls a shard may make in this execution (what the Maps before it left). */
  callsLeft: z.number().int().default(CALLS_PER_SHARD_PER_EXECUTION),
});

/**
 * A Map item is a shard's number (the run's first execution) or the state a paused shard carried
 * over (a continued execution): either way the page call sees one flat state, its calls counted
 * from 0 in this execution.
 */
export function shardItem(raw: unknown, key: 'shard' | 'segment' = 'shard'): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const state = raw as Record<string, unknown>;
  const item = state[key];
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return raw;
  return { ...state, ...(item as Record<string, unknown>), calls: state['calls'] ?? 0 };
}

/** How long and how many pages a call takes: the defaults, or the environment's (MASS_REFUND_PAGES_PER_CALL, MASS_REFUND_CALL_SECONDS). */
export function callPolicy(): CallPolicy {
  return {
    maxPages: envInt('MASS_REFUND_PAGES_PER_CALL', DEFAULT_CALL_POLICY.maxPages),
    budgetMs: envInt('MASS_REFUND_CALL_SECONDS', DEFAULT_CALL_POLICY.budgetMs / 1000) * 1000,
    marginMs: DEFAULT_CALL_POLICY.marginMs,
  };
}

export type Called<S> = S & { calls: number; callsLeft: number; pause: boolean; done: boolean };

/**
 * One page call: `page` maps a shard's state to the next page's. A page that fails after others
 * of the call succeeded ends the call with their state (the next call takes that page again and
 * fails there, or succeeds), so a call is retried from the last page that held, as one page was.
 */
export async function pageCall<S extends { calls: number; callsLeft: number }>(
  first: S,
  ctx: StageContext,
  page: (state: S) => Promise<S & { done: boolean }>,
  policy: CallPolicy = callPolicy(),
): Promise<Called<S>> {
  const started = Date.now();
  let state: S & { done: boolean } = { ...first, done: false };
  let pages = 0;
  let slowest = 0;
  for (;;) {
    const t0 = Date.now();
    try {
      state = await page(state);
    } catch (error) {
      if (pages === 0) throw error;
      logger.warn('a page failed after others of the call; the next call takes it again', { pages, errorName: (error as Error).name });
      break;
    }
    pages++;
    slowest = Math.max(slowest, Date.now() - t0);
    if (state.done || !anotherPage({ pages, elapsedMs: Date.now() - started, remainingMs: ctx.lambda.getRemainingTimeInMillis(), slowestPageMs: slowest }, policy)) break;
  }
  const calls = first.calls + 1;
  const cap = envInt('MASS_REFUND_CALLS_PER_SHARD', CALLS_PER_SHARD_PER_EXECUTION);
  return { ...state, calls, callsLeft: first.callsLeft, pause: shardPauses({ done: state.done, calls, callsLeft: first.callsLeft }, cap) };
}
