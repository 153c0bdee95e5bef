/**
 * Progress of a run with real counts, read from the execution history as Step Functions records it
 * (on AWS and on the local endpoint alike): every page of a paged workflow returns its shard's
 * tallies so far, so the latest page output per shard, summed, is what is done.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../adapters/dynamodb/client.ts';
import { RunRepository } from '../adapters/dynamodb/runs.ts';
import { INDEX, OPEN_REFUND_SHARDS, PERFORMANCE_SHARDS, tableName } from '../adapters/dynamodb/table-names.ts';
import { formatCount, formatDuration } from './format.ts';
import type { Out } from './io.ts';

type Tallies = Record<string, { count: number; totals?: Record<string, number> }>;

export interface ProgressPlan {
  /** What is counted: tickets, refunds, codes. */
  unit: string;
  /** Page states whose outputs count (by name); empty = every state whose output carries tallies. */
  pageStates?: readonly string[];
  /** Which outcomes count one item each. */
  counts: (outcome: string) => boolean;
  total?: number;
}

/** How each workflow's progress is counted; the total is looked up where it is cheap. */
export async function progressPlan(workflow: string, input: unknown): Promise<ProgressPlan | undefined> {
  const i = (input ?? {}) as Record<string, unknown>;
  const safe = async (f: () => Promise<number | undefined>) => {
    try {
      return await f();
    } catch {
      return undefined; // no read access to the tables, or no such item: progress without a total
    }
  };
  switch (workflow) {
    case 'CancelPerformance':
    case 'PartialRefund': {
      const filtered = ['quotas', 'seatCategories', 'productFamilies', 'tariffs', 'salesChannels', 'paymentMethods'].some((k) => Array.isArray(i[k]));
      const total = typeof i.performanceId === 'string' && !filtered ? await safe(() => ticketsOfPerformance(i.performanceId as string)) : undefined;
      return { unit: 'tickets', counts: (o) => o.startsWith('tickets_'), ...(total !== undefined ? { total } : {}) };
    }
    case 'DispatchRefunds': {
      let total: number | undefined;
      if (i.schedule === undefined && i.mode === 'simulate' && typeof i.from === 'string' && typeof i.to === 'string') {
        total = await safe(() => openRefundsBetween(i.from as string, i.to as string));
      } else if (i.schedule === undefined && (i.mode === 'psp' || i.mode === 'credit') && typeof i.simulationRunId === 'string') {
        total = await safe(async () => {
          const sim = await new RunRepository().get(i.simulationRunId as string);
          return sim?.report?.outcomes?.[i.mode === 'psp' ? 'to_psp' : 'to_credit']?.count;
        });
      }
      return { unit: 'refunds', pageStates: ['SimulatePage', 'DispatchPage'], counts: (o) => !o.startsWith('emails_'), ...(total !== undefined ? { total } : {}) };
    }
    case 'WriteOff':
      return { unit: 'codes', counts: () => true };
    case 'ReconcileRefunds':
      return { unit: 'refunds', pageStates: ['ReconcilePage'], counts: (o) => o !== 'transactions_compared' && o !== 'difference' };
    default:
      return undefined;
  }
}

async function countQuery(input: Record<string, unknown>): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await documentClient().send(new QueryCommand({ ...input, Select: 'COUNT', ExclusiveStartKey: start } as never));
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return count;
}

/** Items of a sharded index: one count query a shard (`shard` as its two-digit key part), summed. */
async function countShards(shards: number, query: (shard: string) => Parameters<typeof countQuery>[0]): Promise<number> {
  const counts = await Promise.all(Array.from({ length: shards }, (_, shard) => countQuery(query(String(shard).padStart(2, '0')))));
  return counts.reduce((a, b) => a + b, 0);
}

function ticketsOfPerformance(performanceId: string): Promise<number> {
  return countShards(PERFORMANCE_SHARDS, (shard) => ({
    TableName: tableName('orders'),
    IndexName: INDEX.ticketsByPerformance,
    KeyConditionExpression: 'gsi1pk = :pk',
    ExpressionAttributeValues: { ':pk': `PERF#${performanceId}#${shard}` },
  }));
}

function openRefundsBetween(from: string, to: string): Promise<number> {
  return countShards(OPEN_REFUND_SHARDS, (shard) => ({
    TableName: tableName('refunds'),
    IndexName: INDEX.openRefundsByCreatedAt,
    KeyConditionExpression: 'openShard = :s AND createdAt BETWEEN :from AND :to',
    ExpressionAttributeValues: { ':s': `OPEN#${shard}`, ':from': from, ':to': to },
  }));
}

/** The part of a history event the tracker reads (SDK HistoryEvent shape). */
export interface HistoryEventLike {
  id?: number;
  type?: string;
  timestamp?: Date;
  stateEnteredEventDetails?: { name?: string };
  stateExitedEventDetails?: { name?: string; output?: string };
}

export interface ProgressSnapshot {
  stage?: string;
  done: number;
  total?: number;
  unit?: string;
  /** Items per second since the first counted page. */
  rate?: number;
  /** Milliseconds left at the current rate. */
  etaMs?: number;
}

export class ProgressTracker {
  readonly #latest = new Map<string, Tallies>();
  #stage: string | undefined;
  #firstAt: number | undefined;
  #firstDone = 0;
  #lastAt: number | undefined;

