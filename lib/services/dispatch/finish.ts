import type { RunRepository } from '../../adapters/dynamodb/runs.ts';
import type { SimulationSelection } from '../../adapters/dynamodb/simulation-selection.ts';
import { approvalNeeded, awaitingApprovalNotice, DISPATCH_WORKFLOW, parseApprovalLimits, selectionSummary } from '../../core/dispatch.ts';
import { NotFoundError } from '../../core/errors.ts';
import { finishedStatus, mergeTallies, type RunReport, type Tallies } from '../../core/report.ts';
import type { Clock } from '../clock.ts';

type ShardResults = { tallies: Tallies }[];

/**
 * Closes a simulation: count and total per currency, the fingerprint of the selection, and, for a
 * scheduled psp/credit run, whether the totals are under the auto-approval limits (`limits`, JSON).
 */
export async function finishSimulation(
  input: { simulationRunId: string; mode: 'simulate' | 'psp' | 'credit'; shardResults: ShardResults },
  deps: { runs: Pick<RunRepository, 'get' | 'log' | 'finish'>; selections: Pick<SimulationSelection, 'all'>; clock: Pick<Clock, 'now'>; limits: string | undefined },
) {
  const { simulationRunId, mode, shardResults } = input;
  const run = await deps.runs.get(simulationRunId);
  if (!run) throw new NotFoundError(`simulation run "${simulationRunId}" was not opened`);
  const { count, totals, fingerprint, lines } = selectionSummary(await deps.selections.all(simulationRunId));
  const report: RunReport = {
    runId: simulationRunId,
    workflow: DISPATCH_WORKFLOW,
    status: 'succeeded',
    startedAt: run.startedAt,
    finishedAt: new Date(deps.clock.now()).toISOString(),
    requestedBy: run.requestedBy,
    input: run.input,
    outcomes: mergeTallies(...shardResults.map((s) => s.tallies)),
    errors: [],
    selection: { count, totals, fingerprint },
  };
  await deps.runs.log(simulationRunId, 'zz-summary', lines);
  await deps.runs.finish(simulationRunId, 'succeeded', report, { fingerprint, count, totals });
  if (mode === 'simulate') return { report, approved: false, over: [] };
  const over = approvalNeeded(totals, parseApprovalLimits(deps.limits));
  return { report: { runId: simulationRunId, selection: report.selection }, approved: over.length === 0, over };
}

export interface FinishRunInput {
  runId: string;
  startedAt: string;
  requestedBy: string;
  input: Record<string, unknown>;
  simulationRunId: string;
  shardResults: ShardResults;
  /** The nightly run's psp pass, when this is its credit pass: one report for both. */
  earlierShardResults: ShardResults;
  reconcileFirst: boolean;
  reconcileRunId?: string | undefined;
  /** Set when a scheduled run stops after simulating: the totals over the auto-approval limits. */
  awaitingApproval?: { currency: string; total: number; limit: number | null }[] | undefined;
}

/** Finishes a run with its report: counts and totals per currency per outcome. `onAws`: the approval command names the deployed stack. */
export async function finishRun(input: FinishRunInput, deps: { runs: Pick<RunRepository, 'open' | 'log' | 'finish'>; clock: Pick<Clock, 'now'>; onAws: boolean }): Promise<RunReport> {
  const { runId, startedAt, requestedBy, simulationRunId, awaitingApproval } = input;
  await deps.runs.open({ runId, workflow: DISPATCH_WORKFLOW, startedAt, requestedBy, input: input.input });
  const outcomes = mergeTallies(...[...input.earlierShardResults, ...input.shardResults].map((s) => s.tallies));
  const errors: RunReport['errors'] = [];
  const status = awaitingApproval ? 'awaiting_approval' : finishedStatus(errors);
  if (awaitingApproval) {
    const notice = awaitingApprovalNotice(simulationRunId, awaitingApproval, input.input.mode, deps.onAws);
    errors.push(notice.error);
    await deps.runs.log(runId, 'approval', [notice.line]);
  }
  const report: RunReport = {
    runId, workflow: DISPATCH_WORKFLOW, status, startedAt, finishedAt: new Date(deps.clock.now()).toISOString(), requestedBy, input: input.input, outcomes, errors, simulationRunId,
    ...(input.reconcileFirst && input.reconcileRunId ? { reconcileRunId: input.reconcileRunId } : {}),
  };
  await deps.runs.finish(runId, status, report);
  return report;
}
