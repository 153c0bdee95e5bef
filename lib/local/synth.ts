import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT, localHome } from './paths.ts';

const require = createRequire(import.meta.url);
const run = promisify(execFile);

export const STACK_NAME = 'MassRefund';

export class SynthError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SynthError';
  }
}

function sourceHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) hash.update(full).update(readFileSync(full));
    }
  };
  walk(path.join(PROJECT_ROOT, 'infra'));
  hash.update(readFileSync(path.join(PROJECT_ROOT, 'lib/adapters/dynamodb/table-names.ts')));
  hash.update(readFileSync(path.join(PROJECT_ROOT, 'package.json')));
  return hash.digest('hex').slice(0, 16);
}

/**
 * Synthesizes the CDK app the way `cdk synth` does (the CLI runs the app with CDK_OUTDIR and
 * CDK_CONTEXT_JSON set), skipping Lambda bundling, which the local runner does not need.
 * The cloud assembly is cached by a hash of infra/ so repeated runs cost nothing.
 */
export async function synthesizeTemplate(opts: { outdir?: string; force?: boolean } = {}): Promise<{ template: Record<string, unknown>; path: string }> {
  const outdir = opts.outdir ?? path.join(localHome(), 'cdk.out');
  const templatePath = path.join(outdir, `${STACK_NAME}.template.json`);
  const stampPath = path.join(outdir, '.source-hash');
  const hash = sourceHash();
  const fresh = existsSync(templatePath) && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === hash;
  if (!fresh || opts.force) {
    mkdirSync(outdir, { recursive: true });
    const tsxCli = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'cli.mjs');
    try {
      await run(process.execPath, [tsxCli, path.join(PROJECT_ROOT, 'infra/app.ts')], {
        cwd: PROJECT_ROOT,
        env: {
          ...process.env,
          CDK_OUTDIR: outdir,
          CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [], 'mass-refund:skip-nag': true }),
          CDK_DISABLE_VERSION_CHECK: '1',
          CDK_DISABLE_CLI_TELEMETRY: 'true',
        },
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new SynthError(`cdk synth of infra/app.ts failed:\n${stderr.slice(-4000)}`, { cause: error });
    }
    writeFileSync(stampPath, hash);
  }
  if (!existsSync(templatePath) || statSync(templatePath).size === 0) throw new SynthError(`no template at ${templatePath}`);
  return { template: JSON.parse(readFileSync(templatePath, 'utf8')) as Record<string, unknown>, path: templatePath };
}
