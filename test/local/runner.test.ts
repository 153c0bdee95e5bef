import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExecutionAlreadyExistsError, LocalRunner, RunnerError, type LocalExecutionEvent } from '../../lib/local/runner.ts';
import { UnsupportedDefinitionError } from '../../lib/local/preflight.ts';
import { FIXTURE_ROOT, MAIN_WORKFLOW, synthFixture, type FixtureTemplates } from './fixtures/app.ts';
import { clearCalls, recordedCalls } from './fixtures/functions/calls.ts';

let templates: FixtureTemplates;
let ordersTableId: string;

beforeAll(() => {
  templates = synthFixture();
  const resources = (templates.main as { Resources: Record<string, { Type: string }> }).Resources;
  ordersTableId = Object.keys(resources).find((id) => resources[id]?.Type === 'AWS::DynamoDB::Table') ?? '';
});

beforeEach(() => clearCalls());

function mainRunner(extra: Partial<ConstructorParameters<typeof LocalRunner>[0]> = {}): LocalRunner {
  return new LocalRunner({
    template: templates.main,
    projectRoot: FIXTURE_ROOT,
    // The fixture's functions are inline stand-ins; the runner calls the fixture modules in-process
    // (test/local/containers.test.ts runs bundles in containers).
    handlers: 'source',
    tableNames: { [ordersTableId]: 'orders-local' },
    ...extra,
  });
}

const input = (over: Record<string, unknown> = {}) => ({
  performanceId: 'perf-1',
  shardCount: 3,
  ordersPerShard: 25,
  pageSize: 10,
  failTimes: 0,
  ...over,
});

function stateEvents(events: LocalExecutionEvent[], type: string, stateName: string) {
  return events.filter((e) => e.type === type && (e['state'] as { name: string }).name === stateName) as (LocalExecutionEvent & {
    state: { name: string; input: unknown; output?: unknown };
  })[];
}

