import * as z from 'zod';
import { DispatchStore } from '../../lib/adapters/dynamodb/dispatch-store.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { approvalNeeded, parseApprovalLimits, selectionFingerprint } from '../../lib/core/dispatch.ts';
import { NotFoundError } from '../../lib/core/errors.ts';
import { mergeTallies, type RunReport } from '../../lib/core/report.ts';
import { stage } from '../commons/handler.ts';
import { TalliesSchema } from '../../lib/core/report.ts';
import { WORKFLOW } from './shared.ts';

const Input = z.object({
  simulationRunId: z.string(),
  mode: z.enum(['simulate', 'psp', 'credit']),
  shardResults: z.array(z.object({ tallies: TalliesSchema })),
});

/**
 * Closes a simulation: count and total per currency, the fingerprint of the selection
 * (SHA-256 over sorted id:amount:currency lines), and, for a scheduled psp/credit run, whether
 * the totals are under the auto-approval limits (else a person approves it).
 */
export const handler = stage(Input, async ({ simulationRunId, mode, shardResults }) => {
  const runs = new RunRepository();
  const run = await runs.get(simulationRunId);
  if (!run) throw new NotFoundError(`simulation run "${simulationRunId}" was not opened`);
  const selection = await new DispatchStore().selection(simulationRunId);
  const totals: Record<string, number> = {};
  for (const s of selection) totals[s.currency] = (totals[s.currency] ?? 0) + s.amount;
  const fingerprint = selectionFingerprint(selection);
  const sortedTotals = Object.fromEntries(Object.entries(totals).sort(([a], [b]) => a.localeCompare(b)));
  const report: RunReport = {
    runId: simulationRunId,
    workflow: WORKFLOW,
    status: 'succeeded',
    startedAt: run.startedAt,
    finishedAt: new Date().toISOString(),
    requestedBy: run.requestedBy,
    input: run.input,
    outcomes: mergeTallies(...shardResults.map((s) => s.tallies)),
    errors: [],
    selection: { count: selection.length, totals: sortedTotals, fingerprint },
  };
  const summary = [
    `selection: ${selection.length} refund(s)`,
    ...Object.entries(sortedTotals).map(([c, a]) => `total ${c}: ${a} minor units`),
    `fingerprint (sha256 of sorted id:amount:currency): ${fingerprint}`,
  ];
  await runs.log(simulationRunId, 'zz-summary', summary);
  await runs.finish(simulationRunId, 'succeeded', report, { fingerprint, count: selection.length, totals: sortedTotals });
  if (mode === 'simulate') return { report, approved: false, over: [] };
  const limits = parseApprovalLimits(process.env.MASS_REFUND_AUTO_APPROVAL_LIMITS ?? process.env.AUTO_APPROVAL_LIMITS);
  const over = approvalNeeded(sortedTotals, limits);
  return { report: { runId: simulationRunId, selection: report.selection }, approved: over.length === 0, over };
});
