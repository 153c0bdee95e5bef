/**
 * The bench: import an N-ticket match, measure DynamoDB Local's raw write speed for the
 * cancellation's writes, cancel the match and dispatch its refunds through the synthesized state
 * machines, all in one fresh local runtime, and price every execution. `runBench` is what
 * `npm run bench` and the CI smoke test call.
 */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { importText } from '../lib/cli/import.ts';
import { addUsage, costOf, formatUsd, NO_USAGE, orchestration, perTickets, total, type Cost, type Usage } from './cost.ts';
import { applyEnvironment } from '../lib/local/env.ts';
import { synthesizeTemplate } from '../lib/local/synth.ts';
import type { RunReport } from '../lib/core/report.ts';
import { measureBundles, type BundleFigure } from './bundles.ts';
import { generateBenchData, type GroupOrderOptions } from './data.ts';
import { measureExecution, taskFunctions, type ExecutionFigures } from './executions.ts';
import { childPeakRssMb, MemorySampler, meterDynamo, processMaxRssMb } from './meter.ts';
import { measureRawWrites, type RawWriteFigures } from './raw-writes.ts';
import { startBenchRuntime, type BenchRuntime } from './runtime.ts';

export interface BenchOptions {
  /** Sizes to run, in tickets (one run each, fresh tables). */
  sizes: number[];
  /** The PSP sandbox's rate limit R (requests per second). */
  pspRate: number;
  /** The emulated SES account's sending rate (emails per second): SendEmails' quota and the SES server's. */
  sesRate?: number;
  bundles: boolean;
  /** Cold-start imports per bundle (median reported). */
  initRuns?: number;
  /** Orders in the raw-write concurrency sweep (default 5 % of the orders, 500 to 1,500). */
  sweepOrders?: number;
  /** Share of the orders the raw baseline times at the best concurrency (default 1: all). */
  rawShare?: number;
  /** Also run each size with a share of its tickets in group orders, and report it beside the normal run. */
  groupOrders?: GroupOrderOptions;
  dynamodbUrl?: string;
  templatePath?: string;
  /** Containers per function (default 16, as deployed; the CI smoke test runs 4). */
  maxContainers?: number;
  log?: (line: string) => void;
  /** Called with each size's figures as soon as it is measured (a later size that fails loses nothing). */
  onSize?: (size: SizeResult) => void;
}

export interface Unavailable {
  available: false;
  reason: string;
}

export interface PspFigures {
  rateLimitPerSecond: number;
  creditRequests: number;
  served: number;
  rateLimited: number;
  windowMs: number;
  sustainedPerSecond: number;
  /** sustained / R. */
  ratio: number;
  /** Booked credits beyond the first for one refno (one refund) or one Idempotency-Key: must be 0. */
  duplicateCredits: number;
  creditsBooked: number;
  /** The pass can be no faster than its credits at R: served / R. */
  floorMs: number;
  /** The psp pass' wall time over that floor (target <= 1.2: the pass ends when the money has moved). */
  passOverFloor?: number;
}

/** SendEmails after a pass: how fast it drained the outbox against the SES quota. */
export interface SenderFigures {
  quotaPerSecond: number;
  emailsSent: number;
  /** Sent / time inside the sender's batches. */
  sentPerSecond: number;
  /** sentPerSecond / quota (at most 1: the sender never exceeds it). */
  ratio: number;
  throttledBySes: number;
  wallMs: number;
}

export interface CostRow {
  label: string;
  usage: Usage;
  /** Pico-dollars as decimal strings (JSON has no BigInt). */
  picoUsd: Record<keyof Cost | 'orchestration' | 'total', string>;
  usd: Record<keyof Cost | 'orchestration' | 'total', string>;
}

export interface SizeResult {
  /** `normal`: the sample; `group`: the same number of tickets with a share sold in group orders. */
  variant: 'normal' | 'group';
  groupOrders?: { orders: number; tickets: number; largest: number; payments: number };
  tickets: number;
  orders: number;
  performanceId: string;
  paymentMethods: Record<string, number>;
  resales: number;
  import: { wallMs: number; records: number; itemsWritten: number; itemsPerSecond: number; usage: Usage; peakRssMb: number };
  raw: RawWriteFigures;
  cancel: ExecutionFigures | Unavailable;
  /** Cancellation items/s over the raw baseline's items/s (target >= 0.5). */
  cancelRatio?: number;
  dispatch: Record<'simulate' | 'psp' | 'credit', ExecutionFigures | Unavailable>;
  psp?: PspFigures;
  /** SendEmails after the psp and after the credit pass. */
  emails: ExecutionFigures[];
  sender?: SenderFigures;
  costs: CostRow[];
  costPer100k: CostRow[];
  msPerTicket: Record<string, number>;
}

