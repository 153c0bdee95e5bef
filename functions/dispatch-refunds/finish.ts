import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { finishedStatus, mergeTallies, type RunReport } from '../../lib/core/report.ts';
import { stage } from '../commons/handler.ts';
import { METRIC } from '../commons/metric-names.ts';
import { countMetric } from '../commons/powertools.ts';
import { TalliesSchema } from '../../lib/core/report.ts';
import { WORKFLOW } from './shared.ts';

const Input = z.object({
  runId: z.string(),
  startedAt: z.string(),
  requestedBy: z.string(),
  input: z.record(z.string(), z.unknown()),
  simulationRunId: z.string(),
  shardResults: z.array(z.object({ tallies: TalliesSchema })).default([]),
  /** The nightly run's psp pass, when this is its credit pass: one report for both. */
  earlierShardResults: z.array(z.object({ tallies: TalliesSchema })).default([]),
  /** A scheduled run's reconciliation, made first. */
  reconcileFirst: z.boolean().default(false),
  reconcileRunId: z.string().optional(),
  /** Set when a scheduled run stops after simulating: the totals over the auto-approval limits. */
  awaitingApproval: z.array(z.object({ currency: z.string(), total: z.number(), limit: z.number().nullable() })).optional(),
});

/** 5. Finishes the run with its report: counts and totals per currency per outcome (the emails it owes are SendEmails' to send). */
export const handler = stage(Input, async ({ runId, startedAt, requestedBy, input, simulationRunId, shardResults, earlierShardResults, reconcileFirst, reconcileRunId, awaitingApproval }) => {
  const runs = new RunRepository();
  await runs.open({ runId, workflow: WORKFLOW, startedAt, requestedBy, input });
  const outcomes = mergeTallies(...[...earlierShardResults, ...shardResults].map((s) => s.tallies));
  const errors: RunReport['errors'] = [];
  const status = awaitingApproval ? 'awaiting_approval' : finishedStatus(errors);
  if (awaitingApproval) {
    const over = awaitingApproval.map((o) => `${o.currency} ${o.total}${o.limit === null ? ' (no limit configured)' : ` >= limit ${o.limit}`}`).join(', ');
    // The exact command an operator types; in Lambda (AWS_LAMBDA_FUNCTION_NAME set) that is against the deployed stack.
    const approve = `mass-refund approve ${simulationRunId} --pass ${input.mode === 'credit' ? 'credit' : 'psp'}${process.env.AWS_LAMBDA_FUNCTION_NAME ? ' --target aws' : ''}`;
    errors.push({ code: 'AwaitingApproval', message: `simulated totals over the auto-approval limit: ${over}; check simulation ${simulationRunId} and approve it with: ${approve}` });
    await runs.log(runId, 'approval', [`stopped after simulating (${simulationRunId}): ${over}`]);
  }
  const report: RunReport = {
    runId, workflow: WORKFLOW, status, startedAt, finishedAt: new Date().toISOString(), requestedBy, input, outcomes, errors, simulationRunId,
    ...(reconcileFirst && reconcileRunId ? { reconcileRunId } : {}),
  };
  await runs.finish(runId, status, report);
  publishPassMetrics(String(input['mode'] ?? 'unknown'), outcomes);
  return report;
});

/** What the pass did, for the dashboard: refunds per outcome (its emails are SendEmails' to count). */
function publishPassMetrics(pass: string, outcomes: RunReport['outcomes']): void {
  for (const [outcome, { count }] of Object.entries(outcomes)) countMetric(METRIC.refunds, count, { pass, outcome });
}
