import { createHash } from 'node:crypto';
import { DomainError, ValidationError } from './errors.ts';
import { scheduledReconcileRunId, scheduledSimulationRunId } from './run-end.ts';
import type { Money } from './money.ts';
import type { CreditPolicy } from './refund-lifecycle.ts';
import type { ReportError } from './report.ts';

/** The workflow's name in run records and reports (CONTRACT.md). */
export const DISPATCH_WORKFLOW = 'DispatchRefunds';

/** One refund as a simulation showed it: what the real run is bound to. */
export interface SelectedRefund {
  id: string;
  amount: number;
  currency: string;
  status: string;
  pass?: 'psp' | 'credit';
}

/** SHA-256 over the sorted `id:amount:currency` lines: the simulation's fingerprint. */
export function selectionFingerprint(selection: readonly Pick<SelectedRefund, 'id' | 'amount' | 'currency'>[]): string {
  const lines = selection.map((r) => `${r.id}:${r.amount}:${r.currency}`).sort();
  return createHash('sha256').update(lines.join('\n'), 'utf8').digest('hex');
}

/** A simulation's selection as its report and log show it: count, totals per currency (sorted), fingerprint. */
export function selectionSummary(selection: readonly Pick<SelectedRefund, 'id' | 'amount' | 'currency'>[]): { count: number; totals: Record<string, number>; fingerprint: string; lines: string[] } {
  const totals: Record<string, number> = {};
  for (const s of selection) totals[s.currency] = (totals[s.currency] ?? 0) + s.amount;
  const fingerprint = selectionFingerprint(selection);
  const sortedTotals = Object.fromEntries(Object.entries(totals).sort(([a], [b]) => a.localeCompare(b)));
  const lines = [
    `selection: ${selection.length} refund(s)`,
    ...Object.entries(sortedTotals).map(([c, a]) => `total ${c}: ${a} minor units`),
    `fingerprint (sha256 of sorted id:amount:currency): ${fingerprint}`,
  ];
  return { count: selection.length, totals: sortedTotals, fingerprint, lines };
}

export interface CountAndTotals {
  count: number;
  totals: Record<string, number>;
}

export interface SelectionDifference {
  /** Refunds the run would touch that the simulation did not show. */
  notSimulated: CountAndTotals & { ids: string[] };
  /** Refunds whose amount or currency changed since the simulation (totals are the current amounts). */
  amountChanged: CountAndTotals & { ids: string[]; simulatedTotals: Record<string, number> };
  /** Shown by the simulation and no longer open (settled since): no reason to refuse. */
  settledSince: CountAndTotals;
}

const empty = (): CountAndTotals => ({ count: 0, totals: {} });
function add(t: CountAndTotals, m: Money): void {
  t.count += 1;
  t.totals[m.currency] = (t.totals[m.currency] ?? 0) + m.amount;
}

/**
 * Compares what a real run would touch now with what the approved simulation showed. Only ids,
 * amounts and currencies matter: a refund the psp pass failed since is still the one approved.
 */
export function compareWithSimulation(simulated: readonly SelectedRefund[], current: readonly SelectedRefund[]): SelectionDifference {
  const byId = new Map(simulated.map((r) => [r.id, r]));
  const currentIds = new Set(current.map((r) => r.id));
  const diff: SelectionDifference = {
    notSimulated: { ...empty(), ids: [] },
    amountChanged: { ...empty(), ids: [], simulatedTotals: {} },
    settledSince: empty(),
  };
  for (const r of current) {
    const sim = byId.get(r.id);
    if (!sim) {
      add(diff.notSimulated, { amount: r.amount, currency: r.currency });
      diff.notSimulated.ids.push(r.id);
    } else if (sim.amount !== r.amount || sim.currency !== r.currency) {
      add(diff.amountChanged, { amount: r.amount, currency: r.currency });
      diff.amountChanged.simulatedTotals[sim.currency] = (diff.amountChanged.simulatedTotals[sim.currency] ?? 0) + sim.amount;
      diff.amountChanged.ids.push(r.id);
    }
  }
  for (const s of simulated) if (!currentIds.has(s.id)) add(diff.settledSince, { amount: s.amount, currency: s.currency });
  diff.notSimulated.ids.sort();
  diff.amountChanged.ids.sort();
  return diff;
}

