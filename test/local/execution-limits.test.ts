import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { followRun } from '../../lib/local/continued-runs.ts';
import { LocalRunner, type LocalExecutionEvent } from '../../lib/local/runner.ts';
import { historyEventCount, historyEventsOf } from '../../lib/local/stepfunctions/history.ts';
import { StepFunctionsEndpoint } from '../../lib/local/stepfunctions/server.ts';
import { LocalStack } from '../../lib/local/stepfunctions/stack.ts';
import type { CfnTemplate } from '../../lib/local/template.ts';
import { clearCalls, recordedCalls } from './fixtures/functions/calls.ts';
import { LIMITS_ROOT, synthLimitsFixture } from './fixtures/limits-app.ts';

let template: object;
beforeAll(() => {
  template = synthLimitsFixture();
});
beforeEach(() => clearCalls());

// The fixture's handlers are source modules (the limits are the runner's, whatever runs the Tasks).
const runner = () => new LocalRunner({ template, projectRoot: LIMITS_ROOT, handlers: 'source' });
const HISTORY = "The execution reached the maximum number of history events (25000).";
const blob = (kib: number) => 'x'.repeat(kib * 1024);

describe('AWS execution limits in the local runtime', () => {
  it('fails an execution whose history would pass 25,000 events as AWS does: States.Runtime, event 25,000 the failure, nothing catches it', async () => {
    // prepare
    const r = runner();
    // act
    const result = await r.start('ChoiceLoop', {});
    // assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime', cause: HISTORY });
    expect(result.stats.historyEvents).toBe(25_000);
  });

  it('invokes no Lambda once the history is full: the last call is the one whose TaskStarted is event 24,999', async () => {
    // prepare: ExecutionStarted + Pass = 3 events, then 9 a turn (Task 5, Choice 2, Pass 2); a call needs its TaskStateEntered, TaskScheduled and TaskStarted recorded
    const r = runner();
    let calls = 0;
    while (3 + 9 * calls + 3 <= 24_999) calls++;
    // act
    const result = await r.start('TaskLoop', {});
    await r.idle();
    // assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime', cause: HISTORY });
    expect(recordedCalls('Step')).toHaveLength(calls);
    expect(result.stats.lambdaInvocations).toBe(calls);
    expect(result.stats.historyEvents).toBe(25_000);
  });

  it('shows the cut in GetExecutionHistory as AWS does: event 24,999 the last state event, 25,000 ExecutionFailed', async () => {
    // prepare
    const r = runner();
    const stack = new LocalStack({ template: template as CfnTemplate, tableNames: {} });
    const endpoint = new StepFunctionsEndpoint(stack, r);
    const machine = stack.machines.find((m) => m.workflow === 'ChoiceLoop')!;
    // act
    const { executionArn } = (await endpoint.call('StartExecution', { stateMachineArn: machine.arn, name: 'loop-1' })) as { executionArn: string };
    await endpoint.idle();
    const newest = (await endpoint.call('GetExecutionHistory', { executionArn, reverseOrder: true, maxResults: 2 })) as { events: { id: number; type: string; executionFailedEventDetails?: unknown }[] };
    const described = (await endpoint.call('DescribeExecution', { executionArn })) as { status: string; error: string; cause: string };
    // assess
    expect(described).toMatchObject({ status: 'FAILED', error: 'States.Runtime', cause: HISTORY });
    expect(newest.events[0]).toMatchObject({ id: 25_000, type: 'ExecutionFailed', executionFailedEventDetails: { error: 'States.Runtime', cause: HISTORY } });
    expect(newest.events[1]?.id).toBe(24_999);
    expect(newest.events[1]?.type).toMatch(/^(Pass|Choice)State(Entered|Exited)$/);
  });

  it('fails a state whose output passes 256 KiB with States.DataLimitExceeded, which States.ALL does not catch', async () => {
    // prepare
    const r = runner();
    const events: LocalExecutionEvent[] = [];
    // act
    const small = await r.start('BigOutput', { blob: blob(100) });
    const big = await r.start('BigOutput', { blob: blob(129) }, { onEvent: (e) => events.push(e) });
    // assess
    expect(small.status).toBe('SUCCEEDED');
    expect(big).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded', cause: "The state/task 'Twice' returned a result with a size exceeding the maximum number of bytes service limit." });
    expect(events.some((e) => (e['state'] as { name?: string } | undefined)?.name === 'PassCaught')).toBe(false);
    expect(events.some((e) => (e['state'] as { name?: string } | undefined)?.name === 'AfterTwice')).toBe(false);
  });

  it('fails a Task whose input after Parameters passes 256 KiB before calling it, and a Map whose results do', async () => {
    // prepare
    const r = runner();
    // act
    const task = await r.start('BigTaskInput', { blob: blob(129) });
    const map = await r.start('BigMapOutput', { blob: blob(100), parts: [1, 2, 3] });
    // assess
    expect(task).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded', cause: "The state/task 'SendTwice' has an input with a size exceeding the maximum number of bytes service limit." });
    expect(recordedCalls('Step')).toHaveLength(0);
    expect(map).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded', cause: "The state/task 'EachBlob' returned a result with a size exceeding the maximum number of bytes service limit." });
  });
});

