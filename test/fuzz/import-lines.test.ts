import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoImportLookup } from '../../lib/adapters/dynamodb/import-store.ts';
import { importText } from '../../lib/cli/import.ts';
import { validateImportFile } from '../../lib/core/import.ts';
import { sampleText } from '../../lib/local/sample-data.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { dumpDiff, dumpTables } from './store-dump.ts';
import { NASTY_STRINGS } from './workflow-inputs.ts';

const SEED = Number(process.env.MASS_REFUND_FUZZ_SEED ?? 20260713);
const RUNS = Number(process.env.MASS_REFUND_FUZZ_IMPORT_RUNS ?? 60);
const SMALL = { performances: 1, ticketsPerPerformance: 8, agencies: 1, vouchers: 4, resales: 1, exclusions: 1 };

type Path = (string | number)[];
const ID_KEYS = new Set(['id', 'customerId', 'agencyId', 'performanceId', 'ticketId', 'sellerOrderId', 'code', 'replacesTicketId']);

/** The same records under new ids (and new PSP transactions): lines the store does not hold yet, so a write would show. */
function freshen(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => freshen(v));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, freshen(v, k)]));
  if (typeof value === 'string' && ID_KEYS.has(key)) return `N-${value}`;
  if (typeof value === 'string' && key === 'pspTransactionId') return `99${value.slice(2)}`;
  return value;
}

const STORED_LINES = sampleText({ seed: 21, ...SMALL }).trimEnd().split('\n');
const FRESH_LINES = sampleText({ seed: 22, ...SMALL })
  .trimEnd()
  .split('\n')
  .map((l) => JSON.stringify(freshen(JSON.parse(l))));

function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
}

const badValue = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)), // floats where minor units belong
  fc.constantFrom(0.1, 10.5, 99.999, -1, 2 ** 60, 1e21, -0),
  fc.integer(),
  fc.constantFrom(...NASTY_STRINGS),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom(null, true, false, '', '   ', '2026-02-30', 'x'.repeat(100_000)),
  fc.constant({ $ne: 1 }),
  fc.constant(Array.from({ length: 5_000 }, (_, i) => ({ id: `X${i}` }))),
  fc.jsonValue({ maxDepth: 2 }),
);

const mutation = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: badValue }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('extra' as const), key: fc.constantFrom('__proto__', 'constructor', 'prototype', '$where', 'refunded', 'settled', 'Type', 'x'), value: badValue }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('raw' as const), text: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('{', '[]', 'null', '1', '"x"', '{"type":null}', '{"type":"order"}', '{"type":"__proto__"}')) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }), weight: 1 },
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(line: string, m: Mutation): string {
  if (m.kind === 'raw') return m.text;
  if (m.kind === 'truncate') return line.slice(0, m.at % line.length);
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line; // already broken by an earlier mutation
  }
  if (record === null || typeof record !== 'object' || pathsOf(record).length === 0) return line;
  if (m.kind === 'extra') {
    Object.defineProperty(record, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
    return JSON.stringify(record);
  }
  const path = pathsOf(record)[m.at % pathsOf(record).length] as Path;
  let node: any = record;
  for (const part of path.slice(0, -1)) node = node[part];
  const last = path[path.length - 1] as string | number;
  if (m.kind === 'set') node[last] = m.value;
  else if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
  else delete node[last];
  return JSON.stringify(record);
}

let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime();
  const stored = await importText(STORED_LINES.join('\n'), rt.sandbox.url);
  if (!stored.ok) throw new Error(`seed data refused: ${JSON.stringify(stored.issues)}`);
  console.info(`import line fuzz: seed ${SEED}, ${RUNS} runs (replay: MASS_REFUND_FUZZ_SEED=${SEED})`);
});
afterAll(async () => rt?.stop());

async function sandboxTransactions(): Promise<number> {
  const health = (await (await fetch(`${rt.sandbox.url}/_sandbox/health`)).json()) as { transactions: number };
  return health.transactions;
}

describe('import through importText with bad lines', () => {
  it('refuses the whole file with line, field and reason, and leaves the database and the PSP sandbox unchanged', async () => {
    // prepare
    const before = await dumpTables(rt.dynamodb, rt.prefix);
    const transactionsBefore = await sandboxTransactions();
    let refused = 0;

    // act + assess per case
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(), mutation), { minLength: 1, maxLength: 3 }), fc.boolean(), async (mutations, withStored) => {
        const lines = [...(withStored ? STORED_LINES : []), ...FRESH_LINES];
        for (const [index, m] of mutations) {
          const i = (withStored ? STORED_LINES.length : 0) + (index % FRESH_LINES.length);
          lines[i] = mutate(lines[i] as string, m);
        }
        const text = lines.join('\n');
        // A mutation that keeps the file valid (a new name, say) is not bad input: skip it, before it writes.
        fc.pre(!(await validateImportFile(text, new DynamoImportLookup())).ok);

        const outcome = await importText(text, rt.sandbox.url);

        expect(outcome.ok).toBe(false);
        expect(outcome.issues?.length).toBeGreaterThan(0);
        for (const issue of outcome.issues ?? []) {
          expect(issue.line).toBeGreaterThanOrEqual(1);
          expect(issue.line).toBeLessThanOrEqual(lines.length);
          expect(issue.field.length).toBeGreaterThan(0);
          expect(issue.reason.length).toBeGreaterThan(0);
          expect(issue.reason.length).toBeLessThan(600); // huge values are never echoed whole
        }
        expect(await sandboxTransactions()).toBe(transactionsBefore);
        refused++;
      }),
      { seed: SEED, numRuns: RUNS },
    );

    expect(refused).toBeGreaterThan(RUNS / 2);
    expect(dumpDiff(before, await dumpTables(rt.dynamodb, rt.prefix))).toEqual([]);
  });

  it('imports the same fresh lines unmutated (so any partial write above would have shown)', async () => {
    const before = await dumpTables(rt.dynamodb, rt.prefix);
    const outcome = await importText([...STORED_LINES, ...FRESH_LINES].join('\n'), rt.sandbox.url);
    expect(outcome.ok).toBe(true);
    expect(dumpDiff(before, await dumpTables(rt.dynamodb, rt.prefix), 1)).not.toEqual([]);
  });
});
