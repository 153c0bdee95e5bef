/**
 * A run as one result, whatever number of executions it took: a run that outgrows one execution
 * continues in new ones (lib/core/continuation.ts); its report is the output of the last.
 */
import { continuedIn } from '../core/continuation.ts';
import { RunnerError, type ExecutionResult, type LocalRunner, type StartOptions } from './runner.ts';

export interface RunResult extends ExecutionResult {
  /** Every execution of the run, first to last (one, unless the run continued). */
  parts: ExecutionResult[];
}

/** Waits for the executions a run continued in; the result is the last one's, with every part. */
export async function followRun(runner: Pick<LocalRunner, 'nestedResult'>, first: ExecutionResult): Promise<RunResult> {
  const parts = [first];
  let last = first;
  for (;;) {
    const next = last.status === 'SUCCEEDED' ? continuedIn(last.output) : undefined;
    if (!next) return { ...last, parts };
    const result = runner.nestedResult(next.executionArn);
    if (!result) throw new RunnerError(`run ${first.name} continued in ${next.executionArn}, which this runner did not start`);
    last = await result;
    parts.push(last);
  }
}

/** Starts a workflow and follows its run to its last execution. */
export async function startRun(runner: LocalRunner, workflow: string, input: unknown, opts: StartOptions = {}): Promise<RunResult> {
  return followRun(runner, await runner.start(workflow, input, opts));
}
