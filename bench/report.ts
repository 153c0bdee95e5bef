/** The bench's figures as readable tables. */
import { formatUsd } from './cost.ts';
import { CALLS_PER_SHARD_PER_EXECUTION } from '../lib/core/continuation.ts';
import { projectRun, SEASON_TICKETS, type ExecutionFigures } from './executions.ts';
import { CANCEL_RATIO_TARGET, isAvailable, ORCHESTRATION_TARGET_PICO_PER_100K, PSP_FLOOR_TARGET, PSP_RATIO_TARGET, DEFAULT_SES_RATE, type BenchResult, type SizeResult, type Unavailable } from './run.ts';

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
    ...(size.emails ?? []).map((e): [string, ExecutionFigures] => [`SendEmails (${e.label.replace('emails ', '')})`, e]),
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
          n(e.executions),
          n(e.stats.historyEvents),
          n(e.itemsWritten),
          `${e.peakRssMb} MB`,
          e.flags.join('; ') || 'ok',
        ]
      : [label, 'not available', '', '', '', '', '', '', '', '', e.reason],
  );
}

export function formatSize(size: SizeResult): string {
  const out: string[] = [];
  const methods = Object.entries(size.paymentMethods).map(([m, c]) => `${m} ${n(c)}`).join(', ');
  const g = size.groupOrders;
  const variant = g ? ` (group-order variant: ${g.orders} group orders of ${n(g.tickets)} tickets, the largest ${n(g.largest)}, ${g.payments} payments)` : '';
  out.push(`== ${n(size.tickets)} tickets, ${n(size.orders)} orders, ${size.resales} resales${variant}; payments: ${methods}`);
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
  out.push(table(['Run', 'Status', 'Wall', 'Transitions', 'Lambda calls', 'Largest payload', 'Executions', 'History (largest)', 'Items written', 'Peak RSS', 'Flags'], executionRows(size), new Set([2, 3, 4, 5, 6, 7, 8, 9])));
  out.push('');
  out.push(seasonProjection(size));
  if (size.psp) {
    const p = size.psp;
    out.push('');
    out.push(
      `PSP: ${n(p.served)} credits served in ${s(p.windowMs)} = ${p.sustainedPerSecond}/s of R = ${p.rateLimitPerSecond}/s: ${pct(p.ratio)} (target >= ${pct(PSP_RATIO_TARGET)}): ${mark(p.ratio >= PSP_RATIO_TARGET)}; ` +
        `${n(p.rateLimited)} answered 429; duplicate credits in the sandbox ledger: ${p.duplicateCredits} (${p.duplicateCredits === 0 ? 'ok' : 'MISSED'}); booked ${n(p.creditsBooked)}`,
    );
    if (p.passOverFloor !== undefined) {
      out.push(`PSP pass: ${s(isAvailable(size.dispatch.psp) ? size.dispatch.psp.wallMs : 0)} = ${p.passOverFloor.toFixed(2)}x its PSP floor (${n(p.served)} credits / R = ${s(p.floorMs)}; target <= ${PSP_FLOOR_TARGET}x): ${mark(p.passOverFloor <= PSP_FLOOR_TARGET)}`);
    }
  } else {
    out.push('', 'PSP: not available (DispatchRefunds psp did not run)');
  }
  if (size.sender) {
    const m = size.sender;
    out.push(
      `Emails: SendEmails sent ${n(m.emailsSent)} at ${m.sentPerSecond}/s against an SES quota of ${m.quotaPerSecond}/s (${pct(m.ratio)} of it, never above: ${mark(m.ratio <= 1.02)}); ` +
        `SES throttled ${n(m.throttledBySes)}; ${s(m.wallMs)} in all, off the passes' path`,
    );
  }
  const fnRows: (string | number)[][] = [];
  for (const e of [size.cancel, size.dispatch.simulate, size.dispatch.psp, size.dispatch.credit, ...(size.emails ?? [])].filter(isAvailable)) {
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

/** The runs' executions at 1,000,000 tickets, on paper: see projectRun. */
function seasonProjection(size: SizeResult): string {
  const runs: [string, ExecutionFigures | Unavailable][] = [
    ['CancelPerformance', size.cancel],
    ['Dispatch simulate', size.dispatch.simulate],
    ['Dispatch psp', size.dispatch.psp],
    ['Dispatch credit', size.dispatch.credit],
  ];
  const rows = runs.filter((r): r is [string, ExecutionFigures] => isAvailable(r[1])).map(([label, e]) => {
    const p = projectRun(e, size.tickets, SEASON_TICKETS);
    return [label, (e.stats.stateTransitions / size.tickets).toFixed(4), (e.stats.lambdaInvocations / size.tickets).toFixed(4), n(p.transitions), n(p.lambdaCalls), n(p.executions), `≤ ${n(p.historyPerExecution)}`];
  });
  return [
    `At ${n(SEASON_TICKETS)} tickets, on paper (per-ticket counts of this run scaled; an execution holds at most ${CALLS_PER_SHARD_PER_EXECUTION} calls a shard, AWS's limit 25,000 events):`,
    table(['Run', 'Transitions/ticket', 'Calls/ticket', 'Transitions', 'Lambda calls', 'Executions', 'History per execution'], rows, new Set([1, 2, 3, 4, 5, 6])),
  ].join('\n');
}

/** The normal run and its group-order variant side by side. */
export function formatComparison(normal: SizeResult, group: SizeResult): string {
  const cancel = (sz: SizeResult) => (isAvailable(sz.cancel) ? sz.cancel : undefined);
  const report = (sz: SizeResult) => cancel(sz)?.output as { status?: string; outcomes?: Record<string, { count: number }>; errorCount?: number } | undefined;
  const wall = (e: SizeResult['dispatch']['psp']) => (isAvailable(e) ? s(e.wallMs) : 'n/a');
  const perSecond = (sz: SizeResult) => {
    const c = cancel(sz);
    return c ? n(Math.round((c.itemsWritten / c.wallMs) * 1000)) : 'n/a';
  };
  const row = (label: string, f: (sz: SizeResult) => string | number) => [label, String(f(normal)), String(f(group))];
  const g = group.groupOrders;
  return table(
    [`${n(normal.tickets)} tickets`, 'normal', `with group orders`],
    [
      row('Orders', (sz) => n(sz.orders)),
      row('Group orders (tickets, largest)', (sz) => (sz === group && g ? `${g.orders} (${n(g.tickets)}, ${n(g.largest)})` : '0')),
      row('Import wall', (sz) => s(sz.import.wallMs)),
      row('Import items/s', (sz) => n(sz.import.itemsPerSecond)),
      row('Raw baseline items/s', (sz) => n(sz.raw.full.itemsPerSecond)),
      row('CancelPerformance wall', (sz) => (cancel(sz) ? s(cancel(sz)!.wallMs) : 'n/a')),
      row('CancelPerformance items written', (sz) => (cancel(sz) ? n(cancel(sz)!.itemsWritten) : 'n/a')),
      row('CancelPerformance items/s', perSecond),
      row('  of raw', (sz) => pct(sz.cancelRatio ?? 0)),
      row('Cancel ms per ticket', (sz) => (sz.msPerTicket.cancel ?? 0).toFixed(3)),
      row('Cancel report status', (sz) => `${report(sz)?.status ?? 'n/a'}, ${report(sz)?.errorCount ?? 0} error(s)`),
      row('Orders booked in parts', (sz) => n(report(sz)?.outcomes?.orders_booked_in_parts?.count ?? 0)),
      row('Tickets cancelled', (sz) => n(report(sz)?.outcomes?.tickets_cancelled?.count ?? 0)),
      row('Dispatch simulate wall', (sz) => wall(sz.dispatch.simulate)),
      row('Dispatch psp wall', (sz) => wall(sz.dispatch.psp)),
      row('Dispatch credit wall', (sz) => wall(sz.dispatch.credit)),
      row('PSP share of R', (sz) => (sz.psp ? pct(sz.psp.ratio) : 'n/a')),
      row('Duplicate credits', (sz) => (sz.psp ? sz.psp.duplicateCredits : 'n/a')),
      row('SFN+λ per 100,000 tickets', (sz) => `USD ${sz.costPer100k[0]?.usd.orchestration ?? 'n/a'}`),
    ],
    new Set([1, 2]),
  );
}

export function formatResult(result: BenchResult): string {
  const out: string[] = [];
  const m = result.machine;
  out.push(`mass-refund bench ${result.startedAt} on ${m.cpus} cores (${m.cpuModel}), ${m.memoryGb} GB, node ${m.node}, ${m.platform}; PSP sandbox R = ${result.options.pspRate}/s; SES quota ${result.options.sesRate ?? DEFAULT_SES_RATE}/s`);
  out.push('');
  for (const size of result.sizes) out.push(formatSize(size), '');
  for (const size of result.groupVariants ?? []) out.push(formatSize(size), '');
  for (const [i, group] of (result.groupVariants ?? []).entries()) {
    const normal = result.sizes[i];
    if (normal) out.push('Group orders beside the normal run', formatComparison(normal, group), '');
  }
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
