import { writeFileSync } from 'node:fs';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import { didYouMean, parseCommand, usageOf, wantsHelp, type CommandSpec, type OptionSpec, type Parsed } from './args.ts';
import { EXPORT_KINDS, exportRecords, lookupVoucher, orderFields, toCsv, toJsonl, writeOffStats, type ExportKind } from './export.ts';
import { formatCount, formatMoney, formatTotals, outcomesTable } from './format.ts';
import { inputFieldsHelp, isWorkflow, WORKFLOW_NAMES } from './inputs.ts';
import { EXIT, info, printJson, processIo, UsageError, wantsText, type Io } from './io.ts';
import { StackNotFoundError, type StackConnection, type Target } from './target.ts';

const TARGET_OPTIONS: Record<string, OptionSpec> = {
  target: { type: 'string', value: 'TARGET', help: 'where the stack runs: the local runtime or AWS (default local)', choices: ['local', 'aws'] },
  stack: { type: 'string', value: 'NAME', help: 'the deployed stack, found by its CloudFormation outputs (default MassRefund)' },
  region: { type: 'string', value: 'REGION', help: 'AWS region of the stack (default: AWS_REGION / your AWS profile)' },
};
const OUTPUT_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', help: 'JSON on stdout even on a terminal' },
  pretty: { type: 'boolean', help: 'readable text on stdout even when piped' },
};

const WORKFLOWS_TEXT = `Workflows: ${WORKFLOW_NAMES.join(', ')}`;

/** A command of one positional argument (its `args`, as the usage shows it) or none. */
function command(name: string, args: string, summary: string, options: Record<string, OptionSpec>, details?: string): CommandSpec {
  const names = args ? [args] : [];
  return { name, args, summary, positionals: { min: names.length, max: names.length, names }, options, ...(details === undefined ? {} : { details }) };
}

export const COMMANDS: Record<string, CommandSpec> = {
  local: command('local', 'up|down|status|reset', 'Start (idempotent), stop, show or empty the local runtime: DynamoDB Local, the SES server, the PSP sandbox and the Step Functions endpoint (`status` lists them as JSON with their URLs).', {}),
  demo: command('demo', '', 'On a fresh machine: local up, import the bundled sample, cancel a performance, simulate, refund at the PSP, credit the rest; prints what happened.', { ...OUTPUT_OPTIONS }),
  import: command('import', 'FILE.jsonl', 'Loads data (JSON Lines, `type` first). The whole file is validated first: any bad line, exit 2 and nothing written. Importing a file twice changes nothing.', { ...TARGET_OPTIONS, ...OUTPUT_OPTIONS }),
  start: command('start', 'WORKFLOW', 'Runs one state machine (the synthesized definition locally, the deployed one on AWS), follows it with progress on stderr and prints its run report.', {
    input: { type: 'string', value: 'JSON', help: 'the console input' },
    'input-file': { type: 'string', value: 'FILE', help: 'read the console input from a file' },
    name: { type: 'string', value: 'RUN_ID', help: 'the run id (execution name; default: workflow-timestamp-random)' },
    schedule: { type: 'string', value: 'SCHEDULE', help: 'start DispatchRefunds as its schedule does (--input adds e.g. {"mode":"psp"})', choices: ['nightly'] },
    'no-wait': { type: 'boolean', help: 'print the run id and return at once; `mass-refund status RUN_ID` follows it' },
    ...TARGET_OPTIONS,
    ...OUTPUT_OPTIONS,
  }, `${WORKFLOWS_TEXT}\n\`mass-refund start WORKFLOW --help\` lists the workflow's input fields.\nExit codes: 0 done, 1 the workflow failed (or completed with errors), 2 bad input (nothing written).`),
  status: command('status', 'RUN_ID', 'Where a run stands (e.g. after `start --no-wait`): running with its progress, or its end and report. RUN_ID may also be an execution ARN.', { wait: { type: 'boolean', help: 'follow a running run to its end' }, ...TARGET_OPTIONS, ...OUTPUT_OPTIONS }),
  report: command('report', 'RUN_ID', 'The human-readable log of a run: the simulation log, the write-off file, the outcomes.', { ...TARGET_OPTIONS, json: { type: 'boolean', help: 'the run record and its log lines as JSON' } }),
  export: command('export', 'KIND', `Exports records as JSON Lines or CSV. KIND: ${EXPORT_KINDS.join(', ')}.`, {
    run: { type: 'string', value: 'RUN_ID', help: 'only what this run touched' },
    format: { type: 'string', value: 'FORMAT', help: 'output format (default jsonl)', choices: ['jsonl', 'csv'] },
    out: { type: 'string', value: 'FILE', help: 'write to a file instead of stdout' },
    bom: { type: 'boolean', help: 'CSV: start with a UTF-8 byte order mark (Excel)' },
    'written-off': { type: 'boolean', help: 'vouchers/redemptions: only write-offs' },
    ...TARGET_OPTIONS,
  }, 'CSV has the JSON Lines\' columns (the contract\'s first, unchanged), amounts also as decimal columns beside their currency (e.g. amountDecimal, amountCurrency); cells a spreadsheet would run as formulas are quoted.'),
  lookup: command('lookup', 'CODE', 'A voucher or ticket code with its write-off (comment, date, run), redemptions and reversals.', { ...TARGET_OPTIONS, ...OUTPUT_OPTIONS }),
  stats: command('stats', 'write-offs', 'Counts and totals of what is written off, per kind, month of issue and currency.', { run: { type: 'string', value: 'RUN_ID', help: 'only this write-off run' }, ...TARGET_OPTIONS, ...OUTPUT_OPTIONS }),
  approve: command('approve', 'SIMULATION_RUN_ID', 'Shows a dispatch simulation\'s totals per pass, payment method and currency, and after confirmation (on a terminal, or --yes) starts the psp or credit pass bound to it.', {
    pass: { type: 'string', value: 'PASS', help: 'the pass to start (default: the one a stopped nightly run waits for, else psp)', choices: ['psp', 'credit'] },
    yes: { type: 'boolean', short: 'y', help: 'start without asking (needed when not on a terminal)' },
    'requested-by': { type: 'string', value: 'WHO', help: 'who approves (default: $USER)' },
    name: { type: 'string', value: 'RUN_ID', help: 'the run id of the pass' },
    'no-wait': { type: 'boolean', help: 'print the run id and return at once' },
    ...TARGET_OPTIONS,
    ...OUTPUT_OPTIONS,
  }),
};