describe('LocalRunner on the synthesized fixture app', () => {
  it('runs the whole workflow: shards listed, each shard paged to the end, run confirmed', async () => {
    // prepare
    const runner = mainRunner();
    const events: LocalExecutionEvent[] = [];
    // act
    const result = await runner.start(MAIN_WORKFLOW, input(), { name: 'run-1', onEvent: (e) => events.push(e) });
    // assess
    expect(runner.workflows()).toEqual([MAIN_WORKFLOW]);
    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as Record<string, unknown>;
    expect(output['totalProcessed']).toBe(75);
    expect((output['received'] as { shards: unknown[] }).shards).toEqual(
      [0, 1, 2].map((shard) => ({ shard, processed: 25, pages: 3, statusCode: 200, version: '$LATEST' })),
    );
    expect(output['stage']).toBe('fixture');
    expect(output['functionName']).toMatch(/^ConfirmRunFn/);
    expect(output['invokedFunctionArn']).toMatch(/^arn:aws:lambda:local:000000000000:function:ConfirmRunFn/);
    expect(output['remainingMs']).toBeGreaterThan(25_000);
    expect(output['remainingMs']).toBeLessThanOrEqual(30_000);
    // Table Ref in the function environment resolved through tableNames.
    const plan = (stateEvents(events, 'StateExited', 'ListShards')[0]?.state.output as { plan: { ordersTable: string } }).plan;
    expect(plan.ordersTable).toBe('orders-local');
  });

  it('round-trips handler results through JSON like a real invocation (Date -> string, undefined dropped)', async () => {
    // prepare
    const runner = mainRunner();
    // act
    const result = await runner.start(MAIN_WORKFLOW, input());
    // assess
    const output = result.output as Record<string, unknown>;
    expect(output['confirmedAt']).toBe('1970-01-01T00:00:00.000Z');
    expect('note' in output).toBe(false);
  });

  it('gives lambda:invoke handlers exactly the Payload, while ResultSelector sees the {Payload, StatusCode...} response', async () => {
    // prepare
    const runner = mainRunner();
    const events: LocalExecutionEvent[] = [];
    // act
    await runner.start(MAIN_WORKFLOW, input({ shardCount: 1, ordersPerShard: 15 }), { onEvent: (e) => events.push(e) });
    // assess
    const pageCalls = recordedCalls('PageOrders');
    expect(pageCalls.map((c) => c.event)).toEqual([
      { shard: 0, total: 15, pageSize: 10, cursor: 0, processed: 0, pages: 0 },
      { shard: 0, total: 15, pageSize: 10, cursor: 10, processed: 10, pages: 1 },
    ]);
    const firstExit = stateEvents(events, 'StateExited', 'PageOrders')[0]?.state.output as { last: unknown };
    expect(firstExit.last).toEqual({
      page: { shard: 0, total: 15, pageSize: 10, cursor: 10, processed: 10, pages: 1, done: false },
      statusCode: 200,
      version: '$LATEST',
    });
    // Bare function ARN resource: the handler gets the effective Parameters, the state gets the raw result.
    expect(recordedCalls('ListShards').map((c) => c.event)).toEqual([{ performanceId: 'perf-1', shardCount: 1, ordersPerShard: 15 }]);
    const listed = stateEvents(events, 'StateExited', 'ListShards')[0]?.state.output as { plan: Record<string, unknown> };
    expect(Object.keys(listed.plan).sort()).toEqual(['ordersTable', 'performanceId', 'shards']);
    // Each invocation gets its own request id, as distinct Lambda invocations do.
    expect(new Set(recordedCalls().map((c) => c.awsRequestId)).size).toBe(recordedCalls().length);
  });

  it('passes the Context Object: execution id and name reach the handler', async () => {
    // prepare
    const runner = mainRunner();
    // act
    const result = await runner.start(MAIN_WORKFLOW, input(), { name: 'cancel-perf-1' });
    // assess
    expect(result.name).toBe('cancel-perf-1');
    expect(result.executionArn).toMatch(/^arn:aws:states:local:000000000000:execution:RefundMachine[A-Z0-9]+:cancel-perf-1$/);
    const received = (result.output as { received: { executionName: string; executionId: string } }).received;
    expect(received.executionName).toBe('cancel-perf-1');
    expect(received.executionId).toBe(result.executionArn);
  });

  it('surfaces a typed handler error as AWS does: Error = error name, Cause = Lambda error JSON, routed by Catch', async () => {
    // prepare
    const runner = mainRunner();
    const events: LocalExecutionEvent[] = [];
    // act
    const result = await runner.start(MAIN_WORKFLOW, input({ shardCount: 0 }), { onEvent: (e) => events.push(e) });
    // assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('BadInput');
    const cause = JSON.parse(result.cause ?? '') as { errorType: string; errorMessage: string; trace: string[] };
    expect(Object.keys(cause)).toEqual(['errorType', 'errorMessage', 'trace']);
    expect(cause.errorType).toBe('BadInput');
    expect(cause.errorMessage).toBe('shardCount must be a positive integer, got 0');
    expect(cause.trace[0]).toBe('BadInput: shardCount must be a positive integer, got 0');
    expect(stateEvents(events, 'StateCaught', 'ListShards')).toHaveLength(1);
    expect(stateEvents(events, 'StateEntered', 'RejectInput')).toHaveLength(1);
    expect(recordedCalls('PageOrders')).toHaveLength(0);
  });

  it('retries a transient error and succeeds, without sleeping the real intervals or the 1 h Wait', async () => {
    // prepare
    const runner = mainRunner();
    const events: LocalExecutionEvent[] = [];
    // act
    const result = await runner.start(MAIN_WORKFLOW, input({ failTimes: 2 }), { onEvent: (e) => events.push(e) });
    // assess
    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as { attempts: number }).attempts).toBe(3);
    expect(recordedCalls('ConfirmRun')).toHaveLength(3);
    expect(stateEvents(events, 'StateRetried', 'ConfirmRun')).toHaveLength(2);
    expect(result.stats.retries).toBe(2);
    expect(result.stats.durationMs).toBeLessThan(2_000); // AWS would wait 1 s + 2 s + 1 h
  });

  it('fails the execution with the handler error once retries are exhausted', async () => {
    // prepare
    const runner = mainRunner();
    // act
    const result = await runner.start(MAIN_WORKFLOW, input({ failTimes: 10 }));
    // assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TransientError');
    expect(JSON.parse(result.cause ?? '{}')).toMatchObject({ errorType: 'TransientError', errorMessage: 'confirmation store busy (attempt 4)' });
    expect(recordedCalls('ConfirmRun')).toHaveLength(4); // 1 + MaxAttempts 3
  });

  it('reports plausible stats: transitions, invocations, history length, largest payload', async () => {
    // prepare
    const runner = mainRunner();
    const events: LocalExecutionEvent[] = [];
    // act
    const result = await runner.start(MAIN_WORKFLOW, input({ failTimes: 1 }), { onEvent: (e) => events.push(e) });
    // assess
    // per shard: 3 x PageOrders + 3 x ShardDone + 2 x NextPage + ShardFinished = 9; plus ListShards, Map, Settle, ConfirmRun, 1 retry
    expect(result.stats.stateTransitions).toBe(4 + 3 * 9 + 1);
    expect(events.filter((e) => e.type === 'StateEntered')).toHaveLength(4 + 3 * 9);
    expect(result.stats.lambdaInvocations).toBe(1 + 3 * 3 + 2);
    expect(result.stats.historyEvents).toBeGreaterThan(2 * result.stats.stateTransitions);
    expect(result.stats.historyEvents).toBeLessThan(200);
    expect(result.stats.largestPayloadBytes).toBeGreaterThan(JSON.stringify(result.output).length - 1);
    expect(result.stats.largestPayloadBytes).toBeLessThan(4_096);
    expect(result.stats.durationMs).toBeGreaterThan(0);
  });

  it('fails a Task whose result exceeds the payload quota with States.DataLimitExceeded', async () => {
    // prepare
    const runner = mainRunner({ payloadLimitBytes: 64 });
    // act
    const result = await runner.start(MAIN_WORKFLOW, input());
    // assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.DataLimitExceeded');
    expect(result.cause).toContain("'ListShards'");
  });

  it('aborts a running execution on signal and reports ABORTED', async () => {
    // prepare
    const runner = mainRunner({ waitOverrideMs: 60_000 });
    const controller = new AbortController();
    // act
    const running = runner.start(MAIN_WORKFLOW, input(), {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'StateEntered' && (e['state'] as { name: string }).name === 'Settle') controller.abort();
      },
    });
    const result = await running;
    // assess
    expect(result.status).toBe('ABORTED');
    expect(recordedCalls('ConfirmRun')).toHaveLength(0);
    expect(result.stats.durationMs).toBeLessThan(5_000);
  });

  it('installs the Promise.withResolvers polyfill the library needs on Node 20', () => {
    // prepare / act
    mainRunner();
    // assess
    expect(typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers).toBe('function');
  });
});

