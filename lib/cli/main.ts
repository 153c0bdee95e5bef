import { readFileSync, writeFileSync } from 'node:fs';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import { RunRepository } from '../adapters/dynamodb/runs.ts';
import { startOnAws } from './aws.ts';
import { EXPORT_KINDS, exportRecords, lookupVoucher, orderFields, toCsv, toJsonl, writeOffStats, type ExportKind } from './export.ts';
import { captureFunctionLogs, EXIT, info, parseArgs, printJson, UsageError } from './io.ts';
import { runWorkflowLocally, BAD_INPUT_ERRORS, exitCodeOfOutput } from './start.ts';
import * as runtime from '../local/runtime.ts';

const HELP = `mass-refund: cancel performances, dispatch refunds, write off vouchers.

Usage:
  mass-refund local up|down|status|reset
  mass-refund demo
  mass-refund import FILE.jsonl
  mass-refund start WORKFLOW (--input JSON | --input-file F) [--name RUN_ID] [--target local|aws]
  mass-refund export KIND [--run RUN_ID] [--format jsonl|csv] [--out FILE] [--written-off]
  mass-refund report RUN_ID
  mass-refund lookup CODE                    (a voucher or ticket with its write-off and redemptions)
  mass-refund stats write-offs [--run RUN_ID] (counts and totals per kind, month of issue, currency)

Workflows: CancelPerformance, CancelTickets, PartialRefund, DispatchRefunds, ReconcileRefunds,
           SwitchRefundToManual, WriteOff, ReverseWriteOff
Export kinds: ${EXPORT_KINDS.join(', ')}
Exit codes: 0 done, 1 the workflow failed, 2 bad input (nothing written).`;

function target(flags: Record<string, string | true>): 'local' | 'aws' {
  const t = flags.target ?? 'local';
  if (t !== 'local' && t !== 'aws') throw new UsageError(`--target must be local or aws, got ${String(t)}`);
  return t;
}

function readInput(flags: Record<string, string | true>): unknown {
  const raw = typeof flags.input === 'string' ? flags.input : typeof flags['input-file'] === 'string' ? readFileSync(flags['input-file'], 'utf8') : undefined;
  if (raw === undefined) return {};
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new ValidationError([{ field: '(input)', reason: `not valid JSON: ${(error as Error).message}` }]);
  }
}

async function cmdLocal(sub: string | undefined): Promise<number> {
  switch (sub) {
    case 'up': {
      const result = await runtime.up({ log: info });
      printJson({ up: true, started: result.started, tablesCreated: result.tablesCreated, services: result.state.services, tablePrefix: result.state.tablePrefix });
      return EXIT.ok;
    }
    case 'down':
      printJson({ stopped: await runtime.down() });
      return EXIT.ok;
    case 'status': {
      const s = await runtime.status();
      printJson(s);
      return s.up ? EXIT.ok : EXIT.workflowFailed;
    }
    case 'reset':
      await runtime.reset();
      printJson({ reset: true });
      return EXIT.ok;
    default:
      throw new UsageError('usage: mass-refund local up|down|status|reset');
  }
}

async function cmdStart(positional: string[], flags: Record<string, string | true>): Promise<number> {
  const workflow = positional[1];
  if (!workflow) throw new UsageError('usage: mass-refund start WORKFLOW --input JSON');
  const input = readInput(flags);
  const name = typeof flags.name === 'string' ? flags.name : undefined;
  if (target(flags) === 'aws') {
    const result = await startOnAws(workflow, input, { name, onPoll: (s) => info(`${workflow}: ${s}`) });
    if (result.status === 'SUCCEEDED') {
      printJson(result.output);
      return exitCodeOfOutput(result.output);
    }
    printJson({ status: result.status, error: result.error, cause: result.cause, executionArn: result.executionArn });
    return result.error && BAD_INPUT_ERRORS.has(result.error) ? EXIT.badInput : EXIT.workflowFailed;
  }
  await runtime.attach();
  captureFunctionLogs();
  const result = await runWorkflowLocally(workflow, input, { name, schedule: typeof flags.schedule === 'string' ? flags.schedule : undefined });
  printJson(result.printed);
  return result.exitCode;
}