describe("the history as AWS records it (one event model for GetExecutionHistory and the limit)", () => {
  const at = (type: string, state?: { name: string; type: string }, extra: Record<string, unknown> = {}) => ({ type, timestamp: 1_000, ...(state ? { state: { ...state, input: {}, output: {} } } : {}), ...extra });
  const task = { name: 'CancelPage', type: 'Task' };
  const cases: [string, LocalExecutionEvent, string[]][] = [
    ['a Task entered: its first attempt scheduled and started', at('StateEntered', task), ['TaskStateEntered', 'TaskScheduled', 'TaskStarted']],
    ['a Task that succeeded', at('StateExited', task), ['TaskSucceeded', 'TaskStateExited']],
    ['a Task attempt that failed', at('StateFailed', task, { Error: 'TransientStoreError', Cause: '{}' }), ['TaskFailed']],
    ['a Task that timed out', at('StateFailed', task, { Error: 'States.Timeout', Cause: '' }), ['TaskTimedOut']],
    ['a retry: the next attempt', at('StateRetried', task), ['TaskScheduled', 'TaskStarted']],
    ['a Map entered', at('StateEntered', { name: 'CancelShards', type: 'Map' }), ['MapStateEntered', 'MapStateStarted']],
    ['a Map exited', at('StateExited', { name: 'CancelShards', type: 'Map' }), ['MapStateSucceeded', 'MapStateExited']],
    ['a Choice', at('StateEntered', { name: 'ShardDone', type: 'Choice' }), ['ChoiceStateEntered']],
    ['a Pass exited', at('StateExited', { name: 'ShardFinished', type: 'Pass' }), ['PassStateExited']],
    ['a Map iteration', at('MapIterationStarted', undefined, { parentState: { name: 'CancelShards' }, index: 3 }), ['MapIterationStarted']],
    ['a Catch', at('StateCaught', task), []],
    ['a Fail state that failed', at('StateFailed', { name: 'Failed', type: 'Fail' }), []],
    ['the end', at('ExecutionSucceeded', undefined, { output: {} }), ['ExecutionSucceeded']],
  ];
  it.each(cases)('%s', (_label, event, types) => {
    // act
    const events = historyEventsOf(event, 'arn:aws:iam::000000000000:role/x');
    // assess
    expect(events.map((e) => e.type)).toEqual(types);
    expect(historyEventCount(event)).toBe(types.length);
  });
});

describe('states:startExecution (Request Response) in the local runtime', () => {
  it('starts an execution of its own state machine ($$.StateMachine.Id) and goes on; the run is followed to its last execution', async () => {
    // prepare
    const r = runner();
    // act
    const first = await r.start('Relay', { run: 'relay-a', hops: 0, of: 3 }, { name: 'relay-a' });
    const run = await followRun(r, first);
    // assess
    expect(first.status).toBe('SUCCEEDED');
    expect(first.output).toEqual({ continuedIn: { executionArn: expect.stringMatching(/:execution:Relay:relay-a-hop0$/) } });
    expect(run.parts.map((p) => p.name)).toEqual(['relay-a', 'relay-a-hop0', 'relay-a-hop1', 'relay-a-hop2']);
    expect(run.output).toEqual({ arrivedAt: 3 });
    expect(recordedCalls('Step').map((c) => c.event)).toEqual([{ hops: 0 }, { hops: 1 }, { hops: 2 }, { hops: 3 }]);
  });

  it('refuses a name already used with StepFunctions.ExecutionAlreadyExistsException, which Catch can route', async () => {
    // prepare: an execution named as the relay would name its next one
    const r = runner();
    await r.start('Relay', { run: 'other', hops: 5, of: 5 }, { name: 'relay-b-hop0' });
    // act
    const result = await r.start('Relay', { run: 'relay-b', hops: 0, of: 2 }, { name: 'relay-b' });
    // assess
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { refused: 'StepFunctions.ExecutionAlreadyExistsException' } });
  });

  it('through the local endpoint, the executions it starts are listed and described like any other', async () => {
    // prepare
    const r = runner();
    const stack = new LocalStack({ template: template as CfnTemplate, tableNames: {} });
    const endpoint = new StepFunctionsEndpoint(stack, r);
    const machine = stack.machines.find((m) => m.workflow === 'Relay')!;
    // act
    await endpoint.call('StartExecution', { stateMachineArn: machine.arn, name: 'relay-c', input: JSON.stringify({ run: 'relay-c', hops: 0, of: 2 }) });
    await endpoint.idle();
    const listed = (await endpoint.call('ListExecutions', { stateMachineArn: machine.arn })) as { executions: { name: string; status: string }[] };
    const last = (await endpoint.call('DescribeExecution', { executionArn: stack.executionArn(machine, 'relay-c-hop1') })) as { status: string; output: string; input: string };
    // assess
    expect(listed.executions.map((e) => [e.name, e.status])).toEqual([
      ['relay-c-hop1', 'SUCCEEDED'],
      ['relay-c-hop0', 'SUCCEEDED'],
      ['relay-c', 'SUCCEEDED'],
    ]);
    expect(JSON.parse(last.output)).toEqual({ arrivedAt: 2 });
    expect(JSON.parse(last.input)).toMatchObject({ run: 'relay-c', hops: 2, of: 2, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: expect.stringMatching(/:execution:Relay:relay-c-hop0$/) });
  });
});