export function refusesToStart(diff: SelectionDifference): boolean {
  return diff.notSimulated.count > 0 || diff.amountChanged.count > 0;
}

const fmtTotals = (t: Record<string, number>) =>
  Object.keys(t).length === 0 ? 'nothing' : Object.entries(t).sort(([a], [b]) => a.localeCompare(b)).map(([c, a]) => `${a} ${c}`).join(', ');

/** The refusal of a real run: what changed since the approved simulation, with counts and totals. */
export class SimulationMismatchError extends DomainError {
  override readonly name: string = 'SimulationMismatchError';
  readonly difference: SelectionDifference | null;
  constructor(message: string, difference: SelectionDifference | null = null, options?: { cause?: unknown }) {
    super(message, options);
    this.difference = difference;
  }

  static fromDifference(simulationRunId: string, diff: SelectionDifference): SimulationMismatchError {
    const parts: string[] = [];
    const sample = (ids: string[]) => `${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', …' : ''}`;
    if (diff.notSimulated.count > 0) {
      parts.push(`${diff.notSimulated.count} refund(s) not in the simulation (${fmtTotals(diff.notSimulated.totals)} minor units): ${sample(diff.notSimulated.ids)}`);
    }
    if (diff.amountChanged.count > 0) {
      parts.push(
        `${diff.amountChanged.count} refund(s) whose amount changed (simulated ${fmtTotals(diff.amountChanged.simulatedTotals)}, now ${fmtTotals(diff.amountChanged.totals)}): ${sample(diff.amountChanged.ids)}`,
      );
    }
    return new SimulationMismatchError(
      `simulationRunId: the selection changed since simulation ${simulationRunId}: ${parts.join('; ')}. Run a new simulation and approve it.`,
      diff,
    );
  }
}

/** What a real pass is bound to by its simulation: the range and the choices it was made with. */
export interface PassChoices {
  from: string;
  to: string;
  creditPolicy: CreditPolicy;
  performanceId: string | null;
  notifyCustomers: boolean;
}

/**
 * Why a run cannot be the approved simulation of a pass (null: it can): a succeeded simulate run
 * of this workflow over the same range, made with the same policy, performance and emails.
 */
export function simulationRefusal(sim: { workflow: string; status: string; input?: unknown }, pass: PassChoices): string | null {
  const simInput = (sim.input ?? {}) as { mode?: string; from?: string; to?: string; creditPolicy?: string; performanceId?: string | null; notifyCustomers?: boolean };
  const { from, to, creditPolicy, performanceId, notifyCustomers } = pass;
  if (sim.workflow !== DISPATCH_WORKFLOW || simInput.mode !== 'simulate') return `is not a ${DISPATCH_WORKFLOW} simulation`;
  if (sim.status !== 'succeeded') return `did not succeed (status ${sim.status})`;
  if (simInput.from !== from || simInput.to !== to) return `covers [${simInput.from}, ${simInput.to}), not [${from}, ${to})`;
  if ((simInput.creditPolicy ?? 'fallback') !== creditPolicy) return `was made with creditPolicy ${simInput.creditPolicy}, not ${creditPolicy}`;
  // A pass bound to one performance's simulation touches that performance only, and tells customers as simulated.
  const simulatedPerformance = simInput.performanceId ?? null;
  if (simulatedPerformance !== performanceId) {
    return `was made for ${simulatedPerformance ? `performance "${simulatedPerformance}"` : 'every performance'}, not ${performanceId ? `performance "${performanceId}"` : 'every performance'}`;
  }
  const simulatedNotify = simInput.notifyCustomers ?? true;
  if (simulatedNotify !== notifyCustomers) return `was made with notifyCustomers ${simulatedNotify}, not ${notifyCustomers}`;
  return null;
}

