/**
 * Every Lambda bundle of the cloud assembly (what `cdk deploy` uploads, found by the function's
 * Code and Handler), its size, and its cold module-init time: a fresh `node` requires it with the
 * function's environment (NODE_OPTIONS=--enable-source-maps included), as the Lambda runtime loads
 * a CommonJS handler, several times, median. What weighs in it comes from an esbuild metafile of
 * the same entry built with RefundFunction's options (the assembly keeps no metafile).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { functionBundles } from '../lib/local/assembly.ts';
import { PROJECT_ROOT } from '../lib/local/paths.ts';
import { listFunctions, type CfnTemplate, type LocalFunction } from '../lib/local/template.ts';
import { getOrCreate } from '../lib/core/collections.ts';

const run = promisify(execFile);

export const BUNDLE_LIMIT_BYTES = 300 * 1024;
export const INIT_LIMIT_MS = 100;

export interface BundleFigure {
  entry: string;
  functions: string[];
  bytes: number;
  initMsMedian: number;
  initMsRuns: number[];
  /** Median load of only the @aws-sdk/* modules the bundle requires (the runtime's own SDK), at init or on first use. */
  sdkInitMsMedian: number;
  externals: string[];
  /** Largest contributors to the bundle (package or project folder), bytes in output. */
  heaviest: { source: string; bytes: number }[];
  flags: string[];
}

function sourceOf(input: string): string {
  const nm = input.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = input.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] as string);
  }
  const parts = input.split('/');
  return parts.length > 1 ? `${parts.slice(0, 2).join('/')}` : input;
}

function heaviest(metafile: Metafile, top = 4): BundleFigure['heaviest'] {
  const bySource = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const source = sourceOf(input);
      bySource.set(source, (bySource.get(source) ?? 0) + bytesInOutput);
    }
  }
  return [...bySource.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([source, bytes]) => ({ source, bytes }));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** The @aws-sdk/* modules a bundle requires (left external: the runtime provides them). */
function externalsOf(bundle: string): string[] {
  return [...new Set([...readFileSync(bundle, 'utf8').matchAll(/require\("(@aws-sdk\/[^"]+)"\)/g)].map((m) => m[1] as string))].sort();
}

/** Loads `file` in a fresh node with the function's environment; `SDK_STUB` runs the import alone. */
async function initTimes(file: string, env: Record<string, string>, runs: number): Promise<number[]> {
  const script = 'const t0 = performance.now(); require(process.argv[1]); process.stdout.write(String(performance.now() - t0));';
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { stdout } = await run(process.execPath, ['-e', script, file], {
      cwd: path.dirname(file),
      env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-central-1', ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    times.push(Math.round(Number(stdout) * 10) / 10);
  }
  return times;
}

/** What weighs in a bundle: the same entry built with RefundFunction's esbuild options and a metafile. */
async function weigh(entry: string, outdir: string): Promise<BundleFigure['heaviest']> {
  const result = await build({
    entryPoints: [path.join(PROJECT_ROOT, entry)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: true,
    sourcemap: true,
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    outfile: path.join(outdir, entry.replace(/[/.]/g, '_'), 'index.js'),
    metafile: true,
    write: false,
    logLevel: 'silent',
    absWorkingDir: PROJECT_ROOT,
  });
  return heaviest(result.metafile);
}

export async function measureBundles(
  template: Record<string, unknown>,
  opts: { templatePath: string; initRuns?: number; outdir?: string; only?: (entry: string) => boolean },
): Promise<BundleFigure[]> {
  const runs = opts.initRuns ?? 3;
  // The SDK-only stubs live in the assembly too, so @aws-sdk/* resolves from the same node_modules.
  const outdir = opts.outdir ?? path.join(path.dirname(opts.templatePath), 'bench-sdk-stubs');
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const functions = listFunctions(template as CfnTemplate).filter((fn) => !opts.only || opts.only(fn.entry));
  const bundles = functionBundles(opts.templatePath, functions);
  // Functions of one entry (and so one asset) are measured once.
  const byEntry = new Map<string, { functions: string[]; fn: LocalFunction }>();
  for (const fn of functions) {
    const e = getOrCreate(byEntry, fn.entry, () => ({ functions: [], fn }));
    e.functions.push(fn.logicalId);
  }
  const figures: BundleFigure[] = [];
  for (const [entry, { functions: ids, fn }] of [...byEntry.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const functions = ids;
    const env = fn.environment;
    const outfile = bundles.get(fn.logicalId)!.file;
    const bytes = statSync(outfile).size;
    const externals = externalsOf(outfile);
    const stub = path.join(outdir, `${entry.replace(/[/.]/g, '_')}.js`);
    writeFileSync(stub, `${externals.map((e) => `require('${e}');`).join('\n')}\n`);
    const initMsRuns: number[] = [];
    const sdkRuns: number[] = [];
    // Interleaved, so machine noise hits both alike.
    for (let i = 0; i < runs; i++) {
      initMsRuns.push(...(await initTimes(outfile, env, 1)));
      sdkRuns.push(...(await initTimes(stub, env, 1)));
    }
    const initMsMedian = median(initMsRuns);
    const sdkInitMsMedian = median(sdkRuns);
    const flags: string[] = [];
    if (bytes > BUNDLE_LIMIT_BYTES) flags.push(`bundle ${Math.round(bytes / 1024)} KB > 300 KB`);
    if (initMsMedian > INIT_LIMIT_MS) flags.push(`init ${initMsMedian} ms > 100 ms`);
    figures.push({ entry, functions, bytes, initMsMedian, initMsRuns, sdkInitMsMedian, externals, heaviest: await weigh(entry, outdir), flags });
  }
  return figures;
}