describe('LocalRunner refusals and misuse', () => {
  it.each([
    ['jsonata', 'JsonataFlow', /QueryLanguage JSONata[\s\S]*state "ShapeInput".*Output/],
    ['distributed', 'DistributedFlow', /state "RefundAllOrders".*ItemBatcher[\s\S]*ToleratedFailurePercentage[\s\S]*Mode DISTRIBUTED/],
    ['dynamodb', 'DynamoFlow', /state "MarkRefunded".*Task Resource arn:aws:states:::dynamodb:putItem/],
  ] as const)('refuses the %s definition at construction, naming state and feature', (key, workflow, message) => {
    // prepare
    const template = templates[key];
    // act
    const construct = () => new LocalRunner({ template, projectRoot: FIXTURE_ROOT, handlers: 'source' });
    // assess
    expect(construct).toThrow(UnsupportedDefinitionError);
    expect(construct).toThrow(message);
    expect(construct).toThrow(`Workflow ${workflow} cannot run locally`);
  });

  it('throws for an unknown workflow instead of returning a failed execution', async () => {
    // prepare
    const runner = mainRunner();
    // act / assess
    await expect(runner.start('NoSuchWorkflow', {})).rejects.toThrow(RunnerError);
    await expect(runner.start('NoSuchWorkflow', {})).rejects.toThrow(`known: ${MAIN_WORKFLOW}`);
  });

  it('refuses a second execution with the same name, as StartExecution does', async () => {
    // prepare
    const runner = mainRunner();
    await runner.start(MAIN_WORKFLOW, input(), { name: 'once' });
    // act / assess
    await expect(runner.start(MAIN_WORKFLOW, input(), { name: 'once' })).rejects.toThrow(ExecutionAlreadyExistsError);
  });

  it('refuses functions that give one environment variable different values (they share process.env)', () => {
    // prepare
    type FnResource = { Type: string; Properties: { Environment: { Variables: Record<string, unknown> } } };
    const template = structuredClone(templates.main) as { Resources: Record<string, FnResource> };
    const pageOrdersFn = Object.entries(template.Resources).find(
      ([id, r]) => id.startsWith('PageOrdersFn') && r.Type === 'AWS::Lambda::Function',
    )?.[1];
    if (pageOrdersFn === undefined) throw new Error('fixture has no PageOrders function');
    pageOrdersFn.Properties.Environment.Variables['STAGE'] = 'other';
    // act
    const construct = () => new LocalRunner({ template, projectRoot: FIXTURE_ROOT, handlers: 'source' });
    // assess
    expect(construct).toThrow(RunnerError);
    expect(construct).toThrow(/Environment variable STAGE differs between .*\(fixture\) and PageOrdersFn.*\(other\)/);
  });

  it('refuses a Task whose function has no handler metadata', () => {
    // prepare
    const template = structuredClone(templates.main) as { Resources: Record<string, { Type: string; Metadata?: object }> };
    const fnId = Object.keys(template.Resources).find((id) => id.startsWith('ConfirmRunFn') && template.Resources[id]?.Type === 'AWS::Lambda::Function');
    delete template.Resources[fnId ?? '']?.Metadata;
    // act / assess
    expect(() => new LocalRunner({ template, projectRoot: FIXTURE_ROOT, handlers: 'source' })).toThrow(/Task "ConfirmRun" calls .*ConfirmRunFn.*mass-refund:handler/);
  });
});