/** Money per currency, from a totals record (keys sorted). */
export function totalsList(totals: Record<string, number>): Money[] {
  return Object.keys(totals)
    .sort()
    .map((currency) => ({ amount: totals[currency] as number, currency }));
}

// ---- schedules -------------------------------------------------------------------------------

export const SCHEDULES = ['nightly'] as const;
export type ScheduleName = (typeof SCHEDULES)[number];
export const SCHEDULE_TIME_ZONE = 'Europe/Zurich';

/** The calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function dateIn(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instant);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** The first day a scheduled run covers: every open refund is older than this. */
export const SCHEDULED_FROM = '1970-01-01';

/**
 * The period a scheduled run covers: nightly = every open refund created before today,
 * [SCHEDULED_FROM, today) as calendar dates of the schedule's time zone (refunds' createdAt are
 * compared as UTC ISO strings). Not only yesterday's: a refund deferred, sent back to pending by a
 * lookup, or imported late is taken by the next night's passes.
 */
export function scheduledPeriod(schedule: ScheduleName, startedAt: Date, timeZone = SCHEDULE_TIME_ZONE): { from: string; to: string } {
  switch (schedule) {
    case 'nightly':
      return { from: SCHEDULED_FROM, to: dateIn(startedAt, timeZone) };
  }
}

/** Auto-approval limits per currency (minor units); a currency without a limit always waits for a person. */
export type ApprovalLimits = Record<string, number>;

export function parseApprovalLimits(text: string | undefined): ApprovalLimits {
  if (!text) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ValidationError([{ field: 'autoApprovalLimits', reason: 'must be JSON {"CHF": 500000, …}' }], { cause });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ValidationError([{ field: 'autoApprovalLimits', reason: 'must be a JSON object' }]);
  const out: ApprovalLimits = {};
  for (const [currency, limit] of Object.entries(json)) {
    if (!Number.isSafeInteger(limit) || (limit as number) < 0) throw new ValidationError([{ field: `autoApprovalLimits.${currency}`, reason: 'must be a non-negative integer of minor units' }]);
    out[currency] = limit as number;
  }
  return out;
}

/** Which currencies' simulated totals reach their limit (empty = the run may go on by itself). */
export function approvalNeeded(totals: Record<string, number>, limits: ApprovalLimits): { currency: string; total: number; limit: number | null }[] {
  const over: { currency: string; total: number; limit: number | null }[] = [];
  for (const [currency, total] of Object.entries(totals).sort(([a], [b]) => a.localeCompare(b))) {
    if (total === 0) continue;
    const limit = limits[currency];
    if (limit === undefined) over.push({ currency, total, limit: null });
    else if (total >= limit) over.push({ currency, total, limit });
  }
  return over;
}

/**
 * A scheduled run stopped after simulating: the report's error (with the exact command an operator
 * types, `--target aws` when the run is on AWS) and the run-log line.
 */
export function awaitingApprovalNotice(
  simulationRunId: string,
  over: readonly { currency: string; total: number; limit: number | null }[],
  mode: unknown,
  onAws: boolean,
): { error: ReportError; line: string } {
  const totals = over.map((o) => `${o.currency} ${o.total}${o.limit === null ? ' (no limit configured)' : ` >= limit ${o.limit}`}`).join(', ');
  const approve = `mass-refund approve ${simulationRunId} --pass ${mode === 'credit' ? 'credit' : 'psp'}${onAws ? ' --target aws' : ''}`;
  return {
    error: { code: 'AwaitingApproval', message: `simulated totals over the auto-approval limit: ${totals}; check simulation ${simulationRunId} and approve it with: ${approve}` },
    line: `stopped after simulating (${simulationRunId}): ${totals}`,
  };
}

export interface DispatchPlan {
  mode: 'simulate' | 'psp' | 'credit';
  from: string;
  to: string;
  creditPolicy: CreditPolicy;
}

