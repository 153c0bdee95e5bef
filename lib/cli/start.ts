import { randomBytes } from 'node:crypto';
import { scheduledDispatchInput, SCHEDULES, type ScheduleName } from '../core/dispatch.ts';
import { lambdaErrorMessage } from '../core/errors.ts';
import { localEnvironment, stageTuning } from '../local/env.ts';
import { runnerForLocalRuntime } from '../local/local-runner.ts';
import type { ExecutionResult, LocalExecutionEvent, LocalRunner } from '../local/runner.ts';
import { endpointsOf, readState } from '../local/runtime.ts';
import { synthesizeTemplate } from '../local/synth.ts';
import { EXIT, Progress, UsageError } from './io.ts';

/** Errors raised before anything is written: the CLI answers them with exit code 2. */
export const BAD_INPUT_ERRORS = new Set(['ValidationError', 'NotFoundError', 'ConflictError', 'SimulationMismatchError']);

let cachedRunner: LocalRunner | undefined;

/** The runner over the synthesized stack, pointed at the running local runtime. */
export async function localRunner(): Promise<LocalRunner> {
  if (cachedRunner) return cachedRunner;
  const state = readState();
  if (!state) throw new UsageError('the local runtime is not running: run `mass-refund local up`');
  const synth = await synthesizeTemplate();
  cachedRunner = runnerForLocalRuntime({ synth, tablePrefix: state.tablePrefix, env: localEnvironment(endpointsOf(state), state.tablePrefix), functionEnv: stageTuning() });
  return cachedRunner;
}

/** Readable, sortable run ids: `cancel-performance-20261125T203312-3f9a`. */
export function newExecutionName(workflow: string, now = new Date()): string {
  const kebab = workflow.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  return `${kebab}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/**
 * `--schedule nightly`: the input the CDK schedule sends (`{schedule, mode, requestedBy}`), with
 * `--input` adding or overriding fields such as `{"mode":"psp"}`.
 */
export function scheduleInput(workflow: string, schedule: string, input: unknown): Record<string, unknown> {
  if (workflow !== 'DispatchRefunds') throw new UsageError('--schedule applies to DispatchRefunds only');
  if (!(SCHEDULES as readonly string[]).includes(schedule)) throw new UsageError(`--schedule must be one of ${SCHEDULES.join(', ')}`);
  const extra = input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  return { ...scheduledDispatchInput(schedule as ScheduleName), ...extra };
}

export interface LocalStartResult {
  result: ExecutionResult;
  printed: unknown;
  exitCode: number;
}

export async function runWorkflowLocally(
  workflow: string,
  input: unknown,
  opts: { name?: string; schedule?: string; runner?: LocalRunner; quiet?: boolean } = {},
): Promise<LocalStartResult> {
  const runner = opts.runner ?? (await localRunner());
  if (!runner.workflows().includes(workflow)) {
    throw new UsageError(`unknown workflow "${workflow}"; the stack has: ${runner.workflows().join(', ')}`);
  }
  if (opts.schedule !== undefined) input = scheduleInput(workflow, opts.schedule, input);
  const name = opts.name ?? newExecutionName(workflow);
  const progress = new Progress(workflow);
  let stages = 0;
  const onEvent = (e: LocalExecutionEvent) => {
    if (e.type === 'StateExited') progress.update(++stages, undefined, 'states');
  };
  const result = await runner.start(workflow, input, { name, onEvent: opts.quiet ? undefined : onEvent });
  progress.done();
  if (result.status === 'SUCCEEDED') return { result, printed: result.output, exitCode: EXIT.ok };
  const printed = {
    status: result.status,
    workflow,
    runId: name,
    error: result.error,
    message: lambdaErrorMessage(result.cause),
  };
  return { result, printed, exitCode: result.error && BAD_INPUT_ERRORS.has(result.error) ? EXIT.badInput : EXIT.workflowFailed };
}
