import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  InvalidExecutionInput,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  ValidationException,
  type DescribeExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { importText } from '../../lib/cli/import.ts';
import { connect } from '../../lib/cli/target.ts';
import { StepFunctionsEndpoint, startStepFunctionsEndpoint } from '../../lib/local/stepfunctions/server.ts';
import { LocalStack } from '../../lib/local/stepfunctions/stack.ts';
import { tableNamesByLogicalId } from '../../lib/local/tables.ts';
import type { CfnTemplate } from '../../lib/local/template.ts';
import { startAwsEndpoints, type AwsEndpoints } from '../support/aws-endpoints.ts';
import { cancellationDataset } from '../support/cancellation-data.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

const WORKFLOWS = ['CancelPerformance', 'CancelTickets', 'PartialRefund', 'SwitchRefundToManual', 'WriteOff', 'ReverseWriteOff', 'DispatchRefunds', 'ReconcileRefunds', 'SendEmails'];
const STATE_MACHINE_ARN = /^arn:aws:states:[a-z]{2}-[a-z]+-\d:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;
const EXECUTION_ARN = /^arn:aws:states:[a-z]{2}-[a-z]+-\d:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[^:\s]{1,80}$/;

let rt: TestRuntime;
let aws: AwsEndpoints;
let sfn: SFNClient;
let arns: Record<string, string>;

beforeAll(async () => {
  rt = await startTestRuntime();
  aws = await startAwsEndpoints(rt);
  sfn = new SFNClient({});
  expect((await importText(cancellationDataset('sf-'))).ok).toBe(true);
  const { stateMachines } = await sfn.send(new ListStateMachinesCommand({}));
  arns = Object.fromEntries((stateMachines ?? []).map((m) => [WORKFLOWS.find((w) => m.name?.endsWith(`-${w}`)) as string, m.stateMachineArn as string]));
});
afterAll(async () => {
  await aws?.endpoint.idle();
  await aws?.stop();
  sfn?.destroy();
  await rt?.stop();
});