/**
 * The input a schedule starts DispatchRefunds with (the CDK schedule and
 * `mass-refund start DispatchRefunds --schedule nightly` build the same). Without a mode the
 * run does the whole night: reconcile, simulate, and under the auto-approval limit the psp pass
 * then the credit pass; with a mode, only that pass (reconciling first unless it simulates).
 */
export function scheduledDispatchInput(schedule: ScheduleName, extra: { mode?: DispatchPlan['mode']; creditPolicy?: CreditPolicy } = {}): Record<string, unknown> {
  return { schedule, ...(extra.mode ? { mode: extra.mode } : {}), requestedBy: `schedule:${schedule}`, ...(extra.creditPolicy ? { creditPolicy: extra.creditPolicy } : {}) };
}

/** The nightly schedule, Europe/Zurich local time: one run for the whole night (no mode). */
export const NIGHTLY_PASSES: readonly { id: string; mode?: DispatchPlan['mode']; hour: number; minute: number }[] = [{ id: 'Nightly', hour: 2, minute: 0 }];

/** A dispatch as asked for (the validated input): by hand with a mode and range, or by a schedule. */
export interface DispatchRequest {
  mode?: DispatchPlan['mode'] | undefined;
  from?: string | undefined;
  to?: string | undefined;
  simulationRunId?: string | undefined;
  creditPolicy: CreditPolicy;
  requestedBy?: string | undefined;
  schedule?: ScheduleName | undefined;
  performanceId?: string | undefined;
  notifyCustomers: boolean;
}

/**
 * What a run does, from its request: a scheduled run covers its schedule's period, reconciles
 * first (unless it only simulates) and simulates first; without a mode it is the whole night, the
 * psp pass then the credit pass. `around`: what the workflow's loops go over (given by the caller,
 * placed in the plan where the state machine reads them).
 */
export function planDispatch(
  parsed: DispatchRequest,
  execution: { executionName: string; startedAt: string },
  around: { reconcileScope: unknown; segments: number[]; shards: number[] },
) {
  const runId = execution.executionName;
  let { from, to } = parsed;
  if (parsed.schedule) ({ from, to } = scheduledPeriod(parsed.schedule, new Date(execution.startedAt)));
  if (from === undefined || to === undefined) throw new ValidationError([{ field: 'from', reason: 'is required' }]);
  const requestedBy = parsed.requestedBy ?? `schedule:${parsed.schedule}`;
  // A whole night runs the psp pass first, then the credit pass.
  const mode = parsed.mode ?? 'psp';
  const simulateFirst = parsed.schedule !== undefined && mode !== 'simulate';
  const simulationRunId = mode === 'simulate' ? runId : (parsed.simulationRunId ?? scheduledSimulationRunId(runId));
  const normalized = { ...parsed, from, to, requestedBy };
  const performanceId = parsed.performanceId ?? null;
  const reconcileRunId = scheduledReconcileRunId(runId);
  return {
    runId,
    startedAt: execution.startedAt,
    requestedBy,
    input: normalized,
    mode,
    from,
    to,
    creditPolicy: parsed.creditPolicy,
    // The choices the real run is bound to: a simulation made with other ones does not approve it.
    performanceId,
    notifyCustomers: parsed.notifyCustomers,
    simulationRunId,
    simulateFirst,
    simulationInput: {
      mode: 'simulate',
      from,
      to,
      creditPolicy: parsed.creditPolicy,
      ...(performanceId ? { performanceId } : {}),
      notifyCustomers: parsed.notifyCustomers,
      requestedBy,
      ...(parsed.schedule ? { schedule: parsed.schedule, forRun: runId } : {}),
    },
    reconcileFirst: simulateFirst,
    reconcileRunId,
    reconcileInput: { requestedBy, forRun: runId },
    reconcileScope: around.reconcileScope,
    segments: around.segments,
    thenCredit: parsed.schedule !== undefined && parsed.mode === undefined,
    earlierShardResults: [],
    logPrefix: '',
    shards: around.shards,
  };
}
