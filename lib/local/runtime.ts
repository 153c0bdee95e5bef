import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { scanAll } from '../adapters/dynamodb/items.ts';
import { tableName } from '../adapters/dynamodb/table-names.ts';
import { registerWithSandbox, type SettledTransaction } from './sandbox-registration.ts';
import { applyEnvironment, DEFAULT_TABLE_PREFIX, localEnvironment, type LocalEndpoints } from './env.ts';
import { localHome, PROJECT_ROOT } from './paths.ts';
import { isAlive, LocalServiceError, startDynamoDbLocal, startPspSandboxProcess, startSesLocal, startStepFunctionsProcess, stopPid } from './services.ts';
import { latestTemplatePath, synthesizeTemplate } from './synth.ts';
import { dropTables, ensureTables } from './tables.ts';

export const SERVICE_NAMES = ['dynamodb', 'ses', 'psp', 'stepfunctions'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface RuntimeState {
  startedAt: string;
  tablePrefix: string;
  services: Record<ServiceName, { pid: number; url: string }>;
  /** What the Step Functions endpoint was started with (template, PSP settings): a change restarts it on `up`. */
  stepfunctionsConfig?: string;
}

const statePath = () => path.join(localHome(), 'runtime.json');

export function readState(): RuntimeState | undefined {
  if (!existsSync(statePath())) return undefined;
  try {
    return JSON.parse(readFileSync(statePath(), 'utf8')) as RuntimeState;
  } catch {
    return undefined;
  }
}

function writeState(state: RuntimeState): void {
  mkdirSync(localHome(), { recursive: true });
  writeFileSync(statePath(), JSON.stringify(state, null, 2));
}

export function endpointsOf(state: Pick<RuntimeState, 'services'>): LocalEndpoints {
  return { dynamodb: state.services.dynamodb.url, ses: state.services.ses.url, psp: state.services.psp.url };
}

/**
 * The standard AWS SDK/CLI variables that point any AWS client at the local runtime: DynamoDB
 * Local, and the Step Functions endpoint (which also answers CloudFormation's DescribeStacks).
 */
export function awsEnvironment(state: Pick<RuntimeState, 'services'>): Record<string, string> {
  const sfn = state.services.stepfunctions?.url ?? '';
  return {
    AWS_REGION: 'eu-central-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: state.services.dynamodb.url,
    AWS_ENDPOINT_URL_SFN: sfn,
    AWS_ENDPOINT_URL_CLOUDFORMATION: sfn,
  };
}

/** The code the Step Functions endpoint runs (handlers, adapters, core, the endpoint): sizes and times of its files. */
function codeFingerprint(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        const st = statSync(full);
        hash.update(`${full}:${st.size}:${st.mtimeMs}\n`);
      }
    }
  };
  for (const dir of ['functions', 'lib/core', 'lib/adapters', 'lib/local']) walk(path.join(PROJECT_ROOT, dir));
  return hash.digest('hex');
}

/** The user's settings the endpoint's handlers take over (read before this process points its own environment at the runtime). */
function userSettings(): string {
  return ['MASS_REFUND_PSP_URL', 'MASS_REFUND_PSP_MERCHANT_ID', 'MASS_REFUND_PSP_PASSWORD', 'MAIL_SENDER'].map((k) => `${k}=${process.env[k] ?? ''}`).join('\n');
}

/** What the Step Functions endpoint was started with (template, code, the user's PSP settings), as a fingerprint. */
function stepfunctionsConfig(templateText: string, settings = userSettings()): string {
  return createHash('sha256').update(templateText).update(codeFingerprint()).update(settings).digest('hex').slice(0, 16);
}

async function healthy(url: string, probe: string, init?: RequestInit): Promise<boolean> {
  try {
    const res = await fetch(url + probe, { ...init, signal: AbortSignal.timeout(1500) });
    return res.status < 500;
  } catch {
    return false;
  }
}

export interface ServiceStatus {
  name: string;
  pid: number;
  url: string;
  running: boolean;
}

export interface RuntimeStatus {
  up: boolean;
  services: ServiceStatus[];
  tablePrefix?: string;
  /** `export` these to point the AWS CLI or SDK at the local runtime. */
  env?: Record<string, string>;
}

export async function status(): Promise<RuntimeStatus> {
  const state = readState();
  if (!state) return { up: false, services: [] };
  const probes = {
    dynamodb: ['', { method: 'POST' }],
    ses: ['/health-check', undefined],
    psp: ['/_sandbox/health', undefined],
    stepfunctions: ['/_local/health', undefined],
  } as const;
  const services: ServiceStatus[] = [];
  for (const name of SERVICE_NAMES) {
    const s = state.services[name] as { pid: number; url: string } | undefined;
    const [probe, init] = probes[name];
    if (!s) {
      services.push({ name, pid: 0, url: '', running: false });
      continue;
    }
    services.push({ name, pid: s.pid, url: s.url, running: isAlive(s.pid) && (await healthy(s.url, probe, init)) });
  }
  const up = services.every((s) => s.running);
  return { up, services, tablePrefix: state.tablePrefix, ...(up ? { env: awsEnvironment(state) } : {}) };
}

export interface UpResult {
  state: RuntimeState;
  started: string[];
  tablesCreated: string[];
}

/**
 * Starts what is not running (idempotent), synthesizes the stack and creates its tables in
 * DynamoDB Local from the template. Services run detached; `down` stops them.
 */
