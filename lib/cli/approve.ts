/**
 * `approve SIMULATION_RUN_ID [--pass psp|credit] [--yes]`: shows what a simulation selected
 * (count and total per pass, payment method and currency), asks on a terminal, and starts the
 * pass bound to that simulation, exactly as a person would by hand with `simulationRunId`.
 */
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../adapters/dynamodb/client.ts';
import { SimulationSelection } from '../adapters/dynamodb/simulation-selection.ts';
import { refundKey } from '../adapters/dynamodb/refunds.ts';
import { RunRepository, type RunRecord } from '../adapters/dynamodb/runs.ts';
import { tableName } from '../adapters/dynamodb/table-names.ts';
import type { SelectedRefund } from '../core/dispatch.ts';
import { formatCount, formatMoney, table } from './format.ts';
import { confirm, EXIT, info, printJson, UsageError, wantsText, type Io } from './io.ts';
import { runWorkflow } from './start.ts';
import type { StackConnection } from './target.ts';

export const PASSES = ['psp', 'credit'] as const;
export type Pass = (typeof PASSES)[number];

export interface ApprovalLine {
  pass: string;
  method: string;
  currency: string;
  count: number;
  /** Minor units. */
  total: number;
}

/** Count and total per pass, payment method and currency (sorted), integer sums only. */
export function approvalLines(selection: readonly SelectedRefund[], methods: ReadonlyMap<string, string>): ApprovalLine[] {
  const lines = new Map<string, ApprovalLine>();
  for (const s of selection) {
    const pass = s.pass ?? 'none';
    const method = methods.get(s.id) ?? 'unknown';
    const key = `${pass}\u0000${method}\u0000${s.currency}`;
    const line = lines.get(key) ?? { pass, method, currency: s.currency, count: 0, total: 0 };
    line.count += 1;
    line.total += s.amount;
    lines.set(key, line);
  }
  return [...lines.values()].sort((a, b) => a.pass.localeCompare(b.pass) || a.method.localeCompare(b.method) || a.currency.localeCompare(b.currency));
}

/** Totals per currency of one pass. */
export function passTotals(lines: readonly ApprovalLine[], pass: string): { count: number; totals: Record<string, number> } {
  const totals: Record<string, number> = {};
  let count = 0;
  for (const l of lines) {
    if (l.pass !== pass) continue;
    count += l.count;
    totals[l.currency] = (totals[l.currency] ?? 0) + l.total;
  }
  return { count, totals: Object.fromEntries(Object.entries(totals).sort(([a], [b]) => a.localeCompare(b))) };
}

/** The payment method of each refund (100 keys a request, as DynamoDB allows). */
async function methodsOf(ids: readonly string[]): Promise<Map<string, string>> {
  const methods = new Map<string, string>();
  const table = tableName('refunds');
  for (let i = 0; i < ids.length; i += 100) {
    let keys: Record<string, unknown>[] = ids.slice(i, i + 100).map((id) => refundKey(id));
    for (let attempt = 0; keys.length > 0; attempt++) {
      const out = await documentClient().send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ProjectionExpression: 'id, #m', ExpressionAttributeNames: { '#m': 'method' } } } }));
      for (const item of out.Responses?.[table] ?? []) methods.set(item.id as string, item.method as string);
      keys = (out.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
      if (keys.length > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** Math.min(attempt, 6)));
    }
  }
  return methods;
}

/** The simulation run, or a usage error saying why it cannot be approved. */
async function simulationOf(runId: string): Promise<RunRecord> {
  const run = await new RunRepository().get(runId);
  if (!run) throw new UsageError(`no run "${runId}": name the run id of a DispatchRefunds simulation`);
  const input = (run.input ?? {}) as Record<string, unknown>;
  if (run.workflow !== 'DispatchRefunds' || input.mode !== 'simulate') throw new UsageError(`run "${runId}" is a ${run.workflow}${input.mode ? ` ${String(input.mode)}` : ''} run, not a DispatchRefunds simulation`);
  if (run.status !== 'succeeded') throw new UsageError(`simulation "${runId}" is ${run.status}: only a finished simulation can be approved`);
  return run;
}