const COMMAND_ORDER = ['local', 'demo', 'import', 'start', 'status', 'report', 'export', 'lookup', 'stats', 'approve'];
const BRIEF: Record<string, string> = {
  local: 'start, stop, show or empty the local runtime',
  demo: 'the whole story on a fresh machine, with sample data',
  import: 'load data (JSON Lines); a bad line writes nothing',
  start: 'run a workflow and print its run report',
  status: 'where a run stands (after start --no-wait)',
  report: 'the readable log of a run',
  export: 'export records as JSON Lines or CSV',
  lookup: 'a voucher or ticket code with its write-off',
  stats: 'write-off statistics',
  approve: 'show a simulation\'s totals and start its psp or credit pass',
};

export const HELP = `mass-refund: cancel performances, dispatch refunds, write off vouchers.

Usage: mass-refund COMMAND [arguments] [options]

${COMMAND_ORDER.map((c) => {
  const spec = COMMANDS[c] as CommandSpec;
  return `  ${`${c} ${spec.args}`.padEnd(30)} ${BRIEF[c] ?? ''}`;
}).join('\n')}

Every command except local and demo takes --target local|aws (default local) and --stack NAME.
\`mass-refund COMMAND --help\` shows a command's options.
${WORKFLOWS_TEXT}
Results go to stdout (JSON when piped), progress to stderr.
Exit codes: 0 done, 1 the workflow failed, 2 bad input (nothing written).`;

