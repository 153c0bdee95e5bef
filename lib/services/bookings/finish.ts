import { pagedRunReport, runSummaryLine, type PagedRun } from '../../core/booking-report.ts';
import type { RunReport } from '../../core/report.ts';
import type { RunPorts } from '../runs/ports.ts';

/** Sums the shards' tallies into the run report, logs its summary line, records it and returns it. */
export async function finishPagedRun(runs: Pick<RunPorts, 'log' | 'finish'>, run: PagedRun): Promise<RunReport> {
  const report = pagedRunReport(run, new Date().toISOString());
  await runs.log(run.runId, 'zz-summary', [runSummaryLine(report)]);
  await runs.finish(run.runId, report.status, report);
  return report;
}