export async function up(opts: { log?: (line: string) => void } = {}): Promise<UpResult> {
  const log = opts.log ?? (() => {});
  const settings = userSettings();
  const current = await status();
  const prev = readState();
  const byName = new Map(current.services.map((s) => [s.name, s]));
  const logDir = path.join(localHome(), 'logs');
  const started: string[] = [];
  const services = {} as RuntimeState['services'];
  for (const name of ['dynamodb', 'ses', 'psp'] as const) {
    const s = byName.get(name);
    if (s?.running) {
      services[name] = { pid: s.pid, url: s.url };
      continue;
    }
    if (s?.pid) stopPid(s.pid);
    log(`starting ${name}…`);
    const opts2 = { detached: true, logFile: path.join(logDir, `${name}.log`) };
    const svc = name === 'dynamodb' ? await startDynamoDbLocal(opts2) : name === 'ses' ? await startSesLocal(opts2) : await startPspSandboxProcess(opts2);
    services[name] = { pid: svc.pid, url: svc.url };
    started.push(name);
  }
  const tablePrefix = prev?.tablePrefix ?? DEFAULT_TABLE_PREFIX;
  applyEnvironment(localEnvironment(endpointsOf({ services }), tablePrefix));
  log('synthesizing the stack…');
  const { template, path: templatePath } = await synthesizeTemplate();
  const client = new DynamoDBClient({ endpoint: services.dynamodb.url });
  const tablesCreated = await ensureTables(client, template, tablePrefix);
  client.destroy();

  // The Step Functions endpoint runs the handlers against the other three: restart it when they, the template or the PSP settings changed.
  const config = stepfunctionsConfig(readFileSync(templatePath, 'utf8'), settings);
  const sfn = byName.get('stepfunctions');
  const dependencyRestarted = started.length > 0;
  if (sfn?.running && !dependencyRestarted && prev?.stepfunctionsConfig === config) {
    services.stepfunctions = { pid: sfn.pid, url: sfn.url };
  } else {
    if (sfn?.pid) stopPid(sfn.pid);
    log('starting stepfunctions…');
    const svc = await startStepFunctionsProcess({
      detached: true,
      logFile: path.join(logDir, 'stepfunctions.log'),
      template: templatePath,
      tablePrefix,
      endpoints: endpointsOf({ services }),
    });
    services.stepfunctions = { pid: svc.pid, url: svc.url };
    started.push('stepfunctions');
  }
  const state: RuntimeState = {
    startedAt: prev?.startedAt && started.length === 0 ? prev.startedAt : new Date().toISOString(),
    tablePrefix,
    services,
    stepfunctionsConfig: config,
  };
  writeState(state);
  // A restarted sandbox forgets the settled transactions; the orders still know them.
  if (started.includes('psp') && !started.includes('dynamodb')) {
    const registered = await reregisterPspTransactions(state.services.psp.url);
    if (registered > 0) log(`re-registered ${registered} card/Amazon Pay transactions with the PSP sandbox`);
  }
  return { state, started, tablesCreated };
}

async function reregisterPspTransactions(sandboxUrl: string): Promise<number> {
  const txs: SettledTransaction[] = [];
  for await (const item of scanAll(tableName('orders'), { filter: 'begins_with(sk, :p) AND attribute_type(pspTransactionId, :s)', values: { ':p': 'PAYMENT#', ':s': 'S' } })) {
    txs.push({ transactionId: item.pspTransactionId as string, amount: { amount: item.amount as number, currency: item.currency as string }, paymentMethod: item.method === 'card' ? 'VIS' : 'AZP' });
  }
  await registerWithSandbox(sandboxUrl, txs);
  return txs.length;
}

export async function down(): Promise<string[]> {
  const state = readState();
  if (!state) return [];
  const stopped: string[] = [];
  for (const [name, s] of Object.entries(state.services)) {
    if (isAlive(s.pid)) {
      stopPid(s.pid);
      stopped.push(name);
    }
  }
  rmSync(statePath(), { force: true });
  return stopped;
}

/**
 * Requires a running runtime and points this process's AWS clients at it (the standard
 * AWS_ENDPOINT_URL_* variables): the CLI then runs its AWS code path against the local endpoints.
 */
export async function attach(): Promise<RuntimeState> {
  const current = await status();
  const state = readState();
  if (!state || !current.up) {
    const down = current.services.filter((s) => !s.running).map((s) => s.name);
    throw new LocalServiceError(`the local runtime is not running${down.length ? ` (${down.join(', ')} down)` : ''}: run \`mass-refund local up\``);
  }
  applyEnvironment({ ...awsEnvironment(state), MASS_REFUND_SANDBOX_URL: state.services.psp.url });
  return state;
}

/**
 * Whether the running Step Functions endpoint runs other code or settings than the working copy
 * now has (handlers are loaded once per endpoint process): `local up` restarts it.
 */
export function endpointIsStale(state: RuntimeState): boolean {
  const template = latestTemplatePath();
  if (!state.stepfunctionsConfig || !template) return false;
  return stepfunctionsConfig(readFileSync(template, 'utf8')) !== state.stepfunctionsConfig;
}

/** Empties every table, the sandbox's ledger and the received emails. */
export async function reset(): Promise<void> {
  const state = await attach();
  applyEnvironment(localEnvironment(endpointsOf(state), state.tablePrefix));
  const client = new DynamoDBClient({ endpoint: state.services.dynamodb.url });
  await dropTables(client, state.tablePrefix);
  const { template } = await synthesizeTemplate();
  await ensureTables(client, template, state.tablePrefix);
  client.destroy();
  await fetch(`${state.services.psp.url}/_sandbox/reset`, { method: 'POST' });
  await fetch(`${state.services.ses.url}/clear-store`, { method: 'POST' });
}
