/** `start` and `status`: a workflow as a Step Functions execution, followed or looked up later. */
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { readFileSync } from 'node:fs';
import { RunRepository } from '../adapters/dynamodb/runs.ts';
import { ValidationError } from '../core/errors.ts';
import { didYouMean } from './args.ts';
import { findRun, follow, outcomeOf, partsOf, snapshotOf, startRun, type RunOutcome } from './executions.ts';
import { formatDuration, reportSummary, type ReportLike } from './format.ts';
import { EXIT, info, printJson, UsageError, wantsText, type Io } from './io.ts';
import { isWorkflow, WORKFLOW_NAMES } from './inputs.ts';
import { ProgressDisplay, progressPlan, progressText } from './progress.ts';
import type { StackConnection } from './target.ts';
import { followedByEmails, followUpName, SENDER_WORKFLOW } from '../local/follow-ups.ts';

export { BAD_INPUT_ERRORS, newExecutionName, scheduleInput } from './executions.ts';

/** The console input: `--input JSON` or `--input-file F` (not both); `{}` when neither. */
export function readInput(flags: { input?: string; 'input-file'?: string }): unknown {
  if (flags.input !== undefined && flags['input-file'] !== undefined) throw new UsageError('give --input or --input-file, not both');
  let raw: string | undefined = flags.input;
  if (flags['input-file'] !== undefined) {
    try {
      raw = readFileSync(flags['input-file'], 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --input-file ${flags['input-file']}: ${(error as Error).message}`);
    }
  }
  if (raw === undefined) return {};
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new ValidationError([{ field: '(input)', reason: `not valid JSON: ${(error as Error).message}` }]);
  }
}

export function requireWorkflow(name: string): string {
  if (!isWorkflow(name)) throw new UsageError(`unknown workflow "${name}"${didYouMean(name, WORKFLOW_NAMES)}`);
  return name;
}

/** The command that approves a simulation, as the operator types it for this target. */
export function approveCommand(stack: Pick<StackConnection, 'target' | 'name'>, simulationRunId: string, pass: string): string {
  const target = stack.target === 'aws' ? ` --target aws${stack.name !== 'MassRefund' ? ` --stack ${stack.name}` : ''}` : '';
  return `mass-refund approve ${simulationRunId} --pass ${pass}${target}`;
}

/** What a finished run says beyond its report: the approval a stopped nightly run waits for. */
export function nextStep(stack: Pick<StackConnection, 'target' | 'name'>, report: Record<string, unknown> | undefined): string | undefined {
  if (report?.status !== 'awaiting_approval' || typeof report.simulationRunId !== 'string') return undefined;
  const mode = (report.input as { mode?: string } | undefined)?.mode;
  return `awaiting approval: check the simulation, then run\n  ${approveCommand(stack, report.simulationRunId, mode === 'credit' ? 'credit' : 'psp')}`;
}

export interface RunOptions {
  name?: string;
  wait?: boolean;
  json?: boolean;
  pretty?: boolean;
}

/** Starts a workflow and, unless --no-wait, follows it to its end with progress on stderr; prints the result. */
export async function runWorkflow(io: Io, stack: StackConnection, workflow: string, input: unknown, opts: RunOptions = {}): Promise<RunOutcome> {
  const started = await startRun(stack, workflow, input, opts.name);
  const text = wantsText(io, opts);
  if (opts.wait === false) {
    const printed = { runId: started.runId, workflow, status: 'running', executionArn: started.executionArn, startedAt: started.startedAt };
    if (text) io.stdout.write(`${started.runId}\n`);
    else printJson(io, printed);
    info(io, `started ${workflow} run ${started.runId}; see where it stands with: mass-refund status ${started.runId}${stack.target === 'aws' ? ' --target aws' : ''}`);
    return { exitCode: EXIT.ok, printed };
  }
  const plan = await progressPlan(workflow, input);
  const display = new ProgressDisplay(io.stderr, workflow);
  const d = await follow(stack, started.executionArn, { plan, onProgress: (s, status) => display.update(s, status) });
  display.done();
  await followLocalEmails(io, stack, workflow, input, started.runId);
  const outcome = outcomeOf(workflow, started.runId, d);
  printOutcome(io, stack, outcome, text);
  return outcome;
}

/**
 * The local runtime's endpoint starts SendEmails right after a run that owes emails, named after
 * it (on AWS a schedule does, within minutes, under other names): when there is such a run, wait
 * for it, so that what the command printed is also in `export emails`. Whatever the target: the
 * AWS target pointed at the local endpoints finds it too; on AWS there is none.
 */
async function followLocalEmails(io: Io, stack: StackConnection, workflow: string, input: unknown, runId: string): Promise<void> {
  const sender = stack.stateMachines[SENDER_WORKFLOW];
  if (!sender || !followedByEmails(workflow, input)) return;
  const executionArn = `${sender.replace(':stateMachine:', ':execution:')}:${followUpName(runId)}`;
  try {
    const d = await follow(stack, executionArn);
    if (d.status !== 'SUCCEEDED') info(io, `SendEmails after ${runId} ended ${String(d.status)}: the emails it owes stay in the outbox for the next run`);
  } catch (error) {
    if ((error as Error).name !== 'ExecutionDoesNotExist') throw error;
  }
}

export function printOutcome(io: Io, stack: StackConnection, outcome: RunOutcome, text: boolean): void {
  if (text) {
    if (outcome.report) io.stdout.write(`${reportSummary(outcome.report as ReportLike)}\n`);
    else {
      const p = outcome.printed;
      io.stdout.write(`${String(p.workflow)} ${String(p.runId)}: ${String(p.status)}${p.error ? ` (${String(p.error)})` : ''}\n${p.message ? `${String(p.message)}\n` : ''}`);
    }
  } else printJson(io, outcome.printed);
  const next = nextStep(stack, outcome.report);
  if (next) info(io, next);
}

export interface StartFlags {
  name?: string;
  'no-wait'?: boolean;
  json?: boolean;
  pretty?: boolean;
}

export async function cmdStart(io: Io, stack: StackConnection, workflow: string, input: unknown, flags: StartFlags): Promise<number> {
  const outcome = await runWorkflow(io, stack, workflow, input, { name: flags.name, wait: !flags['no-wait'], json: flags.json, pretty: flags.pretty });
  return outcome.exitCode;
}

/** The run's status in the contract's words (lowercase), from its execution and report. */
export function runStatusOf(executionStatus: string | undefined, report: Record<string, unknown> | undefined): string {
  if (executionStatus === 'RUNNING' || executionStatus === 'PENDING_REDRIVE') return 'running';
  if (executionStatus === 'SUCCEEDED') return typeof report?.status === 'string' ? report.status : 'succeeded';
  return (executionStatus ?? 'unknown').toLowerCase();
}

/**
 * Where a run stands: `status` in the contract's words (running, succeeded, completed_with_errors,
 * failed, awaiting_approval, aborted, timed_out), the execution, progress while running, the
 * report once done. Exit 0 while running or done well, 1 when it failed, 2 for an unknown run.
 */
export async function cmdStatus(io: Io, stack: StackConnection, idOrArn: string, flags: { wait?: boolean; json?: boolean; pretty?: boolean }): Promise<number> {
  const text = wantsText(io, flags);
  const found = await findRun(stack, idOrArn);
  if (!found) {
    // A scheduled run's own simulation is a run without an execution of its own.
    const record = idOrArn.startsWith('arn:') ? undefined : await new RunRepository().get(idOrArn);
    if (!record) {
      info(io, `no run "${idOrArn}" in the stack ${stack.name}`);
      return EXIT.badInput;
    }
    const printed = { runId: record.runId, workflow: record.workflow, status: record.status, startedAt: record.startedAt, finishedAt: record.finishedAt ?? null, ...(record.report ? { report: record.report } : {}) };
    if (text) io.stdout.write(record.report ? `${reportSummary(record.report as unknown as ReportLike)}\n` : `${record.workflow} ${record.runId}: ${record.status}\n`);
    else printJson(io, printed);
    return record.status === 'failed' ? EXIT.workflowFailed : EXIT.ok;
  }
  const { runId, workflow } = found;
  // A run that outgrew one execution is carried by its latest (the first's input is the run's).
  const input = found.execution.input ? (JSON.parse(found.execution.input) as unknown) : undefined;
  let parts = await partsOf(stack, found.execution);
  let execution = parts.at(-1) ?? found.execution;
  const plan = await progressPlan(workflow, input);
  if (execution.status === 'RUNNING' && flags.wait) {
    const display = new ProgressDisplay(io.stderr, workflow);
    execution = await follow(stack, found.executionArn, { plan, onProgress: (s, st) => display.update(s, st) });
    display.done();
    // The first execution's description is from before it ended: read it again to see where the run went on.
    parts = await partsOf(stack, await stack.sfn.send(new DescribeExecutionCommand({ executionArn: found.executionArn })));
  }
  const executionArn = execution.executionArn ?? found.executionArn;
  const base = {
    runId,
    workflow,
    executionArn,
    executionStatus: execution.status,
    startedAt: found.execution.startDate?.toISOString() ?? null,
    ...(parts.length > 1 ? { executions: parts.length } : {}),
  };
  if (execution.status === 'RUNNING') {
    const progress = await snapshotOf(stack, parts.map((p) => p.executionArn as string), plan);
    if (text) {
      const running = base.startedAt ? `, running for ${formatDuration(Date.now() - Date.parse(base.startedAt))}` : '';
      io.stdout.write(`${progressText(`${workflow} ${runId}`, progress)}${running}\n`);
    } else printJson(io, { ...base, status: 'running', progress });
    return EXIT.ok;
  }
  const outcome = outcomeOf(workflow, runId, execution);
  const status = runStatusOf(execution.status, outcome.report);
  if (text) printOutcome(io, stack, outcome, true);
  else {
    const detail = outcome.report ? { report: outcome.report } : { error: outcome.printed.error ?? null, message: outcome.printed.message ?? '' };
    printJson(io, { ...base, status, finishedAt: execution.stopDate?.toISOString() ?? null, ...detail });
    const next = nextStep(stack, outcome.report);
    if (next) info(io, next);
  }
  return outcome.exitCode;
}
