import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterShards,
  anotherPage,
  CALLS_PER_SHARD_PER_EXECUTION,
  continuationName,
  continuedIn,
  DEFAULT_CALL_POLICY,
  HISTORY_BOUND_TARGET,
  mapEventsBound,
  runIdOfExecution,
  shardPauses,
  type ShardEnd,
} from '../../lib/core/continuation.ts';
import { runsOfExecution, type OpenedRun } from '../../lib/core/run-end.ts';

/** Run ids as the CLI makes them or an operator names them: 1-80 characters of what AWS accepts. */
const runIds = fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/);

describe('the execution names of a run that goes on', () => {
  it('are at most 80 characters of what CloudWatch logging accepts, one per run and part, and say which run they carry', () => {
    fc.assert(
      fc.property(runIds, runIds, fc.integer({ min: 2, max: 10_000 }), fc.integer({ min: 2, max: 10_000 }), (a, b, p, q) => {
        const name = continuationName(a, p);
        expect(name.length).toBeLessThanOrEqual(80);
        expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(continuationName(a, p)).toBe(name); // a retried StartExecution asks for the same one
        if (a !== b || p !== q) expect(continuationName(b, q)).not.toBe(name);
        expect(runIdOfExecution(name, { continueRun: a, part: p })).toBe(a);
      }),
    );
  });

  it('do not make another execution a run\'s part: the name must be the part\'s', () => {
    expect(runIdOfExecution('cancel-1', { performanceId: 'P1' })).toBe('cancel-1');
    expect(runIdOfExecution('someone-else', { continueRun: 'cancel-1', part: 2 })).toBe('someone-else');
    expect(runIdOfExecution(continuationName('cancel-1', 3), { continueRun: 'cancel-1', part: 2 })).toBe(continuationName('cancel-1', 3));
    expect(() => continuationName('cancel-1', 1)).toThrow(RangeError);
  });

  it('the run-ends rule ends the run of the part that failed, not a run named after the part', () => {
    const run = (runId: string, workflow = 'DispatchRefunds', input: unknown = {}): OpenedRun => ({ runId, workflow, status: 'running', startedAt: 't', requestedBy: 'op', input });
    const own = run('night-1');
    const reconciliation = run('night-1-reconcile', 'ReconcileRefunds', { forRun: 'night-1' });
    const part = continuationName('night-1', 3);
    expect(runsOfExecution({ name: part, runId: 'night-1', workflow: 'DispatchRefunds' }, [own, reconciliation, run(part)])).toEqual([own, reconciliation]);
  });

  it('are found in a continued execution\'s output; a report has none', () => {
    expect(continuedIn({ runId: 'r', status: 'running', continuedIn: { executionArn: 'arn:x', name: 'r__part2', part: 2 } })).toEqual({ executionArn: 'arn:x', name: 'r__part2', part: 2 });
    expect(continuedIn({ runId: 'r', status: 'succeeded', outcomes: {} })).toBeUndefined();
    expect(continuedIn(null)).toBeUndefined();
  });
});

describe('a page call', () => {
  it('takes another page only within its page count and time budget, with twice its slowest page and the margin left', () => {
    const p = DEFAULT_CALL_POLICY;
    expect(anotherPage({ pages: 1, elapsedMs: 1_000, remainingMs: 290_000, slowestPageMs: 1_000 })).toBe(true);
    expect(anotherPage({ pages: p.maxPages, elapsedMs: 0, remainingMs: 290_000, slowestPageMs: 1 })).toBe(false);
    expect(anotherPage({ pages: 3, elapsedMs: p.budgetMs - 500, remainingMs: 290_000, slowestPageMs: 1_000 })).toBe(false);
    expect(anotherPage({ pages: 3, elapsedMs: 1_000, remainingMs: p.marginMs + 1_000, slowestPageMs: 1_000 })).toBe(false);
    fc.assert(
      fc.property(fc.nat(2_000), fc.nat(400_000), fc.nat(900_000), fc.nat(300_000), (pages, elapsedMs, remainingMs, slowestPageMs) => {
        if (anotherPage({ pages, elapsedMs, remainingMs, slowestPageMs })) {
          // A page as slow as the slowest still ends with the margin left, and within the budget.
          expect(remainingMs - slowestPageMs).toBeGreaterThanOrEqual(p.marginMs);
          expect(elapsedMs + slowestPageMs).toBeLessThanOrEqual(p.budgetMs);
        }
      }),
    );
  });

  it('pauses its shard once the shard had its calls in this execution, at least one, never more than the cap', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 1, max: 100 }), fc.integer({ min: -5, max: 100 }), fc.integer({ min: 1, max: 100 }), (done, calls, callsLeft, cap) => {
        const pauses = shardPauses({ done, calls, callsLeft }, cap);
        expect(pauses).toBe(!done && calls >= Math.max(1, Math.min(callsLeft, cap)));
      }),
    );
  });
});

describe('after a Map over shards', () => {
  const shards = fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 16 }).chain((numbers) =>
    fc.tuple(
      fc.constant(numbers),
      fc.array(fc.boolean(), { minLength: numbers.length, maxLength: numbers.length }),
      fc.array(fc.integer({ min: 1, max: CALLS_PER_SHARD_PER_EXECUTION }), { minLength: numbers.length, maxLength: numbers.length }),
      fc.array(fc.boolean(), { minLength: numbers.length, maxLength: numbers.length }),
    ),
  );

  it('every shard is finished or goes on, once; the calls left are what the busiest shard did not spend', () => {
    fc.assert(
      fc.property(shards, fc.integer({ min: 0, max: 40 }), ([numbers, done, calls, earlierSplit], callsLeft) => {
        // prepare: some shards finished in an earlier execution, the others ran now
        const earlier: ShardEnd[] = numbers.filter((_, i) => earlierSplit[i]).map((shard) => ({ shard, done: true, calls: 3 }));
        const results: ShardEnd[] = numbers.map((shard, i) => ({ shard, done: done[i] as boolean, calls: calls[i] as number, cursor: `c${shard}` })).filter((_, i) => !earlierSplit[i]);
        // act
        const plan = afterShards('shard', results, earlier, callsLeft);
        // assess
        const seen = [...plan.finished, ...plan.paused].map((s) => s.shard as number).sort((a, b) => a - b);
        expect(seen).toEqual([...numbers].sort((a, b) => a - b));
        expect(plan.paused.every((s) => !s.done)).toBe(true);
        expect(plan.finished.every((s) => s.done)).toBe(true);
        expect(plan.allDone).toBe(plan.paused.length === 0);
        expect(plan.callsLeft).toBe(callsLeft - Math.max(0, ...results.map((s) => s.calls ?? 0)));
        expect(plan.finished.map((s) => s.shard)).toEqual([...plan.finished.map((s) => s.shard)].sort((a, b) => (a as number) - (b as number)));
      }),
    );
  });

  it('refuses a shard that appears twice (a resumed Map runs only the shards that paused)', () => {
    expect(() => afterShards('shard', [{ shard: 3, done: true }], [{ shard: 3, done: true }], 10)).toThrow(RangeError);
    expect(() => afterShards('segment', [{ shard: 3, done: true }], [], 10)).toThrow('no segment number');
  });

  it('keep one execution of 16 shards far below 25,000 events whatever the size of the run', () => {
    expect(mapEventsBound(16)).toBeLessThan(HISTORY_BOUND_TARGET);
    expect(mapEventsBound(16, CALLS_PER_SHARD_PER_EXECUTION + 3, 4)).toBeLessThan(HISTORY_BOUND_TARGET);
  });
});
