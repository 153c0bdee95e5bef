import { describe, expect, it } from 'vitest';
import type { Checkpoint } from '../../../lib/adapters/dynamodb/checkpoints.ts';
import { passGate, type GatePorts } from '../../../lib/services/runs/checkpoint.ts';

function fakePorts() {
  const saved: Omit<Checkpoint, 'takenBy'>[] = [];
  const ports: GatePorts = { checkpoints: { save: async (c) => void saved.push(c) }, continuing: () => {} };
  return { ports, saved };
}
const gate = { resumeAt: 'Shards', shards: { items: 'shards', results: 'shardResults', key: 'shard' as const } };

describe('the gate after the shards', () => {
  it('lets the run go on in this execution when every shard is done, and checkpoints nothing', async () => {
    // prepare
    const { ports, saved } = fakePorts();
    const state = { runId: 'run-1', shards: [0, 1], shardResults: [{ shard: 0, done: true, calls: 3 }, { shard: 1, done: true, calls: 5 }] };
    // act
    const out = await passGate(ports, { workflow: 'CancelPerformance', executionName: 'run-1', gate, state });
    // assess
    expect(out).toMatchObject({ shards: [0, 1], continuation: { part: 1, continue: false } });
    expect(saved).toEqual([]);
  });

  it('checkpoints the paused shards for part 2 and asks for that execution', async () => {
    // prepare
    const { ports, saved } = fakePorts();
    const state = { runId: 'run-1', shards: [0, 1], shardResults: [{ shard: 0, done: true, calls: 3 }, { shard: 1, done: false, calls: 40, cursor: 'c' }] };
    // act
    const out = await passGate(ports, { workflow: 'CancelPerformance', executionName: 'run-1', gate, state });
    // assess
    expect(out).toEqual({ runId: 'run-1', continuation: { part: 1, callsLeft: 40, continue: true, next: { name: 'run-1__part2', part: 2 } } });
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatchObject({ runId: 'run-1', part: 2, workflow: 'CancelPerformance', resumeAt: 'Shards', executionName: 'run-1__part2', writtenBy: 'run-1' });
    expect(saved[0]?.state).toMatchObject({ shards: [{ shard: 1, done: false, calls: 40, cursor: 'c' }], finishedShards: [{ shard: 0, done: true, calls: 3 }] });
  });
});