/** The pass a simulation was made for: the one a stopped nightly run waits for, else psp. */
async function defaultPass(sim: RunRecord): Promise<Pass> {
  const forRun = (sim.input as { forRun?: unknown }).forRun;
  if (typeof forRun === 'string') {
    const waiting = await new RunRepository().get(forRun);
    const mode = (waiting?.input as { mode?: unknown } | undefined)?.mode;
    if (mode === 'psp' || mode === 'credit') return mode;
  }
  return 'psp';
}

/** The input of the approved pass: the simulation's range and policy, bound to it by id. */
export function approvedInput(sim: Pick<RunRecord, 'runId' | 'input'>, pass: Pass, requestedBy: string): Record<string, unknown> {
  const { mode: _m, schedule: _s, forRun: _f, requestedBy: _r, simulationRunId: _id, ...carried } = (sim.input ?? {}) as Record<string, unknown>;
  return { ...carried, mode: pass, simulationRunId: sim.runId, requestedBy };
}

export interface ApproveFlags {
  pass?: string;
  yes?: boolean;
  'requested-by'?: string;
  name?: string;
  'no-wait'?: boolean;
  json?: boolean;
  pretty?: boolean;
}

export async function cmdApprove(io: Io, stack: StackConnection, simulationRunId: string, flags: ApproveFlags): Promise<number> {
  const sim = await simulationOf(simulationRunId);
  const pass = (flags.pass as Pass | undefined) ?? (await defaultPass(sim));
  const selection = await new SimulationSelection().all(simulationRunId);
  const lines = approvalLines(selection, await methodsOf(selection.map((s) => s.id)));
  const chosen = passTotals(lines, pass);
  const input = approvedInput(sim, pass, flags['requested-by'] ?? process.env.USER ?? 'operator');
  const currencies = [...new Set(lines.map((l) => l.currency))].sort();
  const rows = [['pass', 'method', 'count', ...currencies]];
  for (const l of lines) rows.push([l.pass, l.method, formatCount(l.count), ...currencies.map((c) => (c === l.currency ? formatMoney({ amount: l.total, currency: c }) : ''))]);
  const range = `${String((sim.input as { from?: unknown }).from)} to ${String((sim.input as { to?: unknown }).to)}`;
  const chosenText = Object.entries(chosen.totals).map(([c, a]) => formatMoney({ amount: a, currency: c })).join(', ') || 'nothing';
  info(io, `Simulation ${simulationRunId} (refunds created ${range}, finished ${sim.finishedAt ?? '?'}, requested by ${sim.requestedBy}):`);
  info(io, lines.length ? table(rows, new Set(rows[0]!.map((_, i) => i).filter((i) => i >= 2))) : '(nothing selected)');
  info(io, `\nThe ${pass} pass would take ${formatCount(chosen.count)} refund(s): ${chosenText}.`);

  const summary = { simulationRunId, pass, from: (sim.input as { from?: unknown }).from, to: (sim.input as { to?: unknown }).to, lines, [pass]: chosen, input };
  if (!flags.yes) {
    const terminal = io.stdin.isTTY === true && io.stderr.isTTY === true;
    if (!terminal) {
      if (!wantsText(io, flags)) printJson(io, { ...summary, approved: false });
      info(io, `not started: confirm on a terminal, or add --yes`);
      return EXIT.badInput;
    }
    if (!(await confirm(io, `Start DispatchRefunds ${pass} bound to simulation ${simulationRunId}?`))) {
      info(io, 'not started.');
      return EXIT.badInput;
    }
  }
  info(io, `starting DispatchRefunds ${JSON.stringify(input)}`);
  const outcome = await runWorkflow(io, stack, 'DispatchRefunds', input, { name: flags.name, wait: !flags['no-wait'], json: flags.json, pretty: flags.pretty });
  return outcome.exitCode;
}
