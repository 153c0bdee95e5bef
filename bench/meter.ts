/**
 * Meters what the process asks of DynamoDB and how much memory it holds, so each bench phase
 * can be priced and compared. Every DynamoDB call of the handlers and adapters goes through the
 * one document client (lib/adapters/dynamodb/client.ts); a middleware on it asks DynamoDB Local
 * for ReturnConsumedCapacity and sums what it reports (it doubles transactional writes and
 * halves eventually consistent reads, as DynamoDB bills them).
 */
import { readFileSync } from 'node:fs';
import { documentClient } from '../lib/adapters/dynamodb/client.ts';

export interface DynamoCounts {
  /** Request units in halves (exact integers). */
  writeUnitHalves: number;
  readUnitHalves: number;
  /** Items written: each Put/Update/Delete action of a transaction, each batch put, each single write. */
  itemsWritten: number;
  requests: number;
}

const READS = /^(Get|GetItem|Query|Scan|BatchGet|BatchGetItem|TransactGet|TransactGetItems)Command$/;
const WRITES = /^(Put|PutItem|Update|UpdateItem|Delete|DeleteItem|BatchWrite|BatchWriteItem|TransactWrite|TransactWriteItems)Command$/;

export class DynamoMeter {
  readonly counts: DynamoCounts = { writeUnitHalves: 0, readUnitHalves: 0, itemsWritten: 0, requests: 0 };

  snapshot(): DynamoCounts {
    return { ...this.counts };
  }

  since(before: DynamoCounts): DynamoCounts {
    return {
      writeUnitHalves: this.counts.writeUnitHalves - before.writeUnitHalves,
      readUnitHalves: this.counts.readUnitHalves - before.readUnitHalves,
      itemsWritten: this.counts.itemsWritten - before.itemsWritten,
      requests: this.counts.requests - before.requests,
    };
  }
}

const meter = new DynamoMeter();
const metered = new WeakSet<object>();

/**
 * The process's meter, installed on the current document client. Call it again after the
 * environment changes: documentClient() makes a new client when the endpoint does.
 */
export function meterDynamo(): DynamoMeter {
  const doc = documentClient();
  if (metered.has(doc)) return meter;
  metered.add(doc);
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String((context as { commandName?: string }).commandName ?? '');
      const read = READS.test(command);
      const write = WRITES.test(command);
      const input = args.input as Record<string, unknown>;
      if (read || write) input.ReturnConsumedCapacity ??= 'TOTAL';
      if (write) meter.counts.itemsWritten += itemsOf(command, input);
      const result = await next(args);
      meter.counts.requests++;
      const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }).ConsumedCapacity;
      let units = 0;
      for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) units += c.CapacityUnits ?? 0;
      const halves = Math.round(units * 2);
      if (read) meter.counts.readUnitHalves += halves;
      else if (write) meter.counts.writeUnitHalves += halves;
      return result;
    },
    { step: 'initialize', name: 'benchCapacityMeter', override: true },
  );
  return meter;
}

function itemsOf(command: string, input: Record<string, unknown>): number {
  if (command.startsWith('TransactWrite')) {
    return ((input.TransactItems as Record<string, unknown>[] | undefined) ?? []).filter((a) => a.Put || a.Update || a.Delete).length;
  }
  if (command.startsWith('BatchWrite')) {
    return Object.values((input.RequestItems as Record<string, unknown[]> | undefined) ?? {}).reduce((s, list) => s + list.length, 0);
  }
  return 1;
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
