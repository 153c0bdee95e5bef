import { expect } from 'vitest';
import { EVENTS_PER_CALL, EVENTS_PER_MAP, EVENTS_PER_SHARD } from '../../lib/core/continuation.ts';
import type { RunResult } from '../../lib/local/continued-runs.ts';
import type { FunctionConfigurationUpdate } from '../../lib/local/runner.ts';

/** What stages can be configured on: the test runtime or a runner (each stage has its own environment). */
export interface ConfigurableStages {
  configure(update: FunctionConfigurationUpdate): Promise<void>;
}

/** Sets stage variables for `act`, then returns them to what the stack deployed. */
export async function withStageEnv<T>(stages: ConfigurableStages, vars: Record<string, string | undefined>, act: () => Promise<T>): Promise<T> {
  const set = Object.fromEntries(Object.entries(vars).filter((e): e is [string, string] => e[1] !== undefined));
  await stages.configure({ environment: set });
  try {
    return await act();
  } finally {
    await stages.configure({ environment: Object.fromEntries(Object.keys(set).map((k) => [k, undefined])) });
  }
}

/**
 * Small budgets that split a small run over many executions: one page a call, `calls` calls a
 * shard an execution (what production does at a minute a call and 40 calls a shard).
 */
export function withSmallBudgets<T>(
  stages: ConfigurableStages,
  budgets: { pagesPerCall?: number; callsPerShard?: number; batchesPerExecution?: number },
  act: () => Promise<T>,
): Promise<T> {
  const vars = {
    MASS_REFUND_PAGES_PER_CALL: budgets.pagesPerCall?.toString(),
    MASS_REFUND_CALLS_PER_SHARD: budgets.callsPerShard?.toString(),
    MASS_REFUND_BATCHES_PER_EXECUTION: budgets.batchesPerExecution?.toString(),
  };
  return withStageEnv(stages, vars, act);
}

/**
 * The most events one execution of a split run may record: its Maps at `callsPerShard` calls a
 * shard (lib/core/continuation.ts), and `stages` for the states around them.
 */
export function historyBound(opts: { shards: number; callsPerShard: number; maps?: number; stages: number }): number {
  const maps = opts.maps ?? 1;
  return opts.shards * (opts.callsPerShard * EVENTS_PER_CALL + EVENTS_PER_SHARD * maps) + EVENTS_PER_MAP * maps + opts.stages;
}

/** Every part of a run within the bound, the run split into more than one. */
export function expectSplitWithin(run: RunResult, bound: number): void {
  expect(run.status, run.cause).toBe('SUCCEEDED');
  expect(run.parts.length).toBeGreaterThan(1);
  for (const part of run.parts) expect(part.stats.historyEvents, part.name).toBeLessThanOrEqual(bound);
}

/** A report without what differs between two runs of the same work (ids, times, input). */
export function comparable(report: unknown): unknown {
  const { runId: _r, startedAt: _s, finishedAt: _f, input: _i, requestedBy: _b, performanceId: _p, ...rest } = (report ?? {}) as Record<string, unknown>;
  return rest;
}