async function cmdExport(positional: string[], flags: Record<string, string | true>): Promise<number> {
  const kind = positional[1] as ExportKind | undefined;
  if (!kind || !EXPORT_KINDS.includes(kind)) throw new UsageError(`usage: mass-refund export KIND [--run RUN_ID] [--format jsonl|csv]; KIND one of ${EXPORT_KINDS.join(', ')}`);
  const format = flags.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv') throw new UsageError('--format must be jsonl or csv');
  const state = await runtime.attach();
  const rows = await exportRecords(kind, {
    runId: typeof flags.run === 'string' ? flags.run : undefined,
    sesUrl: state.services.ses.url,
    pspUrl: state.services.psp.url,
    writtenOff: flags['written-off'] === true,
  });
  const ordered = orderFields(kind, rows);
  const text = format === 'csv' ? toCsv(ordered) : toJsonl(ordered);
  if (typeof flags.out === 'string') writeFileSync(flags.out, text);
  else process.stdout.write(text);
  info(`${rows.length} ${kind}`);
  return EXIT.ok;
}

async function cmdReport(positional: string[]): Promise<number> {
  const runId = positional[1];
  if (!runId) throw new UsageError('usage: mass-refund report RUN_ID');
  await runtime.attach();
  const runs = new RunRepository();
  const run = await runs.get(runId);
  if (!run) {
    info(`no run "${runId}"`);
    return EXIT.badInput;
  }
  const out: string[] = [];
  out.push(`${run.workflow} run ${run.runId}: ${run.status}`);
  out.push(`started ${run.startedAt}${run.finishedAt ? `, finished ${run.finishedAt}` : ''}, requested by ${run.requestedBy}`);
  out.push(`input: ${JSON.stringify(run.input)}`);
  for await (const line of runs.logLines(runId)) out.push(line);
  if (run.report) {
    out.push('');
    for (const [outcome, t] of Object.entries(run.report.outcomes ?? {})) {
      const totals = Object.entries(t.totals).map(([c, a]) => `${a} ${c}`).join(', ');
      out.push(`${outcome}: ${t.count}${totals ? ` (${totals} minor units)` : ''}`);
    }
    for (const e of run.report.errors ?? []) out.push(`error ${e.code}: ${e.message}`);
  }
  process.stdout.write(out.join('\n') + '\n');
  return EXIT.ok;
}

async function cmdLookup(positional: string[]): Promise<number> {
  const code = positional[1];
  if (!code) throw new UsageError('usage: mass-refund lookup CODE');
  await runtime.attach();
  printJson(await lookupVoucher(code));
  return EXIT.ok;
}

async function cmdStats(positional: string[], flags: Record<string, string | true>): Promise<number> {
  if (positional[1] !== 'write-offs') throw new UsageError('usage: mass-refund stats write-offs [--run RUN_ID]');
  await runtime.attach();
  printJson(await writeOffStats({ runId: typeof flags.run === 'string' ? flags.run : undefined }));
  return EXIT.ok;
}

export async function main(argv: string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv);
  const command = positional[0];
  try {
    switch (command) {
      case 'local':
        return await cmdLocal(positional[1]);
      case 'start':
        return await cmdStart(positional, flags);
      case 'export':
        return await cmdExport(positional, flags);
      case 'report':
        return await cmdReport(positional);
      case 'lookup':
        return await cmdLookup(positional);
      case 'stats':
        return await cmdStats(positional, flags);
      case 'import': {
        const { cmdImport } = await import('./import.ts');
        return await cmdImport(positional, flags);
      }
      case 'demo': {
        const { runDemo } = await import('./demo.ts');
        return await runDemo();
      }
      case undefined:
      case 'help':
      case '--help':
        info(HELP);
        return command ? EXIT.ok : EXIT.badInput;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${HELP}`);
    }
  } catch (error) {
    if (error instanceof ValidationError) {
      info(`bad input:\n${error.issues.map((i) => `  ${i.field}: ${i.reason}`).join('\n')}`);
      printJson({ status: 'REJECTED', errors: error.issues });
      return EXIT.badInput;
    }
    if (error instanceof NotFoundError) {
      info(error.message);
      return EXIT.badInput;
    }
    if (error instanceof UsageError) {
      info(error.message);
      return EXIT.badInput;
    }
    info(`error: ${(error as Error).message}`);
    return EXIT.workflowFailed;
  }
}
