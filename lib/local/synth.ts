import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

/**
 * Synthesizes the CDK app the way `cdk synth` does (the CLI runs the app with CDK_OUTDIR and
 * CDK_CONTEXT_JSON set), bundling every Lambda function with esbuild as `cdk deploy` would upload
 * it. The cloud assembly is cached by a hash of what it is made of (infra/, functions/, lib/, the
 * lockfile...), so a changed handler is rebundled and an unchanged tree costs nothing. With
 * MASS_REFUND_LOCAL_HANDLERS=source the bundling is skipped (the runner calls the sources).
 */
export async function synthesizeTemplate(opts: { outdir?: string; force?: boolean; handlers?: HandlerMode } = {}): Promise<SynthResult> {
  const mode = opts.handlers ?? handlerModeFromEnv();
  const outdir = opts.outdir ?? path.join(localHome(), 'cdk.out');
  const templatePath = path.join(outdir, `${STACK_NAME}.template.json`);
  const stampPath = path.join(outdir, '.source-hash');
  const hash = sourceHash(mode);
  const fresh = existsSync(templatePath) && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === hash;
  let synthMs = 0;
  if (!fresh || opts.force) {
    const started = performance.now();
    // A fresh directory: stale asset directories of earlier syntheses would pile up.
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir, { recursive: true });
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
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new SynthError(`cdk synth of infra/app.ts failed:\n${stderr.slice(-4000)}`, { cause: error });
    }
    markAssemblyCommonJs(outdir);
    writeFileSync(stampPath, hash);
    synthMs = Math.round(performance.now() - started);
  }
  if (!existsSync(templatePath) || statSync(templatePath).size === 0) throw new SynthError(`no template at ${templatePath}`);
  return { template: JSON.parse(readFileSync(templatePath, 'utf8')) as Record<string, unknown>, path: templatePath, synthMs };
}