export interface BenchResult {
  startedAt: string;
  wallMs: number;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; platform: string };
  options: Omit<BenchOptions, 'log'>;
  sizes: SizeResult[];
  /** The group-order variant of each size (with --group-orders), in the same order. */
  groupVariants?: SizeResult[];
  bundles: BundleFigure[] | Unavailable;
  processMaxRssMb: number;
  dynamodbLocalPeakRssMb?: number;
}

export const CANCEL_RATIO_TARGET = 0.5;
export const PSP_RATIO_TARGET = 0.9;
export const PSP_FLOOR_TARGET = 1.2;
/** An SES production account starts at 14 emails a second; the bench's emulated account allows more to keep runs short. */
export const DEFAULT_SES_RATE = 50;
export const ORCHESTRATION_TARGET_PICO_PER_100K = 500_000_000_000n; // USD 0.50

export function isAvailable<T extends object>(x: T | Unavailable): x is T {
  return !('available' in x && x.available === false);
}

/** Usage scaled to `per` tickets, for display next to a scaled cost (counts rounded, units to halves). */
function scaledUsage(usage: Usage, tickets: number, per = 100_000): Usage {
  const f = per / tickets;
  const halves = (x: number) => Math.round(x * f * 2) / 2;
  return {
    stateTransitions: Math.round(usage.stateTransitions * f),
    lambdaInvocations: Math.round(usage.lambdaInvocations * f),
    lambdaMbMs: Math.round(usage.lambdaMbMs * f),
    writeRequestUnits: halves(usage.writeRequestUnits),
    readRequestUnits: halves(usage.readRequestUnits),
    emails: Math.round(usage.emails * f),
  };
}

function costRow(label: string, usage: Usage, cost = costOf(usage)): CostRow {
  const all = { ...cost, orchestration: orchestration(cost), total: total(cost) };
  return {
    label,
    usage,
    picoUsd: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.toString()])) as CostRow['picoUsd'],
    usd: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, formatUsd(v, 4)])) as CostRow['usd'],
  };
}

/** Summary of a run report for the JSON (the report itself can be large). */
function briefOutput(output: unknown): unknown {
  if (!output || typeof output !== 'object') return output;
  const r = output as Partial<RunReport>;
  return { runId: r.runId, status: r.status, outcomes: r.outcomes, errors: (r.errors ?? []).slice(0, 5), errorCount: (r.errors ?? []).length };
}

function pspFigures(rt: BenchRuntime, from: number, rate: number): PspFigures {
  const exchanges = rt.creditExchanges.slice(from);
  const served = exchanges.filter((e) => e.status !== null && e.status !== 429 && e.status < 500);
  const windowMs = served.length > 1 ? (served[served.length - 1] as { at: number }).at - (served[0] as { at: number }).at : 0;
  const sustained = windowMs > 0 ? ((served.length - 1) / windowMs) * 1000 : 0;
  const ledger = rt.sandbox.ledger().filter((c) => c.status === 'booked');
  const byRefno = new Map<string, number>();
  const byKey = new Map<string, number>();
  for (const c of ledger) {
    byRefno.set(c.refno, (byRefno.get(c.refno) ?? 0) + 1);
    if (c.idempotencyKey) byKey.set(c.idempotencyKey, (byKey.get(c.idempotencyKey) ?? 0) + 1);
  }
  const extra = (m: Map<string, number>) => [...m.values()].reduce((s, n) => s + Math.max(0, n - 1), 0);
  return {
    rateLimitPerSecond: rate,
    creditRequests: exchanges.length,
    served: served.length,
    rateLimited: exchanges.filter((e) => e.status === 429).length,
    windowMs: Math.round(windowMs),
    sustainedPerSecond: Math.round(sustained * 10) / 10,
    ratio: Math.round((sustained / rate) * 1000) / 1000,
    duplicateCredits: Math.max(extra(byRefno), extra(byKey)),
    creditsBooked: ledger.length,
    floorMs: Math.round((served.length / rate) * 1000),
  };
}

