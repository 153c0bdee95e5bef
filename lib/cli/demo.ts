import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { localHome, PROJECT_ROOT } from '../local/paths.ts';
import * as runtime from '../local/runtime.ts';
import { exportRecords } from './export.ts';
import { formatCount, formatTotals } from './format.ts';
import { importText } from './import.ts';
import { EXIT, info, printJson, wantsText, type Io } from './io.ts';
import { runWorkflow } from './start.ts';
import { connect } from './target.ts';

const DEMO_PERFORMANCE = 'P-2026-07-12';

function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

interface Report {
  runId?: string;
  outcomes?: Record<string, { count: number; totals: Record<string, number> }>;
}

/**
 * The whole story on a fresh machine: start the local runtime, import the bundled sample,
 * cancel a performance, simulate, refund at the PSP, credit the rest, and show the emails.
 * The workflows run as the CLI runs them anywhere: executions of the local Step Functions endpoint.
 */
export async function runDemo(io: Io, output: { json?: boolean; pretty?: boolean } = {}): Promise<number> {
  info(io, '1/6 starting the local runtime (DynamoDB Local, SES server, PSP sandbox, Step Functions endpoint)…');
  const up = await runtime.up({ log: (l) => info(io, `    ${l}`) });
  await runtime.reset();
  const stack = await connect({ target: 'local' });

  info(io, '2/6 importing data/sample.jsonl…');
  const imported = await importText(readFileSync(path.join(PROJECT_ROOT, 'data/sample.jsonl'), 'utf8'), up.state.services.psp.url);
  if (!imported.ok) {
    printJson(io, { demo: 'failed', step: 'import', issues: imported.issues });
    return EXIT.workflowFailed;
  }

  const today = new Date();
  // Wide enough for the sample's resale payouts, which are dated when the resale happened.
  const from = '2026-01-01';
  const to = isoDate(new Date(today.getTime() + 86_400_000));
  const summary: Record<string, unknown> = { imported: imported.written, unchanged: imported.unchanged };
  // Each step's report goes to the summary; the steps print nothing on stdout themselves.
  const quiet: Io = { ...io, stdout: { write: () => true } };

  const run = async (label: string, workflow: string, input: Record<string, unknown>): Promise<Report> => {
    info(io, `${label} ${workflow} ${JSON.stringify(input)}`);
    const result = await runWorkflow(quiet, stack, workflow, input, { json: true });
    if (result.exitCode !== 0) {
      printJson(io, { demo: 'failed', step: workflow, result: result.printed });
      throw new Error(`${workflow} failed`);
    }
    return result.printed as Report;
  };
  const brief = (r: Report) => ({ runId: r.runId, outcomes: r.outcomes });

  try {
    const cancel = await run('3/6', 'CancelPerformance', { performanceId: DEMO_PERFORMANCE, reason: 'Storm warning: match cancelled', requestedBy: 'demo' });
    summary.cancellation = brief(cancel);
    const sim = await run('4/6', 'DispatchRefunds', { mode: 'simulate', from, to, requestedBy: 'demo' });
    summary.simulation = brief(sim);
    const psp = await run('5/6', 'DispatchRefunds', { mode: 'psp', from, to, simulationRunId: sim.runId, requestedBy: 'demo' });
    summary.pspDispatch = brief(psp);
    const credit = await run('6/6', 'DispatchRefunds', { mode: 'credit', from, to, simulationRunId: sim.runId, requestedBy: 'demo' });
    summary.creditDispatch = brief(credit);
  } catch {
    return EXIT.workflowFailed;
  }

  const emails = await exportRecords('emails', { sesUrl: up.state.services.ses.url });
  const ledger = await exportRecords('psp-ledger', { pspUrl: up.state.services.psp.url });
  summary.emails = {
    received: emails.length,
    viewer: up.state.services.ses.url,
    first: emails.slice(0, 3).map((e) => ({ to: e.to, subject: e.subject })),
    example: emails[0] ? { to: emails[0].to, subject: emails[0].subject, text: emails[0].text } : null,
  };
  summary.pspLedger = { credits: ledger.length };
  summary.stepfunctions = up.state.services.stepfunctions.url;
  summary.next = [
    'npx mass-refund export refunds --format csv',
    'npx mass-refund export emails',
    `npx mass-refund report ${String((summary.simulation as Report).runId)}`,
    `open ${up.state.services.ses.url} to read the emails`,
    `aws stepfunctions list-executions --endpoint-url ${up.state.services.stepfunctions.url} --state-machine-arn ${stack.stateMachines.DispatchRefunds ?? ''}`,
  ];
  summary.functionLogs = path.join(localHome(), 'logs', 'functions.log');
  if (wantsText(io, output)) io.stdout.write(`${demoText(summary)}\n`);
  else printJson(io, { demo: 'done', ...summary });
  return EXIT.ok;
}

function demoText(summary: Record<string, unknown>): string {
  const step = (title: string, r: unknown) => {
    const report = r as Report;
    const outcomes = Object.entries(report.outcomes ?? {})
      .map(([name, o]) => `${name} ${formatCount(o.count)}${Object.keys(o.totals).length ? ` (${formatTotals(o.totals)})` : ''}`)
      .join('; ');
    return `${title} ${report.runId}: ${outcomes || 'nothing to do'}`;
  };
  const emails = summary.emails as { received: number; viewer: string };
  return [
    'Demo done.',
    step('Cancellation', summary.cancellation),
    step('Simulation', summary.simulation),
    step('PSP dispatch', summary.pspDispatch),
    step('Credit dispatch', summary.creditDispatch),
    `Emails: ${formatCount(emails.received)} received; read them at ${emails.viewer}`,
    `PSP sandbox: ${formatCount((summary.pspLedger as { credits: number }).credits)} credit(s) booked`,
    '',
    'Next:',
    ...(summary.next as string[]).map((n) => `  ${n}`),
  ].join('\n');
}
