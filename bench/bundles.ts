/**
 * Every Lambda entry of the template bundled with esbuild exactly as RefundFunction configures
 * NodejsFunction (CommonJS, minify, source map file, target node22, main fields module/main,
 * @aws-sdk/* external: the runtime provides it), its size, what weighs in it (metafile), and its
 * cold module-init time: a fresh `node` requires it, as the Lambda runtime loads a CommonJS
 * handler, several times, median.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { PROJECT_ROOT } from '../lib/local/paths.ts';
import { listFunctions, type CfnTemplate } from '../lib/local/template.ts';

const run = promisify(execFile);

export const BUNDLE_LIMIT_BYTES = 300 * 1024;
export const INIT_LIMIT_MS = 100;

export interface BundleFigure {
  entry: string;
  functions: string[];
  bytes: number;
  initMsMedian: number;
  initMsRuns: number[];
  /** Median init of a stub importing only the bundle's external @aws-sdk/* modules (the runtime's own SDK). */
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

function externalsOf(metafile: Metafile): string[] {
  const found = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const i of output.imports) if (i.external && i.path.startsWith('@aws-sdk/')) found.add(i.path);
  }
  return [...found].sort();
}

async function initTimes(file: string, env: Record<string, string>, runs: number): Promise<number[]> {
  const script = 'const t0 = performance.now(); require(process.argv[1]); process.stdout.write(String(performance.now() - t0));';
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { stdout } = await run(process.execPath, ['-e', script, file], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', ...env, NODE_OPTIONS: '--enable-source-maps', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    times.push(Math.round(Number(stdout) * 10) / 10);
  }
  return times;
}

export async function measureBundles(template: Record<string, unknown>, opts: { initRuns?: number; outdir?: string; only?: (entry: string) => boolean } = {}): Promise<BundleFigure[]> {
  const runs = opts.initRuns ?? 3;
  // Under the project so the external @aws-sdk/* resolves from node_modules, as from the Lambda runtime.
  const outdir = opts.outdir ?? path.join(PROJECT_ROOT, '.local', 'bench-bundles');
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  // The project is "type": "module"; a Lambda asset has no package.json, so its .js is CommonJS.
  writeFileSync(path.join(outdir, 'package.json'), '{ "type": "commonjs" }\n');
  const byEntry = new Map<string, { functions: string[]; env: Record<string, string> }>();
  for (const fn of listFunctions(template as CfnTemplate)) {
    if (opts.only && !opts.only(fn.entry)) continue;
    let e = byEntry.get(fn.entry);
    if (!e) byEntry.set(fn.entry, (e = { functions: [], env: fn.environment }));
    e.functions.push(fn.logicalId);
  }
  const figures: BundleFigure[] = [];
  for (const [entry, { functions, env }] of [...byEntry.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const dir = path.join(outdir, entry.replace(/[/.]/g, '_'));
    mkdirSync(dir, { recursive: true });
    const outfile = path.join(dir, 'index.js');
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
      outfile,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: PROJECT_ROOT,
    });
    const bytes = statSync(outfile).size;
    const externals = externalsOf(result.metafile);
    const stub = path.join(dir, 'sdk-only.js');
    writeFileSync(stub, externals.map((e) => `require('${e}');`).join('\n') + '\n');
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
    figures.push({ entry, functions, bytes, initMsMedian, initMsRuns, sdkInitMsMedian, externals, heaviest: heaviest(result.metafile), flags });
  }
  return figures;
}