  constructor(
    private readonly plan: ProgressPlan | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Feeds events in history order. */
  apply(events: readonly HistoryEventLike[]): void {
    let counted = false;
    for (const e of events) {
      if (e.type?.endsWith('StateEntered') && e.stateEnteredEventDetails?.name) this.#stage = e.stateEnteredEventDetails.name;
      const exited = e.stateExitedEventDetails;
      // Task outputs only: a Choice after the page passes the same output on.
      if (!this.plan || e.type !== 'TaskStateExited' || !exited?.name || !exited.output) continue;
      if (this.plan.pageStates && !this.plan.pageStates.includes(exited.name)) continue;
      let output: Record<string, unknown>;
      try {
        output = JSON.parse(exited.output) as Record<string, unknown>;
      } catch {
        continue;
      }
      const tallies = output.tallies;
      const shard = typeof output.shard === 'number' ? output.shard : typeof output.segment === 'number' ? output.segment : undefined;
      if (!tallies || typeof tallies !== 'object' || shard === undefined) continue;
      this.#latest.set(`${exited.name}#${shard}`, tallies as Tallies);
      counted = true;
    }
    if (!counted) return;
    // The rate counts from the first progress seen: what was done before it took an unknown time.
    if (this.#firstAt === undefined) {
      this.#firstAt = this.now();
      this.#firstDone = this.done();
    }
    this.#lastAt = this.now();
  }

  done(): number {
    let n = 0;
    for (const tallies of this.#latest.values()) for (const [outcome, t] of Object.entries(tallies)) if (this.plan?.counts(outcome)) n += t.count;
    return n;
  }

  snapshot(): ProgressSnapshot {
    const done = this.done();
    const total = this.plan?.total !== undefined ? Math.max(this.plan.total, done) : undefined;
    const snap: ProgressSnapshot = { done, ...(this.#stage ? { stage: this.#stage } : {}), ...(this.plan ? { unit: this.plan.unit } : {}), ...(total !== undefined ? { total } : {}) };
    if (this.#firstAt !== undefined && this.#lastAt !== undefined) {
      const elapsed = this.now() - this.#firstAt;
      const counted = done - this.#firstDone;
      if (elapsed >= 1000 && counted > 0) {
        snap.rate = (counted * 1000) / elapsed;
        if (total !== undefined) snap.etaMs = ((total - done) / snap.rate) * 1000;
      }
    }
    return snap;
  }
}

/** "1,234/5,000 tickets (24 %), 410/s, ~10 s left" */
export function progressText(label: string, s: ProgressSnapshot, status?: string): string {
  const parts = [label];
  if (s.unit && (s.done > 0 || s.total !== undefined)) {
    parts.push(s.total !== undefined ? `${formatCount(s.done)}/${formatCount(s.total)} ${s.unit}${s.total > 0 ? ` (${Math.floor((s.done * 100) / s.total)} %)` : ''}` : `${formatCount(s.done)} ${s.unit}`);
    if (s.rate !== undefined) parts.push(`${s.rate >= 10 ? formatCount(Math.round(s.rate)) : s.rate.toFixed(1)}/s`);
    if (s.etaMs !== undefined) parts.push(`~${formatDuration(s.etaMs)} left`);
  }
  if (s.stage) parts.push(`at ${s.stage}`);
  if (status && status !== 'RUNNING') parts.push(status);
  return parts.join(', ').replace(', ', ': ');
}

/** Piped output without a known total: at most one progress line this often. */
const UNKNOWN_TOTAL_LINE_MS = 30_000;

/**
 * Draws progress on stderr: on a terminal one line redrawn in place (a bar when the total is
 * known); when piped, one line per 10 % (without a total, a line at most every 30 s when something changed).
 */
export class ProgressDisplay {
  #lastDraw = 0;
  #lastDecile = -1;
  #lastLine = '';
  #drawn = false;

  constructor(
    private readonly out: Out,
    private readonly label: string,
    private readonly now: () => number = Date.now,
  ) {}

  update(s: ProgressSnapshot, status = 'RUNNING'): void {
    if (this.out.isTTY) {
      if (this.now() - this.#lastDraw < 100) return;
      this.#lastDraw = this.now();
      const width = Math.max(40, (this.out.columns || 100) - 1);
      let line = progressText(this.label, s, status);
      if (s.total !== undefined && s.total > 0) {
        const bar = 20;
        const filled = Math.min(bar, Math.floor((s.done * bar) / s.total));
        line = `[${'#'.repeat(filled)}${'.'.repeat(bar - filled)}] ${line}`;
      }
      this.out.write(`\r\x1b[2K${line.slice(0, width)}`);
      this.#drawn = true;
      return;
    }
    let line: string | undefined;
    if (s.total !== undefined && s.total > 0) {
      const decile = Math.min(10, Math.floor((s.done * 10) / s.total));
      if (decile > this.#lastDecile) {
        this.#lastDecile = decile;
        line = progressText(this.label, s, status);
      }
    } else if (this.now() - this.#lastDraw >= UNKNOWN_TOTAL_LINE_MS) {
      // No total, no tenths: a line now and then, only when something changed.
      line = progressText(this.label, { ...s, rate: undefined, etaMs: undefined }, status);
    }
    if (line && line !== this.#lastLine) {
      this.#lastLine = line;
      this.#lastDraw = this.now();
      this.out.write(`${line}\n`);
    }
  }

  /** Clears the redrawn line (terminal) so the result starts on a clean line. */
  done(): void {
    if (this.out.isTTY && this.#drawn) this.out.write('\r\x1b[2K');
  }
}
