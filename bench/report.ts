/** The bench's figures as readable tables. */
import { formatUsd } from '../lib/core/cost.ts';
import type { ExecutionFigures } from './executions.ts';
import { CANCEL_RATIO_TARGET, isAvailable, ORCHESTRATION_TARGET_PICO_PER_100K, PSP_RATIO_TARGET, type BenchResult, type SizeResult, type Unavailable } from './run.ts';

function table(headers: string[], rows: (string | number)[][], right = new Set<number>()): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (right.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

const n = (x: number) => x.toLocaleString('en-US');
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const pct = (r: number) => `${(r * 100).toFixed(1)} %`;
const mark = (ok: boolean) => (ok ? 'ok' : 'MISSED');

function executionRows(size: SizeResult): (string | number)[][] {
  const list: [string, ExecutionFigures | Unavailable][] = [
    ['CancelPerformance', size.cancel],
    ['Dispatch simulate', size.dispatch.simulate],
    ['Dispatch psp', size.dispatch.psp],
    ['Dispatch credit', size.dispatch.credit],
  ];
  return list.map(([label, e]) =>
    isAvailable(e)
      ? [
          label,
          e.status,
          s(e.wallMs),
          n(e.stats.stateTransitions),
          n(e.stats.lambdaInvocations),
          `${(e.stats.largestPayloadBytes / 1024).toFixed(1)} KB`,
          n(e.stats.historyEvents),
          n(e.itemsWritten),
          `${e.peakRssMb} MB`,
          e.flags.join('; ') || 'ok',
        ]
      : [label, 'not available', '', '', '', '', '', '', '', e.reason],
  );
}

export function formatSize(size: SizeResult): string {
  const out: string[] = [];
  const methods = Object.entries(size.paymentMethods).map(([m, c]) => `${m} ${n(c)}`).join(', ');
  out.push(`== ${n(size.tickets)} tickets, ${n(size.orders)} orders, ${size.resales} resales; payments: ${methods}`);
  out.push('');
  out.push(
    table(
      ['Phase', 'Wall', 'Items written', 'Items/s', 'Note'],
      [
        ['Import (validate + write)', s(size.import.wallMs), n(size.import.itemsWritten), n(size.import.itemsPerSecond), `${n(size.import.records)} records, peak RSS ${size.import.peakRssMb} MB`],
        ...size.raw.sweep.map((c) => [`Raw TransactWrite c=${c.concurrency} (sample)`, s(c.wallMs), n(c.items), n(c.itemsPerSecond), `${n(c.orders)} orders`]),
        [
          `Raw TransactWrite c=${size.raw.full.concurrency} (${size.raw.share >= 1 ? 'all orders' : `${pct(size.raw.share)} of orders`})`,
          s(size.raw.full.wallMs),
          n(size.raw.full.items),
          n(size.raw.full.itemsPerSecond),
          `baseline, ${n(size.raw.full.orders)} orders; preload ${s(size.raw.preloadMs)} untimed`,
        ],
        ...(isAvailable(size.cancel)
          ? [[
              'CancelPerformance',
              s(size.cancel.wallMs),
              n(size.cancel.itemsWritten),
              n(Math.round((size.cancel.itemsWritten / size.cancel.wallMs) * 1000)),
              `${pct(size.cancelRatio ?? 0)} of raw (target >= ${pct(CANCEL_RATIO_TARGET)}): ${mark((size.cancelRatio ?? 0) >= CANCEL_RATIO_TARGET)}`,
            ]]
          : [['CancelPerformance', '', '', '', `not available: ${size.cancel.reason}`]]),
      ],
      new Set([1, 2, 3]),
    ),
  );
  out.push('');
  out.push(table(['Execution', 'Status', 'Wall', 'Transitions', 'Lambda calls', 'Largest payload', 'History', 'Items written', 'Peak RSS', 'Flags'], executionRows(size), new Set([2, 3, 4, 5, 6, 7, 8])));
  if (size.psp) {
    const p = size.psp;
    out.push('');
    out.push(
      `PSP: ${n(p.served)} credits served in ${s(p.windowMs)} = ${p.sustainedPerSecond}/s of R = ${p.rateLimitPerSecond}/s: ${pct(p.ratio)} (target >= ${pct(PSP_RATIO_TARGET)}): ${mark(p.ratio >= PSP_RATIO_TARGET)}; ` +
        `${n(p.rateLimited)} answered 429; duplicate credits in the sandbox ledger: ${p.duplicateCredits} (${p.duplicateCredits === 0 ? 'ok' : 'MISSED'}); booked ${n(p.creditsBooked)}`,
    );
  } else {
    out.push('', 'PSP: not available (DispatchRefunds psp did not run)');
  }
  const fnRows: (string | number)[][] = [];
  for (const e of [size.cancel, size.dispatch.simulate, size.dispatch.psp, size.dispatch.credit].filter(isAvailable)) {
    for (const f of e.functions) {
      fnRows.push([`${e.label}: ${f.function}`, `${f.memoryMb} MB`, n(f.invocations), `${f.p50Ms} ms`, `${f.p95Ms} ms`, `${f.maxMs} ms`, s(f.sharedMs), (f.mbMs / 1024 / 1000).toFixed(1), (f.mbMsWall / 1024 / 1000).toFixed(1)]);
    }
  }
  if (fnRows.length) {
    out.push('');
    out.push(table(['Lambda (handler time, in-process)', 'Memory', 'Calls', 'p50 wall', 'p95 wall', 'max wall', 'Σ share', 'GB-s share', 'GB-s wall'], fnRows, new Set([1, 2, 3, 4, 5, 6, 7, 8])));
  }
  out.push('');
  const costRows = [...size.costs, ...size.costPer100k].map((r) => [
    r.label,
    n(r.usage.stateTransitions),
    n(r.usage.lambdaInvocations),
    n(r.usage.writeRequestUnits),
    n(r.usage.readRequestUnits),
    n(r.usage.emails),
    r.usd.stepFunctions,
    r.usd.lambdaRequests,
    r.usd.lambdaDuration,
    r.usd.dynamodb,
    r.usd.ses,
    r.usd.orchestration,
    r.usd.total,
  ]);
  out.push(table(['AWS cost (USD, us-east-1 list)', 'Transitions', 'Lambda calls', 'WRU', 'RRU', 'Emails', 'SFN', 'λ req', 'λ GB-s', 'DynamoDB', 'SES', 'SFN+λ', 'Total'], costRows, new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])));
  const per100k = size.costPer100k[0];
  if (per100k && (isAvailable(size.cancel) || isAvailable(size.dispatch.psp))) {
    const orch = BigInt(per100k.picoUsd.orchestration);
    const complete = isAvailable(size.cancel) && isAvailable(size.dispatch.psp);
    out.push(`Orchestration per 100,000 tickets: USD ${formatUsd(orch, 4)} (target <= 0.50): ${mark(orch <= ORCHESTRATION_TARGET_PICO_PER_100K)}${complete ? '' : ' (partial: not every workflow ran)'}`);
  }
  return out.join('\n');
}

