import { startRun, type RunResult } from './continued-runs.ts';
import type { LocalRunner, StartOptions } from './runner.ts';

/**
 * Workflows that can leave emails in the outbox (money moved, tickets cancelled, late failures).
 * On AWS a schedule starts SendEmails every few minutes; locally nothing runs in the background,
 * so SendEmails runs right after each of these, through its synthesized state machine.
 */
export const OWE_EMAILS: ReadonlySet<string> = new Set(['CancelPerformance', 'CancelTickets', 'PartialRefund', 'DispatchRefunds', 'ReconcileRefunds']);
export const SENDER_WORKFLOW = 'SendEmails';

export interface FollowedExecution {
  /** The run, to its last execution (a run that outgrows one execution continues in new ones). */
  result: RunResult;
  /** The SendEmails run that followed, if any (its report says what was sent). */
  emails?: RunResult;
}

/** Runs a workflow to the end of its run, then SendEmails when the workflow can owe emails (whatever its outcome: a failed run may have moved money). */
export async function startWithEmails(runner: LocalRunner, workflow: string, input: unknown, opts: StartOptions & { beforeEmails?: () => void } = {}): Promise<FollowedExecution> {
  const { beforeEmails, ...options } = opts;
  const result = await startRun(runner, workflow, input, options);
  // A simulation changes nothing, so nothing new is owed (and nothing is sent after it).
  if (!followedByEmails(workflow, input) || !runner.workflows().includes(SENDER_WORKFLOW)) return { result };
  beforeEmails?.();
  // Named after the run (its first execution), whichever execution ended it.
  const runId = result.parts[0]?.name ?? result.name;
  const emails = await startRun(runner, SENDER_WORKFLOW, { requestedBy: `local:after ${runId}` }, { name: followUpName(runId) });
  return { result, emails };
}

/** Whether SendEmails follows this execution locally (a workflow that owes emails; a simulation owes none). */
export function followedByEmails(workflow: string, input: unknown): boolean {
  const simulation = workflow === 'DispatchRefunds' && (input as { mode?: unknown } | null)?.mode === 'simulate';
  return OWE_EMAILS.has(workflow) && !simulation;
}

/** The execution name of the SendEmails run that follows an execution locally. */
export function followUpName(executionName: string): string {
  return `send-emails-after-${executionName}`.slice(0, 80);
}