type Values = Parsed['values'];
const str = (v: Values, k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
const bool = (v: Values, k: string): boolean => v[k] === true;

async function connectFor(io: Io, values: Values): Promise<StackConnection> {
  const { connect } = await import('./target.ts');
  const stack = await connect({ target: (str(values, 'target') ?? 'local') as Target, stack: str(values, 'stack'), region: str(values, 'region') });
  for (const w of stack.warnings) info(io, `warning: ${w}`);
  return stack;
}

async function cmdLocal(io: Io, sub: string): Promise<number> {
  const runtime = await import('../local/runtime.ts');
  switch (sub) {
    case 'up': {
      const result = await runtime.up({ log: (l) => info(io, l) });
      printJson(io, { up: true, started: result.started, tablesCreated: result.tablesCreated, services: result.state.services, tablePrefix: result.state.tablePrefix, env: runtime.awsEnvironment(result.state) });
      return EXIT.ok;
    }
    case 'down':
      printJson(io, { stopped: await runtime.down() });
      return EXIT.ok;
    case 'status': {
      const s = await runtime.status();
      printJson(io, s);
      return s.up ? EXIT.ok : EXIT.workflowFailed;
    }
    case 'reset':
      await runtime.reset();
      printJson(io, { reset: true });
      return EXIT.ok;
    default:
      throw new UsageError(`local: unknown subcommand "${sub}"${didYouMean(sub, ['up', 'down', 'status', 'reset'])}`);
  }
}

async function cmdExport(io: Io, kindArg: string, values: Values): Promise<number> {
  if (!(EXPORT_KINDS as readonly string[]).includes(kindArg)) throw new UsageError(`export: unknown KIND "${kindArg}"${didYouMean(kindArg, EXPORT_KINDS)}`);
  const kind = kindArg as ExportKind;
  const format = str(values, 'format') ?? 'jsonl';
  if (bool(values, 'bom') && format !== 'csv') throw new UsageError('export: --bom applies to --format csv only');
  const stack = await connectFor(io, values);
  const rows = await exportRecords(kind, {
    runId: str(values, 'run'),
    sesUrl: stack.local?.services.ses.url,
    pspUrl: stack.local?.services.psp.url,
    writtenOff: bool(values, 'written-off'),
  });
  const ordered = orderFields(kind, rows);
  const text = format === 'csv' ? toCsv(ordered, { kind, bom: bool(values, 'bom') }) : toJsonl(ordered);
  const out = str(values, 'out');
  if (out) writeFileSync(out, text);
  else io.stdout.write(text);
  info(io, `${formatCount(rows.length)} ${kind}${out ? ` written to ${out}` : ''}`);
  return EXIT.ok;
}

async function cmdLookup(io: Io, code: string, values: Values): Promise<number> {
  await connectFor(io, values);
  const found = await lookupVoucher(code);
  if (!wantsText(io, { json: bool(values, 'json'), pretty: bool(values, 'pretty') })) {
    printJson(io, found);
    return EXIT.ok;
  }
  const remaining = found.remaining as { amount: number; currency: string };
  const lines = [`${String(found.code)} (${String(found.kind)}), issued ${String(found.issuedAt)}${found.validUntil ? `, valid until ${String(found.validUntil)}` : ''}`, `remaining: ${formatMoney(remaining)}; ${found.redeemable ? 'redeemable' : 'not redeemable'}`];
  const w = found.writtenOff as { runId: string; comment: string; at: string } | null;
  if (w) lines.push(`written off ${w.at} by run ${w.runId}${found.writtenOffAmount ? ` (${formatMoney(found.writtenOffAmount as { amount: number; currency: string })})` : ''}: ${w.comment}`);
  for (const r of (found.redemptions as { at?: string; kind?: string; amount?: unknown; runId?: string }[]) ?? []) lines.push(`redemption ${r.at ?? ''} ${r.kind ?? ''}${r.runId ? ` run ${r.runId}` : ''}`);
  for (const r of (found.reversals as { at?: string; reason?: string; runId?: string }[]) ?? []) lines.push(`reversal ${r.at ?? ''}${r.runId ? ` run ${r.runId}` : ''}: ${r.reason ?? ''}`);
  io.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

async function cmdStats(io: Io, what: string, values: Values): Promise<number> {
  if (what !== 'write-offs') throw new UsageError(`stats: unknown statistics "${what}"${didYouMean(what, ['write-offs'])}`);
  await connectFor(io, values);
  const stats = await writeOffStats({ runId: str(values, 'run') });
  if (!wantsText(io, { json: bool(values, 'json'), pretty: bool(values, 'pretty') })) {
    printJson(io, stats);
    return EXIT.ok;
  }
  const section = (title: string, t: typeof stats.byKind) => `${title}\n${outcomesTable(t)}`;
  io.stdout.write(`${[`written off: ${formatCount(stats.count)} code(s), ${formatTotals(stats.totals) || 'nothing'}`, '', section('per kind', stats.byKind), '', section('per month of issue', stats.byIssueMonth), '', section('per currency', stats.byCurrency)].join('\n')}\n`);
  return EXIT.ok;
}

async function run(io: Io, command: string, parsed: Parsed): Promise<number> {
  const { values, positionals } = parsed;
  const arg = positionals[0] as string;
  const output = { json: bool(values, 'json'), pretty: bool(values, 'pretty') };
  switch (command) {
    case 'local':
      return cmdLocal(io, arg);
    case 'demo': {
      const { runDemo } = await import('./demo.ts');
      return runDemo(io, output);
    }
    case 'import': {
      const { cmdImport } = await import('./import.ts');
      await connectFor(io, values);
      return cmdImport(io, arg, output);
    }
    case 'start': {
      const { cmdStart, readInput, requireWorkflow, scheduleInput } = await import('./start.ts');
      const workflow = requireWorkflow(arg);
      // Bad input is refused before anything is looked up, on any target.
      const consoleInput = readInput({ input: str(values, 'input'), 'input-file': str(values, 'input-file') });
      const schedule = str(values, 'schedule');
      const input = schedule !== undefined ? scheduleInput(workflow, schedule, consoleInput) : consoleInput;
      return cmdStart(io, await connectFor(io, values), workflow, input, {
        name: str(values, 'name'),
        'no-wait': bool(values, 'no-wait'),
        ...output,
      });
    }
    case 'status': {
      const { cmdStatus } = await import('./start.ts');
      return cmdStatus(io, await connectFor(io, values), runIdOf(arg), { wait: bool(values, 'wait'), ...output });
    }
    case 'report': {
      const { cmdReport } = await import('./report.ts');
      await connectFor(io, values);
      return cmdReport(io, arg, { json: bool(values, 'json') });
    }
    case 'export':
      return cmdExport(io, arg, values);
    case 'lookup':
      return cmdLookup(io, arg, values);
    case 'stats':
      return cmdStats(io, arg, values);
    case 'approve': {
      const { cmdApprove } = await import('./approve.ts');
      return cmdApprove(io, await connectFor(io, values), arg, {
        pass: str(values, 'pass'),
        yes: bool(values, 'yes'),
        'requested-by': str(values, 'requested-by'),
        name: str(values, 'name'),
        'no-wait': bool(values, 'no-wait'),
        ...output,
      });
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** A run id, or the JSON `start --no-wait` printed (its runId). */
function runIdOf(arg: string): string {
  if (!arg.trimStart().startsWith('{')) return arg;
  try {
    const runId = (JSON.parse(arg) as { runId?: unknown }).runId;
    if (typeof runId === 'string') return runId;
  } catch {
    /* not JSON: taken as it is */
  }
  return arg;
}

async function helpFor(io: Io, command: string, rest: string[]): Promise<void> {
  const spec = COMMANDS[command] as CommandSpec;
  io.stdout.write(`${usageOf(spec)}\n`);
  const workflow = rest.find((a) => !a.startsWith('-'));
  if (command === 'start' && workflow) {
    if (isWorkflow(workflow)) io.stdout.write(`\n${await inputFieldsHelp(workflow)}\n`);
    else info(io, `unknown workflow "${workflow}"${didYouMean(workflow, WORKFLOW_NAMES)}`);
  }
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined) {
      info(io, HELP);
      return EXIT.badInput;
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      const about = rest[0];
      if (about && COMMANDS[about]) await helpFor(io, about, rest.slice(1));
      else if (about) throw new UsageError(`unknown command "${about}"${didYouMean(about, COMMAND_ORDER)}`);
      else io.stdout.write(`${HELP}\n`);
      return EXIT.ok;
    }
    const spec = COMMANDS[command];
    if (!spec) {
      const hint = command.startsWith('-') ? `unknown option ${command} (options come after the command)` : `unknown command "${command}"`;
      throw new UsageError(`${hint}${didYouMean(command.replace(/^-+/, ''), COMMAND_ORDER)}\nsee: mass-refund --help`);
    }
    if (wantsHelp(rest)) {
      await helpFor(io, command, rest);
      return EXIT.ok;
    }
    return await run(io, command, parseCommand(spec, rest));
  } catch (error) {
    return reportError(io, error);
  }
}

function reportError(io: Io, error: unknown): number {
  if (error instanceof ValidationError) {
    info(io, `bad input:\n${error.issues.map((i) => `  ${i.field}: ${i.reason}`).join('\n')}`);
    printJson(io, { status: 'REJECTED', errors: error.issues });
    return EXIT.badInput;
  }
  if (error instanceof UsageError || error instanceof NotFoundError || error instanceof StackNotFoundError) {
    info(io, error.message);
    return EXIT.badInput;
  }
  const e = error as Error;
  if (e?.name === 'CredentialsProviderError') {
    info(io, `error: no AWS credentials (${e.message}); configure a profile or AWS_ACCESS_KEY_ID, or use --target local`);
    return EXIT.workflowFailed;
  }
  info(io, `error: ${e?.message ?? String(error)}`);
  return EXIT.workflowFailed;
}

