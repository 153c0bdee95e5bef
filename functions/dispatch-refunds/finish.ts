import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { mergeTallies, type RunReport } from '../../lib/core/report.ts';
import { stage } from '../commons/handler.ts';
import { METRIC } from '../commons/metric-names.ts';
import { countMetric } from '../commons/powertools.ts';
import { TalliesSchema, WORKFLOW } from './shared.ts';

const Input = z.object({
  runId: z.string(),
  startedAt: z.string(),
  requestedBy: z.string(),
  input: z.record(z.string(), z.unknown()),
  simulationRunId: z.string(),
  shardResults: z.array(z.object({ tallies: TalliesSchema })).default([]),
  emailResults: z.array(z.object({ tallies: TalliesSchema })).default([]),
  /** Set when a scheduled run stops after simulating: the totals over the auto-approval limits. */
  awaitingApproval: z.array(z.object({ currency: z.string(), total: z.number(), limit: z.number().nullable() })).optional(),
});

/** 5. Finishes the run with its report: counts and totals per currency per outcome. */
export const handler = stage(Input, async ({ runId, startedAt, requestedBy, input, simulationRunId, shardResults, emailResults, awaitingApproval }) => {
  const runs = new RunRepository();
  await runs.open({ runId, workflow: WORKFLOW, startedAt, requestedBy, input });
  const outcomes = mergeTallies(...shardResults.map((s) => s.tallies), ...emailResults.map((s) => s.tallies));
  const errors: RunReport['errors'] = [];
  const failedEmails = outcomes.emails_failed?.count ?? 0;
  if (failedEmails > 0) errors.push({ code: 'EmailsNotSent', message: `${failedEmails} email(s) not sent; they stay in the outbox and the next dispatch run retries them` });
  const status = awaitingApproval ? 'awaiting_approval' : 'succeeded';
  if (awaitingApproval) {
    const over = awaitingApproval.map((o) => `${o.currency} ${o.total}${o.limit === null ? ' (no limit configured)' : ` >= limit ${o.limit}`}`).join(', ');
    errors.push({ code: 'AwaitingApproval', message: `simulated totals over the auto-approval limit: ${over}; approve simulation ${simulationRunId} by starting this mode by hand with simulationRunId` });
    await runs.log(runId, 'approval', [`stopped after simulating (${simulationRunId}): ${over}`]);
  }
  const report: RunReport = { runId, workflow: WORKFLOW, status, startedAt, finishedAt: new Date().toISOString(), requestedBy, input, outcomes, errors, simulationRunId };
  await runs.finish(runId, status, report);
  publishPassMetrics(String(input['mode'] ?? 'unknown'), outcomes);
  return report;
});

/** What the pass did, for the dashboard: refunds per outcome, emails sent and failed. */
function publishPassMetrics(pass: string, outcomes: RunReport['outcomes']): void {
  for (const [outcome, { count }] of Object.entries(outcomes)) {
    if (outcome.startsWith('emails_')) continue;
    countMetric(METRIC.refunds, count, { pass, outcome });
  }
  countMetric(METRIC.emailsSent, outcomes['emails_sent']?.count ?? 0, { pass });
  countMetric(METRIC.emailsFailed, outcomes['emails_failed']?.count ?? 0, { pass });
}
