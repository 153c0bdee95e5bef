import { createHash } from 'node:crypto';

/**
 * A run that outgrows one execution. A Standard execution fails at 25,000 history events; a run's
 * work (tickets, refunds, codes, emails) does not stop there. So a run does its work in calls that
 * each take several pages (fewer transitions and Lambda calls per ticket), each shard at most
 * `CALLS_PER_SHARD_PER_EXECUTION` calls per execution; when a shard still has work then, the run's
 * state is checkpointed and the run goes on in a new execution of the same state machine (part 2,
 * 3, ...). One run id, one report (written by the execution that finishes the run), the same
 * claims and idempotency keys: only the execution that carries the work changes.
 *
 * History per execution, AWS's event model (lib/local/execution-limits.ts): a page call is a Task
 * (TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded, TaskStateExited) and a Choice
 * (Entered, Exited): 7 events; each shard adds MapIterationStarted/Succeeded and its end (2 + 2);
 * each Map 4; a retried call 3 more. With 16 shards and 40 calls a shard:
 * 16 × (40 × 7 + 4) + 4 ≈ 4,550 events plus the stages around the Maps: under 5,000 whatever
 * the size of the run, a fifth of the limit, with room for retries.
 */

/** Page calls a shard makes at most in one execution, over all the Maps of that execution. */
export const CALLS_PER_SHARD_PER_EXECUTION = 40;
/** SendEmails batches (each about a minute) in one execution. */
export const BATCHES_PER_EXECUTION = 400;
/** Time one page call spends taking pages (then it returns and the state machine calls again). */
export const CALL_SECONDS = 60;
/** Pages one call takes at most. */
export const PAGES_PER_CALL = 1000;
/** A call starts another page only with this much of its Lambda time left (and twice its slowest page). */
export const CALL_MARGIN_MS = 120_000;

/** Events of one page call (Task 5 + Choice 2), of a shard around its calls, of a Map around its shards. */
export const EVENTS_PER_CALL = 7;
export const EVENTS_PER_SHARD = 4;
export const EVENTS_PER_MAP = 4;

/** Events one execution of a run stays under, with room for retries: 10,000 of AWS's 25,000. */
export const HISTORY_BOUND_TARGET = 10_000;

/** The bound above: events of the Maps of one execution at most (the stages around them come on top). */
export function mapEventsBound(shards: number, callsPerShard = CALLS_PER_SHARD_PER_EXECUTION, maps = 1): number {
  return shards * (callsPerShard * EVENTS_PER_CALL + EVENTS_PER_SHARD * maps) + EVENTS_PER_MAP * maps;
}

/** What a continued execution outputs instead of a report: where the run goes on (`continuedIn`). */
export interface ContinuedIn {
  executionArn: string;
  name?: string;
  part?: number;
}

/** The run's continuation, if this execution's output says the run goes on in another execution. */
export function continuedIn(output: unknown): ContinuedIn | undefined {
  const c = (output as { continuedIn?: Partial<ContinuedIn> } | null | undefined)?.continuedIn;
  if (!c || typeof c.executionArn !== 'string' || c.executionArn === '') return undefined;
  return { executionArn: c.executionArn, ...(typeof c.name === 'string' ? { name: c.name } : {}), ...(typeof c.part === 'number' ? { part: c.part } : {}) };
}

const NAME_MAX = 80;

/**
 * The execution name of part `part` (2, 3, ...) of a run: derived from the run id, so a retried
 * StartExecution finds the execution it started, and at most 80 characters of the kinds CloudWatch
 * logging accepts (a long run id is cut and a hash of it keeps parts of different runs apart).
 */
export function continuationName(runId: string, part: number): string {
  if (!Number.isSafeInteger(part) || part < 2) throw new RangeError(`a continuation is part 2 or later, got ${part}`);
  const suffix = `__part${part}`;
  if (runId.length + suffix.length <= NAME_MAX) return `${runId}${suffix}`;
  const hash = createHash('sha256').update(runId).digest('hex').slice(0, 8);
  return `${runId.slice(0, NAME_MAX - suffix.length - hash.length - 1)}-${hash}${suffix}`;
}

