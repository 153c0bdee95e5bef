import * as z from 'zod';
import type { CheckpointRepository } from '../../adapters/dynamodb/checkpoints.ts';
import { afterShards, CALLS_PER_SHARD_PER_EXECUTION, continuationName } from '../../core/continuation.ts';

const ShardEnd = z.looseObject({ done: z.boolean(), calls: z.number().int().min(0).optional() });

/** Where the next execution starts (a state name), and, after a Map, which fields hold its shards. */
export interface Gate {
  resumeAt: string;
  shards?: { items: string; results: string; key: 'shard' | 'segment' } | undefined;
}

export type GateState = Record<string, unknown> & { runId: string; continuation?: { part: number; callsLeft: number } | undefined };

export interface GatePorts {
  checkpoints: Pick<CheckpointRepository, 'save'>;
  /** The run goes on in a new execution (a log line). */
  continuing(facts: { workflow: string; part: number; paused: number; finished: number }): void;
}

/**
 * After a Map over shards (or a SendEmails batch that paused): whether the run goes on in this
 * execution or in the next one. Every shard finished: their results (with those earlier executions
 * finished) go where the next stage reads them, the Map's items are shard numbers again, and the
 * calls left are what the Map's busiest shard did not spend. Else the state the next execution
 * starts from is checkpointed (the paused shards as the Map's items, the finished ones kept aside)
 * and the state machine starts that execution. Returns the state, with `continuation` saying which.
 */
export async function passGate(ports: GatePorts, args: { workflow: string; executionName: string; gate: Gate; state: GateState }) {
  const { workflow, executionName, gate, state } = args;
  const current = state.continuation ?? { part: 1, callsLeft: CALLS_PER_SHARD_PER_EXECUTION };
  let stored: Record<string, unknown> = { ...state };
  if (gate.shards) {
    const { items, results, key } = gate.shards;
    const earlier = z.array(ShardEnd).parse(state['finishedShards'] ?? []);
    const plan = afterShards(key, z.array(ShardEnd).parse(state[results]), earlier, current.callsLeft);
    if (plan.allDone) {
      const { finishedShards: _f, ...rest } = state;
      return { ...rest, [results]: plan.finished, [items]: plan.finished.map((s) => s[key]), continuation: { part: current.part, callsLeft: plan.callsLeft, continue: false } };
    }
    const { [results]: _r, ...rest } = state;
    stored = { ...rest, [items]: plan.paused, finishedShards: plan.finished };
    ports.continuing({ workflow, part: current.part + 1, paused: plan.paused.length, finished: plan.finished.length });
  }
  const part = current.part + 1;
  const name = continuationName(state.runId, part);
  await ports.checkpoints.save({
    runId: state.runId,
    part,
    workflow,
    resumeAt: gate.resumeAt,
    executionName: name,
    writtenBy: executionName,
    state: { ...stored, continuation: { part, callsLeft: CALLS_PER_SHARD_PER_EXECUTION, continue: false } },
  });
  return { runId: state.runId, continuation: { ...current, continue: true, next: { name, part } } };
}