function senderFigures(runs: readonly ExecutionFigures[], quota: number, throttled: number): SenderFigures {
  const reports = runs.map((r) => (r.output ?? {}) as { outcomes?: Record<string, { count: number }>; sentPerSecond?: number });
  const sent = reports.reduce((n, r) => n + (r.outcomes?.emails_sent?.count ?? 0), 0);
  // Time-weighted: each run's emails at its own measured rate.
  const activeSeconds = reports.reduce((t, r) => t + ((r.outcomes?.emails_sent?.count ?? 0) > 0 && r.sentPerSecond ? (r.outcomes?.emails_sent?.count ?? 0) / r.sentPerSecond : 0), 0);
  const perSecond = activeSeconds > 0 ? sent / activeSeconds : 0;
  return {
    quotaPerSecond: quota,
    emailsSent: sent,
    sentPerSecond: Math.round(perSecond * 10) / 10,
    ratio: Math.round((perSecond / quota) * 1000) / 1000,
    throttledBySes: throttled,
    wallMs: runs.reduce((t, r) => t + r.wallMs, 0),
  };
}

async function runSize(rt: BenchRuntime, tickets: number, opts: BenchOptions, index: number, group?: GroupOrderOptions): Promise<SizeResult> {
  const log = (line: string) => (opts.log ?? (() => {}))(group ? line.replace(/^\[(\d+)\]/, '[$1 with group orders]') : line);
  const tasks = taskFunctions(rt.template);
  const stamp = `${Date.now().toString(36)}${index}${group ? 'g' : ''}`;

  log(`[${tickets}] generating the match…`);
  const data = generateBenchData(tickets, group);
  if (data.groupOrders) log(`[${tickets}] ${data.groupOrders.orders} group order(s), ${data.groupOrders.tickets} tickets, the largest ${data.groupOrders.largest}`);

  // b. Raw write baseline, in scratch tables, first: they are dropped before the real data comes.
  log(`[${tickets}] raw TransactWriteItems baseline over ${data.orders.length} orders…`);
  const scratch = await rt.tables(`bench${stamp}raw-`);
  const meter = meterDynamo();
  let raw: RawWriteFigures;
  try {
    raw = await measureRawWrites(data.orders, meter, { ...(opts.sweepOrders ? { sampleOrders: opts.sweepOrders } : {}), ...(opts.rawShare ? { share: opts.rawShare } : {}) });
  } finally {
    await scratch.drop();
  }

  const main = await rt.tables(`bench${stamp}-`);
  applyEnvironment(main.env);
  meterDynamo();
  try {
    rt.sandbox.reset();
    rt.creditExchanges.length = 0;

    // a. Import through the real path (validate the whole file, write, register PSP transactions).
    log(`[${tickets}] importing ${data.lines} lines…`);
    const before = meter.snapshot();
    const memory = new MemorySampler().start();
    const t0 = performance.now();
    const imported = await importText(data.text, rt.sandbox.url);
    const importMs = Math.round(performance.now() - t0);
    if (!imported.ok) throw new Error(`bench import refused: ${JSON.stringify(imported.issues?.slice(0, 3))}`);
    const importDynamo = meter.since(before);
    const importUsage: Usage = { ...NO_USAGE, writeRequestUnits: importDynamo.writeUnitHalves / 2, readRequestUnits: importDynamo.readUnitHalves / 2 };
    const importFigures = {
      wallMs: importMs,
      records: imported.records ?? 0,
      itemsWritten: importDynamo.itemsWritten,
      itemsPerSecond: Math.round((importDynamo.itemsWritten / importMs) * 1000),
      usage: importUsage,
      peakRssMb: memory.stop(),
    };
    // The text is no longer needed; let it go before the workflows run.
    data.text = '';

    const workflows = new Set(main.runner.workflows());
    const missing = (w: string): Unavailable => ({ available: false, reason: `${w} is not in the synthesized stack yet (its branch has not landed on main)` });

    // c. CancelPerformance.
    let cancel: ExecutionFigures | Unavailable = missing('CancelPerformance');
    let cancelRatio: number | undefined;
    if (workflows.has('CancelPerformance')) {
      log(`[${tickets}] CancelPerformance…`);
      const input = { performanceId: data.performanceId, reason: 'bench: the match is cancelled', requestedBy: 'bench' };
      cancel = await measureExecution(main.runner, tasks.get('CancelPerformance') ?? new Map(), meter, 'CancelPerformance', 'cancel', input, `bench-cancel-${stamp}`);
      cancel.output = briefOutput(cancel.output);
      const perSecond = (cancel.itemsWritten / cancel.wallMs) * 1000;
      cancelRatio = Math.round((perSecond / raw.full.itemsPerSecond) * 1000) / 1000;
    }

    // d. DispatchRefunds: simulate, psp (rate-limited sandbox), credit.
    const dispatch: SizeResult['dispatch'] = { simulate: missing('DispatchRefunds'), psp: missing('DispatchRefunds'), credit: missing('DispatchRefunds') };
    let psp: PspFigures | undefined;
    const emails: ExecutionFigures[] = [];
    const sesRate = opts.sesRate ?? DEFAULT_SES_RATE;
    const throttledBefore = rt.sesThrottled();
    if (workflows.has('DispatchRefunds') && isAvailable(cancel) && cancel.status === 'SUCCEEDED') {
      const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
      const range = { from: day(-1), to: day(2), requestedBy: 'bench' };
      const dispatchTasks = tasks.get('DispatchRefunds') ?? new Map();
      const pass = async (mode: 'simulate' | 'psp' | 'credit', extra: Record<string, unknown>) => {
        log(`[${tickets}] DispatchRefunds ${mode}…`);
        const emailsBefore = rt.emailsSent();
        const figures = await measureExecution(main.runner, dispatchTasks, meter, 'DispatchRefunds', mode, { mode, ...range, ...extra }, `bench-${mode}-${stamp}`);
        figures.usage.emails = rt.emailsSent() - emailsBefore; // 0: a pass sends none itself
        if (mode !== 'simulate' && workflows.has('SendEmails')) {
          // Then the sender drains what the pass owes, as its schedule (or the local runtime) would.
          log(`[${tickets}] SendEmails after ${mode} (quota ${sesRate}/s)…`);
          const before = rt.emailsSent();
          const sent = await measureExecution(main.runner, tasks.get('SendEmails') ?? new Map(), meter, 'SendEmails', `emails after ${mode}`, { requestedBy: 'bench' }, `bench-emails-${mode}-${stamp}`);
          sent.usage.emails = rt.emailsSent() - before;
          emails.push(sent);
        }
        await rt.clearEmails(); // the local SES server keeps every email in memory
        return figures;
      };
      dispatch.simulate = await pass('simulate', {});
      const simulationRunId = (dispatch.simulate.output as RunReport | undefined)?.runId;
      dispatch.simulate.output = briefOutput(dispatch.simulate.output);
      if (dispatch.simulate.status === 'SUCCEEDED' && simulationRunId) {
        const firstExchange = rt.creditExchanges.length;
        dispatch.psp = await pass('psp', { simulationRunId });
        dispatch.psp.output = briefOutput(dispatch.psp.output);
        psp = pspFigures(rt, firstExchange, opts.pspRate);
        if (isAvailable(dispatch.psp) && psp.floorMs > 0) psp.passOverFloor = Math.round((dispatch.psp.wallMs / psp.floorMs) * 1000) / 1000;
        dispatch.credit = await pass('credit', { simulationRunId });
        dispatch.credit.output = briefOutput(dispatch.credit.output);
      }
    } else if (workflows.has('DispatchRefunds')) {
      const reason = 'DispatchRefunds needs the refunds CancelPerformance creates, and the cancellation did not run';
      dispatch.simulate = dispatch.psp = dispatch.credit = { available: false, reason };
    }

    // f. Costs per workflow, and per 100,000 tickets for cancellation + dispatch.
    const sender = emails.length ? senderFigures(emails, sesRate, rt.sesThrottled() - throttledBefore) : undefined;
    const executions = [cancel, dispatch.simulate, dispatch.psp, dispatch.credit, ...emails].filter(isAvailable);
    const costs = [costRow('Import (DynamoDB only)', importUsage)];
    for (const e of executions) costs.push(costRow(e.workflow === 'DispatchRefunds' ? `DispatchRefunds ${e.label}` : e.workflow === 'SendEmails' ? `SendEmails ${e.label.replace('emails ', '')}` : e.workflow, e.usage));
    const runUsage = addUsage(...executions.map((e) => e.usage));
    costs.push(costRow('Cancel + dispatch', runUsage));
    const wallUsage: Usage = { ...runUsage, lambdaMbMs: executions.reduce((s, e) => s + e.lambdaMbMsWall, 0) };
    const costPer100k = [
      costRow('Cancel + dispatch per 100,000 tickets', scaledUsage(runUsage, tickets), perTickets(costOf(runUsage), tickets)),
      costRow('  same, λ at in-process wall time (upper bound)', scaledUsage(wallUsage, tickets), perTickets(costOf(wallUsage), tickets)),
    ];

    const msPerTicket: Record<string, number> = { import: importMs / tickets, raw: raw.full.wallMs / tickets };
    for (const e of executions) msPerTicket[e.label] = (msPerTicket[e.label] ?? 0) + e.wallMs / tickets;
    for (const k of Object.keys(msPerTicket)) msPerTicket[k] = Math.round((msPerTicket[k] as number) * 10_000) / 10_000;

    return {
      variant: group ? 'group' : 'normal',
      ...(data.groupOrders ? { groupOrders: data.groupOrders } : {}),
      tickets,
      orders: data.orders.length,
      performanceId: data.performanceId,
      paymentMethods: data.paymentMethods,
      resales: data.resales,
      import: importFigures,
      raw,
      cancel,
      ...(cancelRatio !== undefined ? { cancelRatio } : {}),
      dispatch,
      ...(psp ? { psp } : {}),
      emails,
      ...(sender ? { sender } : {}),
      costs,
      costPer100k,
      msPerTicket,
    };
  } finally {
    await main.drop().catch(() => undefined);
  }
}

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  // --bundles-only: no sizes, so no runtime either; the bundles come from the synthesized cloud assembly.
  let rt: BenchRuntime | undefined;
  if (opts.sizes.length > 0) {
    log('starting DynamoDB Local, the PSP sandbox and SES…');
    rt = await startBenchRuntime({
      pspRatePerSecond: opts.pspRate,
      sesRatePerSecond: opts.sesRate ?? DEFAULT_SES_RATE,
      ...(opts.dynamodbUrl ? { dynamodbUrl: opts.dynamodbUrl } : {}),
      ...(opts.templatePath ? { templatePath: opts.templatePath } : {}),
      ...(opts.maxContainers ? { maxContainers: opts.maxContainers } : {}),
    });
  }
  try {
    const sizes: SizeResult[] = [];
    const groupVariants: SizeResult[] = [];
    for (const [i, tickets] of opts.sizes.entries()) {
      const size = await runSize(rt as BenchRuntime, tickets, opts, i);
      sizes.push(size);
      opts.onSize?.(size);
      if (opts.groupOrders) {
        const variant = await runSize(rt as BenchRuntime, tickets, opts, i, opts.groupOrders);
        groupVariants.push(variant);
        opts.onSize?.(variant);
      }
    }
    let bundles: BenchResult['bundles'] = { available: false, reason: 'skipped (--no-bundles)' };
    if (opts.bundles) {
      log('bundling every Lambda entry and timing cold imports…');
      const synth = await benchTemplate(opts);
      bundles = await measureBundles(synth.template, { templatePath: synth.path, ...(opts.initRuns ? { initRuns: opts.initRuns } : {}) });
    }
    const cpuList = cpus();
    const { log: _log, onSize: _onSize, ...options } = opts;
    const dynamodbPeak = rt?.dynamodbPid ? childPeakRssMb(rt.dynamodbPid) : undefined;
    return {
      startedAt,
      wallMs: Math.round(performance.now() - t0),
      machine: { cpus: cpuList.length, cpuModel: cpuList[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 1024 ** 3), node: process.version, platform: `${process.platform}-${process.arch}` },
      options,
      sizes,
      ...(opts.groupOrders ? { groupVariants } : {}),
      bundles,
      processMaxRssMb: processMaxRssMb(),
      ...(dynamodbPeak !== undefined ? { dynamodbLocalPeakRssMb: dynamodbPeak } : {}),
    };
  } finally {
    await rt?.stop();
  }
}

async function benchTemplate(opts: BenchOptions): Promise<{ template: Record<string, unknown>; path: string }> {
  if (opts.templatePath) return { template: JSON.parse(readFileSync(opts.templatePath, 'utf8')) as Record<string, unknown>, path: opts.templatePath };
  return synthesizeTemplate();
}
