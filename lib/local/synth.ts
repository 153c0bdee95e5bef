import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { markAssemblyCommonJs } from './assembly.ts';
import { PROJECT_ROOT, handlerModeFromEnv, localHome, type HandlerMode } from './paths.ts';

const require = createRequire(import.meta.url);
const run = promisify(execFile);

export const STACK_NAME = 'MassRefund';

export class SynthError extends Error {
  override readonly name: string = 'SynthError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Everything the cloud assembly depends on: the CDK app, the bundled code and its dependencies. */
const SYNTH_INPUTS = ['infra', 'functions', 'lib', 'package.json', 'package-lock.json', 'tsconfig.json', 'cdk.json'];

function sourceHash(mode: HandlerMode): string {
  const hash = createHash('sha256').update(mode);
  const add = (full: string) => hash.update(path.relative(PROJECT_ROOT, full)).update(readFileSync(full));
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|cjs|mjs|js|json)$/.test(entry.name)) add(full);
    }
  };
  for (const input of SYNTH_INPUTS) {
    const full = path.join(PROJECT_ROOT, input);
    if (!existsSync(full)) continue;
    if (statSync(full).isDirectory()) walk(full);
    else add(full);
  }
  return hash.digest('hex').slice(0, 16);
}

/** The context `cdk synth` gives the app: cdk.json's (feature flags), then ours. */
function synthContext(mode: HandlerMode): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return {
    ...cdkJson.context,
    // cdk-nag runs in test/infra/nag.test.ts; the source modules need no bundles.
    'mass-refund:skip-nag': true,
    ...(mode === 'source' ? { 'aws:cdk:bundling-stacks': [] } : {}),
  };
}

/**
 * NodejsFunction runs the project's esbuild as `npx --no-install esbuild <args>`, once per
 * function, and npm's own start-up costs about half a second each time (15 of 22 s of a synth on
 * an idle machine). This `npx`, first on the synth's PATH, starts the same esbuild binary with the
 * same arguments directly, so the bundles are byte for byte what `cdk synth` makes; any other use
 * goes to the real npx.
 */
function esbuildLauncherDir(): string {
  const dir = path.join(localHome(), 'bin');
  const esbuild = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'esbuild');
  const script = [
    '#!/bin/sh',
    '# Written by lib/local/synth.ts: npx --no-install esbuild ... without npm\'s start-up.',
    `if [ "$1" = "--no-install" ] && [ "$2" = "esbuild" ] && [ -x ${JSON.stringify(esbuild)} ]; then shift 2; exec ${JSON.stringify(esbuild)} "$@"; fi`,
    `PATH=$(printf %s "$PATH" | tr ':' '\\n' | grep -vxF ${JSON.stringify(dir)} | paste -sd: -) exec npx "$@"`,
    '',
  ].join('\n');
  const file = path.join(dir, 'npx');
  mkdirSync(dir, { recursive: true });
  if (!existsSync(file) || readFileSync(file, 'utf8') !== script) writeFileSync(file, script);
  chmodSync(file, 0o755);
  return dir;
}

export interface SynthResult {
  template: Record<string, unknown>;
  /** The template's file in the cloud assembly (its bundles are beside it, see assembly.ts). */
  path: string;
  /** How long the synthesis took, or 0 when the cached assembly was still fresh. */
  synthMs: number;
}

/** Cloud assemblies kept beside the newest (a runtime started on one keeps loading its bundles). */
const ASSEMBLIES_KEPT = 4;
const ASSEMBLY_DIR = /^[0-9a-f]{16}$/;

/** Where the local cloud assemblies live: one directory per source hash. */
export function assembliesHome(): string {
  return path.join(localHome(), 'cdk.out');
}

/** The template of the newest local cloud assembly, if any (what `local up` would run now). */
export function latestTemplatePath(): string | undefined {
  const pointer = path.join(assembliesHome(), 'latest');
  if (!existsSync(pointer)) return undefined;
  const template = path.join(assembliesHome(), readFileSync(pointer, 'utf8').trim(), `${STACK_NAME}.template.json`);
  return existsSync(template) ? template : undefined;
}

