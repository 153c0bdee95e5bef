import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { executionStatusChangeEvent, listEventRules, LocalEventBus, matchesPattern, type LocalRule } from '../../lib/local/events.ts';
import { listFunctions, listStateMachines, TemplateError, type CfnTemplate, type LocalFunction } from '../../lib/local/template.ts';

const fn = (logicalId: string): LocalFunction => ({
  logicalId,
  entry: `functions/${logicalId}.ts`,
  handler: 'handler',
  functionName: logicalId,
  arn: `arn:aws:lambda:local:000000000000:function:${logicalId}`,
  environment: {},
  timeoutSeconds: 30,
  memorySizeMb: 512,
  handlerProperty: 'index.handler',
});

const ended = (status: 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'SUCCEEDED', stateMachineArn = 'arn:aws:states:local:000000000000:stateMachine:M') =>
  executionStatusChangeEvent({ executionArn: `${stateMachineArn.replace('stateMachine', 'execution')}:e1`, stateMachineArn, name: 'e1', status, startDate: 1_700_000_000_000, stopDate: 1_700_000_005_000, input: { a: 1 }, error: 'E', cause: 'C' });

describe('the status change event of an execution', () => {
  it('has the shape Step Functions sends to EventBridge', () => {
    // act
    const event = ended('TIMED_OUT');
    // assess
    expect(event).toMatchObject({
      version: '0',
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: '000000000000',
      region: 'local',
      time: '2023-11-14T22:13:25Z',
      resources: ['arn:aws:states:local:000000000000:execution:M:e1'],
      detail: {
        executionArn: 'arn:aws:states:local:000000000000:execution:M:e1',
        stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:M',
        name: 'e1',
        status: 'TIMED_OUT',
        startDate: 1_700_000_000_000,
        stopDate: 1_700_000_005_000,
        input: '{"a":1}',
        output: null,
        inputDetails: { included: true },
        error: 'E',
        cause: 'C',
      },
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('event patterns, matched as EventBridge matches them', () => {
  it('match every field, any value of a list, nested objects', () => {
    const pattern = { source: ['aws.states'], 'detail-type': ['Step Functions Execution Status Change'], detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'] } };
    expect(matchesPattern(pattern, ended('TIMED_OUT'))).toBe(true);
    expect(matchesPattern(pattern, ended('SUCCEEDED'))).toBe(false);
    expect(matchesPattern({ ...pattern, source: ['aws.other'] }, ended('FAILED'))).toBe(false);
    expect(matchesPattern({ detail: { missing: ['x'] } }, ended('FAILED'))).toBe(false);
  });

  it('support prefix, suffix, anything-but, exists, equals-ignore-case and numeric filters', () => {
    const event = ended('ABORTED');
    expect(matchesPattern({ detail: { name: [{ prefix: 'e' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { name: [{ suffix: '2' }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { status: [{ 'anything-but': ['SUCCEEDED', 'RUNNING'] }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { status: [{ 'anything-but': 'ABORTED' }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { output: [{ exists: true }], nothing: [{ exists: false }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { status: [{ 'equals-ignore-case': 'aborted' }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { startDate: [{ numeric: ['>', 0, '<=', 1_700_000_000_000] }] } }, event)).toBe(true);
  });

  it('refuse what the local bus does not implement, instead of matching wrongly', () => {
    const template = (pattern: unknown): CfnTemplate => ({ Resources: { R: { Type: 'AWS::Events::Rule', Properties: { EventPattern: pattern, Targets: [] } } } });
    expect(() => listEventRules(template({ $or: [{ source: ['a'] }] }), [])).toThrow(TemplateError);
    expect(() => listEventRules(template({ source: [{ wildcard: 'a*' }] }), [])).toThrow(/wildcard/);
    expect(() => listEventRules(template({ source: 'aws.states' }), [])).toThrow(/array or an object/);
  });
});

describe('rules read from a template, delivered to their Lambda targets', () => {
  it('finds in the synthesized stack the rule that ends runs, aimed at the workflows and at RunEndedFn', () => {
    // prepare
    const template = JSON.parse(readFileSync(inject('templatePath'), 'utf8')) as CfnTemplate;
    const functions = listFunctions(template);
    // act
    const rules = listEventRules(template, functions);
    // assess
    const [rule] = rules.filter((r) => r.targets.some((t) => t.fn?.entry === 'functions/runs/run-ended.ts'));
    expect(rule?.targets).toHaveLength(1);
    expect(rule?.targets[0]?.unsupported).toBeUndefined();
    const arns = listStateMachines(template).map((m) => m.arn).sort();
    for (const arn of arns) expect(matchesPattern(rule!.pattern, ended('TIMED_OUT', arn))).toBe(true);
    expect(matchesPattern(rule!.pattern, ended('SUCCEEDED', arns[0]))).toBe(false);
    expect(matchesPattern(rule!.pattern, ended('FAILED', 'arn:aws:states:local:000000000000:stateMachine:SomeoneElses'))).toBe(false);
  });

  it('reads rules generically: disabled, scheduled and other-bus rules are left out; targets by ARN, Input and InputPath honoured', async () => {
    // prepare
    const template: CfnTemplate = {
      Resources: {
        A: { Type: 'AWS::Lambda::Function', Properties: {} },
        B: { Type: 'AWS::Lambda::Function', Properties: {} },
        Q: { Type: 'AWS::SQS::Queue', Properties: {} },
        Live: {
          Type: 'AWS::Events::Rule',
          Properties: {
            EventPattern: { source: ['aws.states'] },
            Targets: [
              { Id: 'whole', Arn: { 'Fn::GetAtt': ['A', 'Arn'] } },
              { Id: 'detail', Arn: { 'Fn::GetAtt': ['B', 'Arn'] }, InputPath: '$.detail' },
              { Id: 'constant', Arn: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['A', 'Arn'] }, ':live']] }, Input: '{"fixed":true}' },
              { Id: 'queue', Arn: 'arn:aws:sqs:local:000000000000:q' },
            ],
          },
        },
        Off: { Type: 'AWS::Events::Rule', Properties: { State: 'DISABLED', EventPattern: { source: ['aws.states'] }, Targets: [{ Id: 'x', Arn: { 'Fn::GetAtt': ['A', 'Arn'] } }] } },
        Nightly: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(1 day)', Targets: [{ Id: 'x', Arn: { 'Fn::GetAtt': ['A', 'Arn'] } }] } },
        AsText: { Type: 'AWS::Events::Rule', Properties: { EventPattern: JSON.stringify({ source: ['aws.other'] }), Targets: [{ Id: 'x', Arn: { 'Fn::GetAtt': ['B', 'Arn'] } }] } },
        Elsewhere: { Type: 'AWS::Events::Rule', Properties: { EventBusName: 'partners', EventPattern: { source: ['aws.states'] }, Targets: [] } },
      },
    };
    const received: [string, unknown][] = [];
    const rules: LocalRule[] = listEventRules(template, [fn('A'), fn('B')]);
    const bus = new LocalEventBus(rules, async (f, event) => void received.push([f.logicalId, event]));
    const event = ended('FAILED');
    // act
    const deliveries = await bus.put(event);
    // assess
    expect(rules.map((r) => r.logicalId)).toEqual(['Live', 'AsText']);
    expect(rules[1]?.pattern).toEqual({ source: ['aws.other'] });
    expect(bus.targetFunctions().map((f) => f.logicalId)).toEqual(['A', 'B', 'A', 'B']);
    expect(received).toEqual([
      ['A', event],
      ['B', event.detail],
      ['A', { fixed: true }],
    ]);
    expect(deliveries.map((d) => [d.target, d.delivered])).toEqual([
      ['whole', true],
      ['detail', true],
      ['constant', true],
      ['queue', false],
    ]);
    expect(deliveries[3]?.error).toMatch(/not a Lambda function/);
  });

  it('retries a failing target as Lambda retries an asynchronous call (3 attempts), then reports it undelivered', async () => {
    // prepare
    let calls = 0;
    const rules: LocalRule[] = [{ logicalId: 'R', pattern: { source: ['aws.states'] }, targets: [{ id: 't', arn: fn('A').arn, fn: fn('A') }] }];
    const flaky = new LocalEventBus(rules, async () => {
      calls++;
      if (calls < 3) throw new Error('store unreachable');
    });
    const broken = new LocalEventBus(rules, async () => {
      throw new TypeError('bad event');
    });
    // act
    const [late] = await flaky.put(ended('ABORTED'));
    const [lost] = await broken.put(ended('ABORTED'));
    // assess
    expect(late).toEqual({ rule: 'R', target: 't', delivered: true, attempts: 3 });
    expect(lost).toEqual({ rule: 'R', target: 't', delivered: false, attempts: 3, error: 'TypeError: bad event' });
  });
});
