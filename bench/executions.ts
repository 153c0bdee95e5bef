/**
 * Runs one workflow through the synthesized state machine and measures what AWS would bill for
 * it: the runner's stats (transitions, invocations, history, payload) plus each Task's handler
 * time, timed from the execution's own StateEntered/StateExited events, priced at the function's
 * configured MemorySize from the template.
 */
import { lambdaMbMs, type Usage } from './cost.ts';
import { CALLS_PER_SHARD_PER_EXECUTION, EVENTS_PER_CALL } from '../lib/core/continuation.ts';
import { startRun } from '../lib/local/continued-runs.ts';
import type { ExecutionResult, ExecutionStats, LocalExecutionEvent, LocalRunner } from '../lib/local/runner.ts';
import { listFunctions, listStateMachines, type CfnTemplate } from '../lib/local/template.ts';
import { MemorySampler, type DynamoMeter } from './meter.ts';
import { getOrCreate } from '../lib/core/collections.ts';

export const HISTORY_LIMIT = 25_000;
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;

export interface FunctionFigure {
  function: string;
  entry: string;
  memoryMb: number;
  invocations: number;
  /** Σ handler wall time in-process: with N handlers sharing one event loop and DynamoDB Local, an upper bound. */
  totalMs: number;
  /** Σ of each call's share of the wall time (divided by the calls in flight with it): what the calls would take one at a time here. */
  sharedMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** Billed MB-ms from the shared durations (what the cost table uses). */
  mbMs: number;
  /** Billed MB-ms from the in-process wall durations (upper bound). */
  mbMsWall: number;
}

export interface ExecutionFigures {
  workflow: string;
  label: string;
  status: ExecutionResult['status'];
  error?: string;
  wallMs: number;
  /**
   * The run's figures over all its executions (a run that outgrows one continues in new ones):
   * transitions, calls and retries summed; `historyEvents` and `largestPayloadBytes` the largest of
   * any one execution (what AWS's limits apply to).
   */
  stats: ExecutionStats;
  /** Executions the run took, and each one's history length (first to last). */
  executions: number;
  historyPerExecution: number[];
  peakRssMb: number;
  functions: FunctionFigure[];
  usage: Usage;
  /** Lambda MB-ms from the in-process wall durations, for the upper-bound cost. */
  lambdaMbMsWall: number;
  itemsWritten: number;
  flags: string[];
  output?: unknown;
}

interface TaskFunction {
  logicalId: string;
  entry: string;
  memoryMb: number;
}

/** Task state name -> the function it calls, per workflow, from the template. */
export function taskFunctions(template: Record<string, unknown>): Map<string, Map<string, TaskFunction>> {
  const t = template as CfnTemplate;
  const fns = listFunctions(t);
  const byRef = new Map<string, TaskFunction>();
  for (const fn of fns) {
    const info = { logicalId: fn.logicalId, entry: fn.entry, memoryMb: fn.memorySizeMb };
    for (const ref of [fn.arn, fn.functionName, fn.logicalId]) byRef.set(ref, info);
  }
  const result = new Map<string, Map<string, TaskFunction>>();
  for (const machine of listStateMachines(t)) {
    const tasks = new Map<string, TaskFunction>();
    const walk = (def: Record<string, unknown>) => {
      for (const [name, state] of Object.entries((def.States ?? {}) as Record<string, Record<string, unknown>>)) {
        if (state.Type === 'Task') {
          const params = (state.Parameters ?? {}) as Record<string, unknown>;
          const target = String(params.FunctionName ?? state.Resource).replace(/^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+):[^:]+$/, '$1');
          const fn = byRef.get(target);
          if (fn) tasks.set(name, fn);
        }
        const inner = (state.ItemProcessor ?? state.Iterator) as Record<string, unknown> | undefined;
        if (inner) walk(inner);
        for (const b of (state.Branches as Record<string, unknown>[] | undefined) ?? []) walk(b);
      }
    };
    walk(machine.definition);
    result.set(machine.workflow, tasks);
  }
  return result;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * Each interval's share of the wall time: over every stretch of time, the calls in flight split
 * it equally. The shares add up to the time at least one call ran.
 */
