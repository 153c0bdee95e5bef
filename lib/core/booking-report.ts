import { type OrderBooking, tallyBooking } from './booking.ts';
import { finishedStatus, MAX_CARRIED_ERRORS, mergeTallies, type ReportError, type RunReport, type Tallies } from './report.ts';

/**
 * What a paged booking run (CancelPerformance, PartialRefund) carries from page to page and sums
 * at its end: tallies of the bookings, the orders it refused (listed up to a cap, the rest
 * counted), and the report and summary line it finishes with.
 */


/** What a shard's state carries of its pages so far. */
export interface PageTallies {
  tallies: Tallies;
  errors: ReportError[];
  moreErrors: number;
}

/** A page's bookings added to what the shard carried: each booking tallied, each refused order listed (or counted past the cap). */
export function tallyPage(carried: Partial<PageTallies>, bookings: readonly (OrderBooking & { extraTallies?: Tallies })[]): PageTallies {
  let tallies = carried.tallies ?? {};
  const errors = [...(carried.errors ?? [])];
  let moreErrors = carried.moreErrors ?? 0;
  for (const b of bookings) {
    tallies = tallyBooking(tallies, b);
    if (b.extraTallies) tallies = mergeTallies(tallies, b.extraTallies);
    if (b.outcome === 'refused') {
      if (errors.length < MAX_CARRIED_ERRORS) errors.push({ code: 'OrderNotBooked', message: b.error ?? b.orderId, field: b.orderId });
      else moreErrors++;
    }
  }
  return { tallies, errors, moreErrors };
}

export interface PagedRun {
  workflow: string;
  runId: string;
  startedAt: string;
  requestedBy: string;
  input: unknown;
  shardResults: readonly { tallies?: Tallies; errors?: ReportError[]; moreErrors?: number; pages?: number }[];
  extra?: Record<string, unknown>;
}

/** The shards' tallies summed into the run's report (outcomes sorted by name; refused orders past the cap named by their count). */
export function pagedRunReport(run: PagedRun, finishedAt: string): RunReport {
  const outcomes = mergeTallies(...run.shardResults.map((s) => s.tallies ?? {}));
  const errors = run.shardResults.flatMap((s) => s.errors ?? []);
  const more = run.shardResults.reduce((n, s) => n + (s.moreErrors ?? 0), 0);
  if (more > 0) errors.push({ code: 'MoreErrors', message: `${more} more order(s) refused; see the run log (mass-refund report ${run.runId})` });
  return {
    runId: run.runId,
    workflow: run.workflow,
    status: finishedStatus(errors),
    startedAt: run.startedAt,
    finishedAt,
    requestedBy: run.requestedBy,
    input: run.input,
    outcomes: Object.fromEntries(Object.entries(outcomes).sort(([a], [b]) => a.localeCompare(b))),
    errors,
    pages: run.shardResults.reduce((n, s) => n + (s.pages ?? 0), 0),
    ...run.extra,
  };
}

/** The run log's last line: how the run finished and every outcome with its count and totals. */
export function runSummaryLine(report: RunReport): string {
  const finished = report.status === 'succeeded' ? 'finished' : `finished with ${report.errors.length} error(s)`;
  const outcomes = Object.entries(report.outcomes)
    .map(([k, v]) => `${k}=${v.count}${Object.keys(v.totals).length ? ` (${Object.entries(v.totals).map(([c, a]) => `${a} ${c}`).join(', ')})` : ''}`)
    .join('; ');
  return `${report.workflow} ${report.runId} ${finished}: ${outcomes}`;
}