/**
 * Synthesizes the CDK app the way `cdk synth` does (the CLI runs the app with CDK_OUTDIR and
 * CDK_CONTEXT_JSON set), bundling every Lambda function with esbuild as `cdk deploy` would upload
 * it. The cloud assembly is cached by a hash of what it is made of (infra/, functions/, lib/, the
 * lockfile...), so a changed handler is rebundled and an unchanged tree costs nothing. Each hash
 * has its own directory (.local/cdk.out/<hash>), written aside and renamed into place: a runtime,
 * bench or test run started on one version keeps its bundles while another process synthesizes
 * the next (the last few are kept). With MASS_REFUND_LOCAL_HANDLERS=source the bundling is
 * skipped (the runner calls the sources). `outdir` synthesizes into that directory instead.
 */
export async function synthesizeTemplate(opts: { outdir?: string; force?: boolean; handlers?: HandlerMode } = {}): Promise<SynthResult> {
  const mode = opts.handlers ?? handlerModeFromEnv();
  const hash = sourceHash(mode);
  const outdir = opts.outdir ?? path.join(assembliesHome(), hash);
  const templatePath = path.join(outdir, `${STACK_NAME}.template.json`);
  const stampPath = path.join(outdir, '.source-hash');
  const fresh = existsSync(templatePath) && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === hash;
  let synthMs = 0;
  if (!fresh || opts.force) {
    const started = performance.now();
    const target = opts.outdir ? outdir : `${outdir}.tmp-${process.pid}-${Date.now()}`;
    // A fresh directory: stale asset directories of earlier syntheses would pile up.
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { recursive: true });
    await synthesizeInto(target, mode);
    markAssemblyCommonJs(target);
    writeFileSync(path.join(target, '.source-hash'), hash);
    if (!opts.outdir) placeAssembly(target, outdir);
    synthMs = Math.round(performance.now() - started);
  }
  if (!opts.outdir) {
    // Marks it as in use for pruning, whether just made or reused.
    utimesSync(outdir, new Date(), new Date());
    writeFileSync(path.join(assembliesHome(), 'latest'), hash);
    pruneAssemblies(hash);
  }
  if (!existsSync(templatePath) || statSync(templatePath).size === 0) throw new SynthError(`no template at ${templatePath}`);
  return { template: JSON.parse(readFileSync(templatePath, 'utf8')) as Record<string, unknown>, path: templatePath, synthMs };
}

async function synthesizeInto(outdir: string, mode: HandlerMode): Promise<void> {
  const tsxCli = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'cli.mjs');
  try {
    await run(process.execPath, [tsxCli, path.join(PROJECT_ROOT, 'infra/app.ts')], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        PATH: `${esbuildLauncherDir()}${path.delimiter}${process.env.PATH ?? ''}`,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify(synthContext(mode)),
        CDK_DISABLE_VERSION_CHECK: '1',
        CDK_DISABLE_CLI_TELEMETRY: 'true',
      },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new SynthError(`cdk synth of infra/app.ts failed:\n${stderr.slice(-4000)}`, { cause: error });
  }
}

/** Moves a finished assembly into place; a process that got there first with the same sources wins. */
function placeAssembly(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  try {
    renameSync(from, to);
  } catch (error) {
    rmSync(from, { recursive: true, force: true });
    if (!existsSync(path.join(to, '.source-hash'))) throw new SynthError(`could not place the cloud assembly at ${to}`, { cause: error });
  }
}

/** Keeps the newest assemblies (and the current one); drops older ones, leftovers of failed syntheses and the old single-directory layout. */
function pruneAssemblies(current: string): void {
  const home = assembliesHome();
  const entries = readdirSync(home, { withFileTypes: true }).filter((e) => e.name !== 'latest' && e.name !== current);
  const assemblies = entries
    .filter((e) => e.isDirectory() && ASSEMBLY_DIR.test(e.name))
    .map((e) => ({ name: e.name, at: statSync(path.join(home, e.name)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  const dayAgo = Date.now() - 86_400_000;
  const stale = [
    ...assemblies.slice(ASSEMBLIES_KEPT - 1).map((a) => a.name),
    // A synthesis still writing has a recent directory: only day-old leftovers go.
    ...entries.filter((e) => /\.tmp-/.test(e.name) && statSync(path.join(home, e.name)).mtimeMs < dayAgo).map((e) => e.name),
    ...entries.filter((e) => !ASSEMBLY_DIR.test(e.name) && !/\.tmp-/.test(e.name)).map((e) => e.name),
  ];
  for (const name of stale) rmSync(path.join(home, name), { recursive: true, force: true });
}