export function sharesOf(intervals: readonly { start: number; end: number }[]): number[] {
  const points: { at: number; index: number; opens: boolean }[] = [];
  intervals.forEach((iv, index) => {
    points.push({ at: iv.start, index, opens: true }, { at: iv.end, index, opens: false });
  });
  // At the same instant opens come first, so a zero-length call opens and closes (it used to stay open and take a share forever).
  points.sort((a, b) => a.at - b.at || Number(b.opens) - Number(a.opens));
  const shares = intervals.map(() => 0);
  const active = new Set<number>();
  let last = points[0]?.at ?? 0;
  for (const p of points) {
    if (active.size > 0 && p.at > last) {
      const each = (p.at - last) / active.size;
      for (const i of active) shares[i] = (shares[i] as number) + each;
    }
    last = p.at;
    if (p.opens) active.add(p.index);
    else active.delete(p.index);
  }
  return shares;
}

export async function measureExecution(
  runner: LocalRunner,
  tasks: Map<string, TaskFunction>,
  meter: DynamoMeter,
  workflow: string,
  label: string,
  input: unknown,
  name: string,
): Promise<ExecutionFigures> {
  const open = new Map<string, number[]>();
  const intervals: { state: string; start: number; end: number }[] = [];
  const onEvent = (event: LocalExecutionEvent) => {
    const state = event.state as { name?: string; type?: string } | undefined;
    if (state?.type !== 'Task' || !state.name) return;
    const key = `${state.name}#${String(event.index ?? -1)}`;
    if (event.type === 'StateEntered') {
      const stack = getOrCreate(open, key, () => []);
      stack.push(event.timestamp);
    } else if (event.type === 'StateExited' || event.type === 'StateFailed') {
      const entered = open.get(key)?.pop();
      if (entered === undefined) return;
      intervals.push({ state: state.name, start: entered, end: Math.max(entered, event.timestamp) });
    }
  };
  const before = meter.snapshot();
  const memory = new MemorySampler().start();
  const t0 = performance.now();
  const run = await startRun(runner, workflow, input, { name, onEvent });
  const result = { ...run, stats: runStats(run.parts) };
  const wallMs = Math.round(performance.now() - t0);
  const peakRssMb = memory.stop();
  const dynamo = meter.since(before);

  const shares = sharesOf(intervals);
  const byFunction = new Map<string, { fn: TaskFunction; ms: number[]; shared: number[] }>();
  intervals.forEach((interval, i) => {
    const fn = tasks.get(interval.state);
    if (!fn) return;
    const entry = getOrCreate(byFunction, fn.logicalId, () => ({ fn, ms: [], shared: [] }));
    entry.ms.push(interval.end - interval.start);
    entry.shared.push(shares[i] as number);
  });
  const functions: FunctionFigure[] = [...byFunction.values()].map(({ fn, ms, shared }) => {
    const sorted = [...ms].sort((a, b) => a - b);
    return {
      function: fn.logicalId,
      entry: fn.entry,
      memoryMb: fn.memoryMb,
      invocations: ms.length,
      totalMs: ms.reduce((s, d) => s + d, 0),
      sharedMs: Math.round(shared.reduce((s, d) => s + d, 0)),
      p50Ms: percentile(sorted, 50),
      p95Ms: percentile(sorted, 95),
      maxMs: sorted[sorted.length - 1] ?? 0,
      mbMs: lambdaMbMs(fn.memoryMb, shared),
      mbMsWall: lambdaMbMs(fn.memoryMb, ms),
    };
  });
  const flags: string[] = [];
  if (result.status !== 'SUCCEEDED') flags.push(`status ${result.status}: ${result.error ?? ''}`);
  if (result.stats.largestPayloadBytes > PAYLOAD_LIMIT_BYTES) flags.push(`payload ${result.stats.largestPayloadBytes} B > 256 KiB`);
  if (result.stats.historyEvents > HISTORY_LIMIT) flags.push(`history ${result.stats.historyEvents} events > 25,000`);
  if (run.parts.some((p) => p.status !== 'SUCCEEDED' && p !== run.parts.at(-1))) flags.push('a part did not succeed');
  return {
    workflow,
    label,
    status: result.status,
    ...(result.error ? { error: `${result.error}: ${String(result.cause ?? '').slice(0, 500)}` } : {}),
    wallMs,
    stats: result.stats,
    executions: run.parts.length,
    historyPerExecution: run.parts.map((p) => p.stats.historyEvents),
    peakRssMb,
    functions,
    usage: {
      stateTransitions: result.stats.stateTransitions,
      lambdaInvocations: result.stats.lambdaInvocations,
      lambdaMbMs: functions.reduce((s, f) => s + f.mbMs, 0),
      writeRequestUnits: dynamo.writeUnitHalves / 2,
      readRequestUnits: dynamo.readUnitHalves / 2,
      emails: 0,
    },
    lambdaMbMsWall: functions.reduce((s, f) => s + f.mbMsWall, 0),
    itemsWritten: dynamo.itemsWritten,
    flags,
    output: result.output,
  };
}