/** The input of a continued execution. */
export interface ContinuationInput {
  continueRun: string;
  part: number;
}

/**
 * The run an execution belongs to: its own name (the run id is the first execution's name), or,
 * for a continuation, the run its input names, when its name is that run's part.
 */
export function runIdOfExecution(name: string, input: unknown): string {
  const c = input as Partial<ContinuationInput> | null | undefined;
  if (c && typeof c.continueRun === 'string' && typeof c.part === 'number' && Number.isSafeInteger(c.part) && c.part >= 2) {
    if (continuationName(c.continueRun, c.part) === name) return c.continueRun;
  }
  return name;
}

export interface CallPolicy {
  maxPages: number;
  budgetMs: number;
  marginMs: number;
}

export const DEFAULT_CALL_POLICY: CallPolicy = { maxPages: PAGES_PER_CALL, budgetMs: CALL_SECONDS * 1000, marginMs: CALL_MARGIN_MS };

/**
 * Whether a page call takes another page: within its page count and time budget, and only with
 * enough of its Lambda time left for a page as slow as its slowest one, twice over, and the margin.
 */
export function anotherPage(p: { pages: number; elapsedMs: number; remainingMs: number; slowestPageMs: number }, policy: CallPolicy = DEFAULT_CALL_POLICY): boolean {
  if (p.pages >= policy.maxPages) return false;
  if (p.elapsedMs + p.slowestPageMs > policy.budgetMs) return false;
  return p.remainingMs >= policy.marginMs + 2 * p.slowestPageMs;
}

/** Whether a shard pauses (its run goes on in the next execution) after its `calls`-th call of this execution. */
export function shardPauses(s: { done: boolean; calls: number; callsLeft: number }, cap = CALLS_PER_SHARD_PER_EXECUTION): boolean {
  return !s.done && s.calls >= Math.max(1, Math.min(s.callsLeft, cap));
}

/** A shard (or scan segment) as a Map iteration ends: done, or paused with what its next call needs. */
export interface ShardEnd {
  done: boolean;
  calls?: number;
  [field: string]: unknown;
}

export interface AfterShards {
  /** Every shard finished: their results, in shard order. */
  allDone: boolean;
  /** Shards finished so far (earlier executions and this one), in shard order. */
  finished: ShardEnd[];
  /** Shards to go on with in the next execution, in shard order. */
  paused: ShardEnd[];
  /** Calls left a shard in this execution for the Maps after this one. */
  callsLeft: number;
}

/**
 * After a Map over shards: what is finished (with what earlier executions finished), what goes on
 * in the next execution, and the calls a shard has left in this one (the Map's busiest shard spent
 * its calls for everyone). `key` names the shard number's field (`shard`, `segment`).
 */
export function afterShards(key: string, results: readonly ShardEnd[], earlier: readonly ShardEnd[], callsLeft: number): AfterShards {
  const number = (s: ShardEnd) => {
    const n = s[key];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new RangeError(`a shard result has no ${key} number`);
    return n;
  };
  const byNumber = (a: ShardEnd, b: ShardEnd) => number(a) - number(b);
  const seen = new Set<number>();
  for (const s of [...earlier, ...results]) {
    if (seen.has(number(s))) throw new RangeError(`${key} ${number(s)} appears twice`);
    seen.add(number(s));
  }
  const finished = [...earlier, ...results.filter((s) => s.done)].sort(byNumber);
  const paused = results.filter((s) => !s.done).sort(byNumber);
  const spent = Math.max(0, ...results.map((s) => s.calls ?? 0));
  return { allDone: paused.length === 0, finished, paused, callsLeft: callsLeft - spent };
}
