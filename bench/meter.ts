/**
 * Meters what the bench asks of DynamoDB and how much memory it holds, so each bench phase can be
 * priced and compared. Every DynamoDB call goes through a document client: the bench's own (import,
 * raw baseline) in this process, the stages' in their Lambda containers. bench/dynamo-meter.cjs,
 * installed here and preloaded into every container, asks DynamoDB Local for
 * ReturnConsumedCapacity and sums what it reports into counters in shared memory (it doubles
 * transactional writes and halves eventually consistent reads, as DynamoDB bills them).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../lib/local/paths.ts';
import type { PreloadHook } from '../lib/local/runner.ts';

export interface DynamoCounts {
  /** Request units in halves (exact integers). */
  writeUnitHalves: number;
  readUnitHalves: number;
  /** Items written: each Put/Update/Delete action of a transaction, each batch put, each single write. */
  itemsWritten: number;
  requests: number;
}

const METER_HOOK = fileURLToPath(new URL('./dynamo-meter.cjs', import.meta.url));
/** Layout of the shared counters (see dynamo-meter.cjs). */
const shared = new Int32Array(new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT));

export class DynamoMeter {
  get counts(): DynamoCounts {
    return { writeUnitHalves: Atomics.load(shared, 0), readUnitHalves: Atomics.load(shared, 1), itemsWritten: Atomics.load(shared, 2), requests: Atomics.load(shared, 3) };
  }

  snapshot(): DynamoCounts {
    return this.counts;
  }

  since(before: DynamoCounts): DynamoCounts {
    const now = this.counts;
    return {
      writeUnitHalves: now.writeUnitHalves - before.writeUnitHalves,
      readUnitHalves: now.readUnitHalves - before.readUnitHalves,
      itemsWritten: now.itemsWritten - before.itemsWritten,
      requests: now.requests - before.requests,
    };
  }
}

const meter = new DynamoMeter();
let installed = false;

/** The preload that meters every Lambda container's DynamoDB calls into the same counters. */
export function dynamoMeterPreload(): PreloadHook {
  return { module: METER_HOOK, data: shared.buffer };
}

/** The process's meter, installed on this process's document clients (once). */
export function meterDynamo(): DynamoMeter {
  if (!installed) {
    installed = true;
    const require = createRequire(path.join(PROJECT_ROOT, 'package.json'));
    (require(METER_HOOK) as (ctx: { require: NodeJS.Require; data: unknown }) => void)({ require, data: shared.buffer });
  }
  return meter;
}

/** Samples the process's resident memory while a phase runs; `maxRss` is the whole process's peak. */
export class MemorySampler {
  #peak = 0;
  #timer: NodeJS.Timeout | undefined;

  start(intervalMs = 200): this {
    this.#peak = process.memoryUsage().rss;
    this.#timer = setInterval(() => {
      this.#peak = Math.max(this.#peak, process.memoryUsage().rss);
    }, intervalMs);
    this.#timer.unref();
    return this;
  }

  /** Peak RSS in MB since start. */
  stop(): number {
    if (this.#timer) clearInterval(this.#timer);
    this.#peak = Math.max(this.#peak, process.memoryUsage().rss);
    return Math.round(this.#peak / 1024 / 1024);
  }
}

export function processMaxRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Peak resident memory (VmHWM) of another process, e.g. the DynamoDB Local JVM; undefined off Linux. */
export function childPeakRssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}
