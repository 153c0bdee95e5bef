import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { mergeTallies, type RunReport } from '../../lib/core/report.ts';
import { stage } from '../commons/handler.ts';
import { METRIC } from '../commons/metric-names.ts';
import { countMetric } from '../commons/powertools.ts';
import { TalliesSchema } from '../dispatch-refunds/shared.ts';

const Input = z.object({
  runId: z.string(),
  startedAt: z.string(),
  requestedBy: z.string(),
  input: z.record(z.string(), z.unknown()),
  segmentResults: z.array(z.object({ tallies: TalliesSchema, differences: z.array(z.record(z.string(), z.unknown())), differenceCount: z.number().int() })),
  emailResults: z.array(z.object({ tallies: TalliesSchema })).default([]),
});

/** 3. The reconciliation report: outcomes, and our refunds vs the PSP's credits, every difference (all in the run log). */
export const handler = stage(Input, async ({ runId, startedAt, requestedBy, input, segmentResults, emailResults }) => {
  const differences = segmentResults.flatMap((s) => s.differences);
  const differenceCount = segmentResults.reduce((n, s) => n + s.differenceCount, 0);
  const report: RunReport = {
    runId,
    workflow: 'ReconcileRefunds',
    status: 'succeeded',
    startedAt,
    finishedAt: new Date().toISOString(),
    requestedBy,
    input,
    outcomes: mergeTallies(...segmentResults.map((s) => s.tallies), ...emailResults.map((s) => s.tallies)),
    errors: differenceCount > 0 ? [{ code: 'LedgerDifference', message: `${differenceCount} transaction(s) where our refunds and the PSP's credits differ; see the run log` }] : [],
    differences,
    differenceCount,
  };
  await new RunRepository().finish(runId, 'succeeded', report);
  countMetric(METRIC.emailsSent, report.outcomes['emails_sent']?.count ?? 0, { pass: 'reconcile' });
  countMetric(METRIC.emailsFailed, report.outcomes['emails_failed']?.count ?? 0, { pass: 'reconcile' });
  return report;
});
