import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { TalliesSchema, type RunReport } from '../../lib/core/report.ts';
import { systemClock } from '../../lib/services/clock.ts';
import { finishRun } from '../../lib/services/dispatch/finish.ts';
import { stage } from '../commons/handler.ts';
import { METRIC } from '../commons/metric-names.ts';
import { countMetric } from '../commons/powertools.ts';

const ShardResults = z.array(z.object({ tallies: TalliesSchema })).default([]);
const Input = z.object({
  runId: z.string(),
  startedAt: z.string(),
  requestedBy: z.string(),
  input: z.record(z.string(), z.unknown()),
  simulationRunId: z.string(),
  shardResults: ShardResults,
  /** The nightly run's psp pass, when this is its credit pass: one report for both. */
  earlierShardResults: ShardResults,
  /** A scheduled run's reconciliation, made first. */
  reconcileFirst: z.boolean().default(false),
  reconcileRunId: z.string().optional(),
  /** Set when a scheduled run stops after simulating: the totals over the auto-approval limits. */
  awaitingApproval: z.array(z.object({ currency: z.string(), total: z.number(), limit: z.number().nullable() })).optional(),
});

/** 5. Finishes the run with its report: counts and totals per currency per outcome (the emails it owes are SendEmails' to send). */
export const handler = stage(Input, async (input) => {
  // In Lambda (AWS_LAMBDA_FUNCTION_NAME set) the approval command is against the deployed stack.
  const report = await finishRun(input, { runs: new RunRepository(), clock: systemClock, onAws: !!process.env.AWS_LAMBDA_FUNCTION_NAME });
  publishPassMetrics(String(input.input['mode'] ?? 'unknown'), report.outcomes);
  return report;
});

/** What the pass did, for the dashboard: refunds per outcome (its emails are SendEmails' to count). */
function publishPassMetrics(pass: string, outcomes: RunReport['outcomes']): void {
  for (const [outcome, { count }] of Object.entries(outcomes)) countMetric(METRIC.refunds, count, { pass, outcome });
}