/** A run's stats over its executions: counts summed, per-execution limits as their largest. */
export function runStats(parts: readonly ExecutionResult[]): ExecutionStats {
  const [first, ...rest] = parts;
  if (!first) throw new RangeError('a run has at least one execution');
  const sum: ExecutionStats = { ...first.stats };
  for (const { stats: p } of rest) {
    sum.stateTransitions += p.stateTransitions;
    sum.lambdaInvocations += p.lambdaInvocations;
    sum.retries += p.retries;
    sum.historyEvents = Math.max(sum.historyEvents, p.historyEvents);
    sum.largestPayloadBytes = Math.max(sum.largestPayloadBytes, p.largestPayloadBytes);
    sum.durationMs += p.durationMs;
    sum.coldStarts += p.coldStarts;
    sum.initMs += p.initMs;
  }
  return sum;
}

/** The size the season projection is made for. */
export const SEASON_TICKETS = 1_000_000;
/** Shards of every paged run (infra/workflows). */
const SHARDS = 16;

/**
 * A run at another size, on paper. Page calls are bounded in time, so calls and transitions grow
 * with the work: scaled by tickets from this run's counts (the first call of a shard is as long as
 * any, so this overestimates). A shard makes at most CALLS_PER_SHARD_PER_EXECUTION calls an
 * execution, so the executions are its calls over that; each execution's history is the events of
 * its calls (EVENTS_PER_CALL each, as many as a full execution holds) plus what this run's
 * largest execution recorded around its calls (stages, Map and shard events).
 */
export function projectRun(e: Pick<ExecutionFigures, 'stats' | 'executions'>, tickets: number, at: number): { transitions: number; lambdaCalls: number; executions: number; historyPerExecution: number } {
  const f = at / tickets;
  const lambdaCalls = Math.ceil(e.stats.lambdaInvocations * f);
  const callsPerShard = Math.ceil(lambdaCalls / SHARDS);
  const executions = Math.max(1, Math.ceil(callsPerShard / CALLS_PER_SHARD_PER_EXECUTION));
  // Events around the calls in this run's largest execution (its calls at most its share of the run's).
  const measuredCalls = Math.min(e.stats.lambdaInvocations, Math.ceil(e.stats.lambdaInvocations / e.executions) + SHARDS);
  const around = Math.max(0, e.stats.historyEvents - measuredCalls * EVENTS_PER_CALL);
  const callsInOne = Math.min(lambdaCalls, SHARDS * CALLS_PER_SHARD_PER_EXECUTION);
  return { transitions: Math.ceil(e.stats.stateTransitions * f), lambdaCalls, executions, historyPerExecution: around + callsInOne * EVENTS_PER_CALL };
}