async function untilDone(executionArn: string): Promise<DescribeExecutionCommandOutput> {
  for (;;) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') return d;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the local Step Functions endpoint through @aws-sdk/client-sfn', () => {
  it('lists one state machine per workflow, named after it, with ARNs shaped like AWS', async () => {
    // act
    const all = await sfn.send(new ListStateMachinesCommand({}));
    const first = await sfn.send(new ListStateMachinesCommand({ maxResults: 3 }));
    const rest = await sfn.send(new ListStateMachinesCommand({ maxResults: 100, nextToken: first.nextToken }));
    // assess
    const names = (all.stateMachines ?? []).map((m) => m.name as string);
    expect(names).toHaveLength(WORKFLOWS.length);
    for (const w of WORKFLOWS) expect(names.filter((n) => n.includes(w)).length, w).toBeGreaterThanOrEqual(1);
    expect(new Set(names).size).toBe(WORKFLOWS.length);
    for (const m of all.stateMachines ?? []) {
      expect(m.stateMachineArn).toMatch(STATE_MACHINE_ARN);
      expect(m.type).toBe('STANDARD');
      expect(m.creationDate).toBeInstanceOf(Date);
    }
    expect(first.stateMachines).toHaveLength(3);
    expect([...(first.stateMachines ?? []), ...(rest.stateMachines ?? [])].map((m) => m.name)).toEqual(names);
    expect(rest.nextToken).toBeUndefined();
  });

  it('describes a state machine with its synthesized definition, which links its input documentation', async () => {
    const d = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arns.WriteOff }));
    const definition = JSON.parse(d.definition ?? '{}') as { Comment?: string; StartAt?: string };
    expect(d.status).toBe('ACTIVE');
    expect(definition.StartAt).toBe('ContinuesRun'); // a continued execution resumes, a new run is validated
    expect(definition.Comment).toContain('docs/inputs/WriteOff.schema.json');
  });

  it('runs an execution of the synthesized definition: DescribeExecution output is the run report, the history is AWS-shaped', async () => {
    // prepare
    const input = { performanceId: 'sf-P1', reason: 'storm', requestedBy: 'ops' };
    // act
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: arns.CancelPerformance, name: 'sf-cancel-1', input: JSON.stringify(input) }));
    const done = await untilDone(started.executionArn as string);
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, maxResults: 1000 }));
    const newestFirst = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, reverseOrder: true, maxResults: 2 }));
    // assess
    expect(started.executionArn).toMatch(EXECUTION_ARN);
    expect(started.executionArn).toMatch(/:execution:[^:]*CancelPerformance[^:]*:sf-cancel-1$/);
    expect(done).toMatchObject({ status: 'SUCCEEDED', name: 'sf-cancel-1', stateMachineArn: arns.CancelPerformance, input: JSON.stringify(input) });
    expect(done.startDate).toBeInstanceOf(Date);
    expect(done.stopDate!.getTime()).toBeGreaterThanOrEqual(done.startDate!.getTime());
    const report = JSON.parse(done.output ?? '{}') as { runId: string; workflow: string; status: string; outcomes: Record<string, { count: number }> };
    expect(report).toMatchObject({ runId: 'sf-cancel-1', workflow: 'CancelPerformance', status: 'succeeded' });
    expect(report.outcomes.tickets_cancelled?.count).toBe(8);
    const events = history.events ?? [];
    expect(events[0]).toMatchObject({ id: 1, previousEventId: 0, type: 'ExecutionStarted' });
    expect(JSON.parse(events[0]?.executionStartedEventDetails?.input ?? '{}')).toEqual(input);
    expect(events.at(-1)).toMatchObject({ type: 'ExecutionSucceeded' });
    expect(JSON.parse(events.at(-1)?.executionSucceededEventDetails?.output ?? '{}')).toEqual(report);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events.find((e) => e.type === 'TaskStateEntered')?.stateEnteredEventDetails?.name).toBe('ValidateCancelInput');
    expect(events.filter((e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'CancelPage').length).toBeGreaterThanOrEqual(16);
    expect(events.some((e) => e.type === 'MapIterationStarted')).toBe(true);
    expect(newestFirst.events?.map((e) => e.id)).toEqual([events.length, events.length - 1]);
    expect(newestFirst.nextToken).toBeDefined();
  });

  it('lists executions newest first, filtered by status', async () => {
    // prepare
    const a = await sfn.send(new StartExecutionCommand({ stateMachineArn: arns.ReconcileRefunds, name: 'sf-rec-a', input: '{}' }));
    await untilDone(a.executionArn as string);
    const b = await sfn.send(new StartExecutionCommand({ stateMachineArn: arns.ReconcileRefunds, name: 'sf-rec-b', input: '{"runId":"nope"}' }));
    await untilDone(b.executionArn as string);
    // act
    const all = await sfn.send(new ListExecutionsCommand({ stateMachineArn: arns.ReconcileRefunds }));
    const failed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: arns.ReconcileRefunds, statusFilter: 'FAILED' }));
    // assess
    expect(all.executions?.map((e) => [e.name, e.status])).toEqual([
      ['sf-rec-b', 'FAILED'],
      ['sf-rec-a', 'SUCCEEDED'],
    ]);
    expect(failed.executions?.map((e) => e.name)).toEqual(['sf-rec-b']);
  });

  it('ends a rejected console input with the readable error alone, no JSON and no stack', async () => {
    // act
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: arns.CancelPerformance, input: JSON.stringify({ performanceId: 'sf-P404', requestedBy: 'ops' }) }));
    const done = await untilDone(started.executionArn as string);
    // assess
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('ValidationError');
    expect(done.cause).toBe('reason: is required');
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, reverseOrder: true, maxResults: 1 }));
    expect(history.events?.[0]).toMatchObject({ type: 'ExecutionFailed', executionFailedEventDetails: { error: 'ValidationError', cause: 'reason: is required' } });
  });

  it('stops a running execution: ABORTED, with the given error and cause', async () => {
    // prepare
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: arns.DispatchRefunds, input: JSON.stringify({ mode: 'simulate', from: '2026-01-01', to: '2027-01-01', requestedBy: 'ops' }) }));
    // act
    const stopped = await sfn.send(new StopExecutionCommand({ executionArn: started.executionArn, error: 'Operator', cause: 'wrong range' }));
    await aws.endpoint.idle();
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    const last = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, reverseOrder: true, maxResults: 1 }));
    // assess
    expect(stopped.stopDate).toBeInstanceOf(Date);
    expect(d).toMatchObject({ status: 'ABORTED', error: 'Operator', cause: 'wrong range' });
    expect(d.output).toBeUndefined();
    expect(last.events?.[0]?.type).toBe('ExecutionAborted');
  });

  it('answers errors in the service shape, so the SDK raises its own exceptions', async () => {
    const missing = `${arns.WriteOff!.replace(':stateMachine:', ':execution:')}:no-such-run`;
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: missing }))).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(sfn.send(new GetExecutionHistoryCommand({ executionArn: missing }))).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: arns.WriteOff!.replace('WriteOff', 'NoSuchWorkflow'), input: '{}' }))).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: arns.WriteOff, input: '{not json' }))).rejects.toBeInstanceOf(InvalidExecutionInput);
    await expect(sfn.send(new ListExecutionsCommand({}))).rejects.toBeInstanceOf(ValidationException);
    // An input over 256 KiB is refused at the API, as AWS does (nothing runs).
    const large = JSON.stringify({ requestedBy: 'ops', note: 'x'.repeat(262_144) });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: arns.WriteOff, name: 'sf-too-large', input: large }))).rejects.toThrow(/less than or equal to 262144/);
    // A name is used once per state machine: a finished one, or a different input, is refused.
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: arns.CancelPerformance, name: 'sf-cancel-1', input: '{}' }))).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it('answers StartExecution again with the running execution when name and input are the same, as AWS does', async () => {
    const input = JSON.stringify({ mode: 'simulate', from: '2026-01-01', to: '2027-01-01', requestedBy: 'ops' });
    const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: arns.DispatchRefunds, name: 'sf-same', input }));
    const again = await sfn.send(new StartExecutionCommand({ stateMachineArn: arns.DispatchRefunds, name: 'sf-same', input }));
    expect(again.executionArn).toBe(first.executionArn);
    expect((await untilDone(first.executionArn as string)).status).toBe('SUCCEEDED');
  });

  it('answers CloudFormation DescribeStacks with the stack outputs the CLI reads', async () => {
    // prepare
    const cfn = new CloudFormationClient({});
    // act
    const out = await cfn.send(new DescribeStacksCommand({ StackName: 'MassRefund' }));
    const missing = await cfn.send(new DescribeStacksCommand({ StackName: 'Other' })).catch((e: unknown) => e);
    // assess
    const outputs = Object.fromEntries((out.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
    for (const w of WORKFLOWS) expect(outputs[`${w}StateMachineArn`], w).toBe(arns[w]);
    expect(outputs.refundsTableName).toBe(`${rt.prefix}refunds`);
    expect(outputs.runsTableName).toBe(`${rt.prefix}runs`);
    expect(out.Stacks?.[0]?.StackStatus).toBe('CREATE_COMPLETE');
    expect(missing).toMatchObject({ name: 'ValidationError', message: 'Stack with id Other does not exist' });
    cfn.destroy();
  });

  it('serves the AWS CLI too (aws stepfunctions … --endpoint-url)', async () => {
    // prepare
    const run = promisify(execFile);
    const env = { ...process.env, ...aws.env, AWS_DEFAULT_REGION: aws.env.AWS_REGION, AWS_PAGER: '' };
    const cli = (...args: string[]) => run('aws', [...args, '--endpoint-url', aws.url, '--output', 'json'], { env }).then((r) => JSON.parse(r.stdout) as Record<string, unknown>);
    // act
    const listed = (await cli('stepfunctions', 'list-state-machines')) as { stateMachines: { name: string }[] };
    const started = (await cli('stepfunctions', 'start-execution', '--state-machine-arn', arns.ReconcileRefunds as string, '--name', 'sf-from-aws-cli', '--input', '{}')) as { executionArn: string };
    const done = await untilDone(started.executionArn);
    const described = (await cli('stepfunctions', 'describe-execution', '--execution-arn', started.executionArn)) as { status: string; output: string };
    // assess
    expect(listed.stateMachines.map((m) => m.name).sort()).toEqual(WORKFLOWS.map((w) => `MassRefund-${w}`).sort());
    expect(done.status).toBe('SUCCEEDED');
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output)).toMatchObject({ runId: 'sf-from-aws-cli', workflow: 'ReconcileRefunds' });
  });

  it('lets the CLI find the state machines of a stack deployed before they were outputs, by their names', async () => {
    // prepare: the same stack without the <Workflow>StateMachineArn outputs
    const template = structuredClone(rt.template) as unknown as CfnTemplate & { Outputs: Record<string, unknown> };
    for (const key of Object.keys(template.Outputs)) if (key.endsWith('StateMachineArn')) delete template.Outputs[key];
    const older = await startStepFunctionsEndpoint(new StepFunctionsEndpoint(new LocalStack({ template, tableNames: tableNamesByLogicalId(template, rt.prefix) }), rt.runner));
    // The CLI's own environment (this process) points at the older stack's endpoint for this test.
    vi.stubEnv('AWS_ENDPOINT_URL_SFN', older.url);
    vi.stubEnv('AWS_ENDPOINT_URL_CLOUDFORMATION', older.url);
    try {
      // act
      const stack = await connect({ target: 'aws' });
      // assess
      expect(stack.stateMachines).toEqual(arns);
      expect(stack.tables.refunds).toBe(`${rt.prefix}refunds`);
      stack.sfn.destroy();
    } finally {
      vi.unstubAllEnvs();
      await older.stop();
    }
  });
});
