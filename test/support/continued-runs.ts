import { expect } from 'vitest';
import { EVENTS_PER_CALL, EVENTS_PER_MAP, EVENTS_PER_SHARD } from '../../lib/core/continuation.ts';
import type { RunResult } from '../../lib/local/continued-runs.ts';

/**
 * Small budgets that split a small run over many executions: one page a call, `calls` calls a
 * shard an execution (what production does at a minute a call and 40 calls a shard).
 */
export async function withSmallBudgets<T>(budgets: { pagesPerCall?: number; callsPerShard?: number; batchesPerExecution?: number }, act: () => Promise<T>): Promise<T> {
  const vars: Record<string, number | undefined> = {
    MASS_REFUND_PAGES_PER_CALL: budgets.pagesPerCall,
    MASS_REFUND_CALLS_PER_SHARD: budgets.callsPerShard,
    MASS_REFUND_BATCHES_PER_EXECUTION: budgets.batchesPerExecution,
  };
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) process.env[k] = String(v);
  try {
    return await act();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
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