export function formatResult(result: BenchResult): string {
  const out: string[] = [];
  const m = result.machine;
  out.push(`mass-refund bench ${result.startedAt} on ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GB, node ${m.node}, ${m.platform}; PSP sandbox R = ${result.options.pspRate}/s`);
  out.push('');
  for (const size of result.sizes) out.push(formatSize(size), '');
  if (result.sizes.length > 1) {
    const labels = [...new Set(result.sizes.flatMap((sz) => Object.keys(sz.msPerTicket)))];
    out.push(table(['Scaling: ms per ticket', ...result.sizes.map((sz) => n(sz.tickets))], labels.map((l) => [l, ...result.sizes.map((sz) => (sz.msPerTicket[l] ?? 0).toFixed(3))]), new Set(result.sizes.map((_, i) => i + 1))));
    out.push('');
  }
  if (isAvailable(result.bundles)) {
    out.push(
      table(
        ['Lambda bundle (cloud assembly)', 'Size', 'Init median', 'SDK alone', 'Init runs', 'Heaviest', 'Flags'],
        result.bundles.map((b) => [
          b.entry,
          `${(b.bytes / 1024).toFixed(1)} KB`,
          `${b.initMsMedian} ms`,
          `${b.sdkInitMsMedian} ms`,
          b.initMsRuns.join('/'),
          b.heaviest.slice(0, 3).map((h) => `${h.source} ${(h.bytes / 1024).toFixed(0)}K`).join(', '),
          b.flags.join('; ') || 'ok',
        ]),
        new Set([1, 2, 3]),
      ),
    );
  } else {
    out.push(`Lambda bundles: ${result.bundles.reason}`);
  }
  out.push('');
  out.push(`Peak RSS of the bench process: ${result.processMaxRssMb} MB${result.dynamodbLocalPeakRssMb ? `; DynamoDB Local JVM: ${result.dynamodbLocalPeakRssMb} MB` : ''}; total wall ${s(result.wallMs)}`);
  return out.join('\n');
}
