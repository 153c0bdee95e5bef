import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { ledgerErrors } from '../../lib/core/reconciliation.ts';
import { finishedStatus, mergeTallies, TalliesSchema, type RunReport } from '../../lib/core/report.ts';
import { stage } from '../commons/handler.ts';

const Input = z.object({
  runId: z.string(),
  startedAt: z.string(),
  requestedBy: z.string(),
  input: z.record(z.string(), z.unknown()),
  segmentResults: z.array(z.object({ tallies: TalliesSchema, differences: z.array(z.record(z.string(), z.unknown())), differenceCount: z.number().int() })),
});

/** 3. The reconciliation report: outcomes, and our refunds vs the PSP's credits, every difference (all in the run log). */
export const handler = stage(Input, async ({ runId, startedAt, requestedBy, input, segmentResults }) => {
  const differences = segmentResults.flatMap((s) => s.differences);
  const differenceCount = segmentResults.reduce((n, s) => n + s.differenceCount, 0);
  const errors = ledgerErrors(differenceCount);
  const status = finishedStatus(errors);
  const report: RunReport = {
    runId,
    workflow: 'ReconcileRefunds',
    status,
    startedAt,
    finishedAt: new Date().toISOString(),
    requestedBy,
    input,
    outcomes: mergeTallies(...segmentResults.map((s) => s.tallies)),
    errors,
    differences,
    differenceCount,
  };
  await new RunRepository().finish(runId, status, report);
  return report;
});
