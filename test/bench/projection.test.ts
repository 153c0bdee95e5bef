import { describe, expect, it } from 'vitest';
import { projectRun } from '../../bench/executions.ts';
import type { ExecutionStats } from '../../lib/local/runner.ts';

const stats = (over: Partial<ExecutionStats>): ExecutionStats => ({ stateTransitions: 0, lambdaInvocations: 0, retries: 0, historyEvents: 0, largestPayloadBytes: 0, durationMs: 0, coldStarts: 0, initMs: 0, ...over });

describe('the season projection of a run', () => {
  it('scales calls and transitions with tickets and splits them into executions of at most 40 calls a shard', () => {
    // prepare: 100 calls (16 shards, ~6 calls each) and 400 history events, 100 of them around the calls
    const run = { stats: stats({ stateTransitions: 300, lambdaInvocations: 100, historyEvents: 800 }), executions: 1 };
    // act
    const same = projectRun(run, 100_000, 100_000);
    const season = projectRun(run, 100_000, 1_000_000);
    const far = projectRun(run, 100_000, 10_000_000);
    // assess
    expect(same).toEqual({ transitions: 300, lambdaCalls: 100, executions: 1, historyPerExecution: 800 });
    expect(season).toMatchObject({ transitions: 3000, lambdaCalls: 1000, executions: 2 });
    // A full execution: 640 calls of 7 events, plus the 100 around them.
    expect(season.historyPerExecution).toBe(100 + 640 * 7);
    expect(far.executions).toBe(16);
    expect(far.historyPerExecution).toBe(season.historyPerExecution);
  });
});
