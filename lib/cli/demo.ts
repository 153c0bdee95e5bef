import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../local/paths.ts';
import * as runtime from '../local/runtime.ts';
import { exportRecords } from './export.ts';
import { importText } from './import.ts';
import { captureFunctionLogs, EXIT, info, printJson } from './io.ts';
import { localRunner, runWorkflowLocally } from './start.ts';

const DEMO_PERFORMANCE = 'P-2026-07-12';

function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * The whole story on a fresh machine: start the local runtime, import the bundled sample,
 * cancel a performance, simulate, refund at the PSP, credit the rest, and show the emails.
 */
export async function runDemo(): Promise<number> {
  info('1/6 starting the local runtime (DynamoDB Local, SES server, PSP sandbox)…');
  const up = await runtime.up({ log: (l) => info(`    ${l}`) });
  await runtime.reset();
  const logFile = captureFunctionLogs();

  info('2/6 importing data/sample.jsonl…');
  const imported = await importText(readFileSync(path.join(PROJECT_ROOT, 'data/sample.jsonl'), 'utf8'));
  if (!imported.ok) {
    printJson({ demo: 'failed', step: 'import', issues: imported.issues });
    return EXIT.workflowFailed;
  }

  const runner = await localRunner();
  const available = new Set(runner.workflows());
  const steps: { step: string; workflow: string; input: Record<string, unknown> }[] = [];
  const today = new Date();
  // Wide enough for the sample's resale payouts, which are dated when the resale happened.
  const from = '2026-01-01';
  const to = isoDate(new Date(today.getTime() + 86_400_000));
  const summary: Record<string, unknown> = { imported: imported.written, unchanged: imported.unchanged };

  const run = async (label: string, workflow: string, input: Record<string, unknown>): Promise<Record<string, unknown> | undefined> => {
    if (!available.has(workflow)) {
      info(`${label} ${workflow}: not in this version of the stack yet, skipped`);
      summary[workflow] = 'not available yet';
      return undefined;
    }
    info(`${label} ${workflow} ${JSON.stringify(input)}`);
    const result = await runWorkflowLocally(workflow, input, { runner });
    steps.push({ step: label, workflow, input });
    if (result.exitCode !== 0) {
      printJson({ demo: 'failed', step: workflow, result: result.printed });
      throw new Error(`${workflow} failed`);
    }
    return result.printed as Record<string, unknown>;
  };

  try {
    const cancel = await run('3/6', 'CancelPerformance', { performanceId: DEMO_PERFORMANCE, reason: 'Storm warning: match cancelled', requestedBy: 'demo' });
    summary.cancellation = cancel && { runId: cancel.runId, outcomes: cancel.outcomes };
    const sim = await run('4/6', 'DispatchRefunds', { mode: 'simulate', from, to, requestedBy: 'demo' });
    summary.simulation = sim && { runId: sim.runId, outcomes: sim.outcomes };
    if (sim) {
      const psp = await run('5/6', 'DispatchRefunds', { mode: 'psp', from, to, simulationRunId: sim.runId, requestedBy: 'demo' });
      summary.pspDispatch = psp && { runId: psp.runId, outcomes: psp.outcomes };
      const credit = await run('6/6', 'DispatchRefunds', { mode: 'credit', from, to, simulationRunId: sim.runId, requestedBy: 'demo' });
      summary.creditDispatch = credit && { runId: credit.runId, outcomes: credit.outcomes };
    }
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
  summary.next = [
    'npx mass-refund export refunds --format csv',
    'npx mass-refund export emails',
    'npx mass-refund report <runId>',
    `open ${up.state.services.ses.url} to read the emails`,
  ];
  summary.functionLogs = logFile;
  printJson({ demo: 'done', ...summary });
  return EXIT.ok;
}
