import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { inMemoryImportLookup, validateImportFile } from '../../lib/core/import.ts';
import { fieldPath } from '../../lib/core/import-schema.ts';
import { sampleText } from '../../lib/local/sample-data.ts';

type Path = (string | number)[];

/** A small valid file of every record type to mutate. */
const BASE_LINES = sampleText({ seed: 3, performances: 2, ticketsPerPerformance: 12, agencies: 1, vouchers: 6, resales: 2, exclusions: 1 })
  .trimEnd()
  .split('\n');

function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])]);
}

function getAt(root: any, path: Path): unknown {
  return path.reduce((node, part) => node?.[part], root);
}

function setAt(root: any, path: Path, value: unknown): void {
  let node = root;
  for (const part of path.slice(0, -1)) node = node[part];
  node[path[path.length - 1] as string | number] = value;
}

function deleteAt(root: any, path: Path): void {
  let node = root;
  for (const part of path.slice(0, -1)) node = node[part];
  const last = path[path.length - 1] as string | number;
  if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
  else delete node[last];
}

const nastyValue = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constant(2 ** 60),
  fc.constant(-0),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constant('x'.repeat(200_000)),
  fc.constant('\u0000\ud800'),
  fc.constantFrom(null, true, false, '', ' ', 'CHF', '2026-02-30', '2026-07-12T18:00:00', '__proto__'),
  fc.jsonValue({ maxDepth: 2 }),
);

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: nastyValue }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extra' as const), key: fc.constantFrom('__proto__', 'constructor', 'customerID', 'Type', 'settled', 'refunded', 'x'), value: nastyValue }),
  fc.record({ kind: fc.constant('raw' as const), text: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('{', '[]', 'null', '1', '"x"', '{"type":null}')) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(line: string, m: Mutation): string {
  if (m.kind === 'raw') return m.text;
  if (m.kind === 'truncate') return line.slice(0, m.at % line.length);
  let record: any;
  try {
    record = JSON.parse(line);
  } catch {
    return line; // already broken by an earlier mutation
  }
  if (record === null || typeof record !== 'object') return line;
  if (m.kind === 'extra') {
    Object.defineProperty(record, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
    return JSON.stringify(record);
  }
  const paths = pathsOf(record);
  if (paths.length === 0) return line;
  const path = paths[m.at % paths.length] as Path;
  if (m.kind === 'set') setAt(record, path, m.value);
  else deleteAt(record, path);
  return JSON.stringify(record);
}

describe('validateImportFile under random mutations', () => {
  it('never throws: a mutated file yields issues on real lines, or a valid result', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(), mutation), { minLength: 1, maxLength: 4 }), async (mutations) => {
        const lines = [...BASE_LINES];
        for (const [index, m] of mutations) {
          const i = index % lines.length;
          lines[i] = mutate(lines[i] as string, m);
        }

        const result = await validateImportFile(lines.join('\n'), inMemoryImportLookup([]));

        if (result.ok) {
          expect(result.records.length).toBeGreaterThan(0);
        } else {
          expect(result.issues.length).toBeGreaterThan(0);
          for (const issue of result.issues) {
            expect(issue.line).toBeGreaterThanOrEqual(1);
            expect(issue.line).toBeLessThanOrEqual(lines.length);
            expect(issue.field.length).toBeGreaterThan(0);
            expect(issue.reason.length).toBeGreaterThan(0);
            expect(issue.reason.length).toBeLessThan(600); // huge values are never echoed whole
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reports any non-integer amount at its own field', async () => {
    const orderLines = BASE_LINES.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('{"type":"order"'));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...orderLines),
        fc.nat(),
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isSafeInteger(d)),
        async ([line, index], pick, amount) => {
          const record = JSON.parse(line);
          // The minor-units numbers, not the money objects (a fee's `amount` is money).
          const amountPaths = pathsOf(record).filter((p) => p[p.length - 1] === 'amount' && typeof getAt(record, p) === 'number');
          const path = amountPaths[pick % amountPaths.length] as Path;
          setAt(record, path, amount);
          const lines = [...BASE_LINES];
          lines[index] = JSON.stringify(record);

          const result = await validateImportFile(lines.join('\n'), inMemoryImportLookup([]));

          expect(result.ok).toBe(false);
          if (!result.ok) {
            expect(result.issues).toContainEqual({ line: index + 1, field: fieldPath(path), reason: `must be an integer count of minor units, got ${amount}` });
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
