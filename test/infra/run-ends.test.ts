import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MassRefundStack } from '../../infra/stack.ts';
import { WORKFLOWS } from '../../infra/workflows/index.ts';

type Json = Record<string, any>;
let template: Template;
let resources: Record<string, Json>;

beforeAll(() => {
  // prepare: synthesize without bundling (assets are not what these assertions are about)
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new MassRefundStack(app, 'MassRefund', { env: { account: '123456789012', region: 'eu-central-1' } });
  template = Template.fromStack(stack);
  resources = (template.toJSON() as Json).Resources;
});

const idsOf = (type: string, where: (r: Json) => boolean = () => true) => Object.entries(resources).filter(([, r]) => r.Type === type && where(r)).map(([id]) => id);
const runEndedFnId = () => idsOf('AWS::Lambda::Function', (r) => r.Metadata?.['mass-refund:handler']?.entry === 'functions/runs/run-ended.ts');

describe('the rule that ends runs whose execution ended first', () => {
  it('matches the failed, timed-out and stopped executions of every workflow state machine, and nothing else', () => {
    // act
    const rules = idsOf('AWS::Events::Rule', (r) => r.Properties.EventPattern?.source?.includes('aws.states'));
    // assess
    expect(rules).toHaveLength(1);
    const machines = idsOf('AWS::StepFunctions::StateMachine', (r) => r.Metadata?.['mass-refund:workflow'] !== undefined);
    expect(machines).toHaveLength(Object.keys(WORKFLOWS).length);
    const pattern = resources[rules[0]!]!.Properties.EventPattern;
    expect(pattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: expect.any(Array) },
    });
    expect(pattern.detail.stateMachineArn.map((arn: Json) => arn.Ref).sort()).toEqual(machines.sort());
    expect(resources[rules[0]!]!.Properties.State).toBe('ENABLED');
  });

  it('targets RunEndedFn only, retrying for a day, with a dead-letter queue and an alarm on it', () => {
    // prepare
    const [fnId] = runEndedFnId();
    const [queueId] = idsOf('AWS::SQS::Queue');
    // assess
    expect(fnId).toBeDefined();
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
          Id: Match.anyValue(),
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
        },
      ],
    });
    expect(resources[fnId!]!.Properties.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86400 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Threshold: 1,
    });
  });

  it('lets only EventBridge, from this rule, invoke RunEndedFn, and lets RunEndedFn touch only the runs table (and its dead letters)', () => {
    // prepare
    const [fnId] = runEndedFnId();
    const [ruleId] = idsOf('AWS::Events::Rule', (r) => r.Properties.EventPattern?.source?.includes('aws.states'));
    const [queueId] = idsOf('AWS::SQS::Queue');
    const runsTable = idsOf('AWS::DynamoDB::Table', (r) => r.Metadata?.['mass-refund:table'] === 'runs');
    // act
    const permissions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Permission' && r.Properties.FunctionName?.['Fn::GetAtt']?.[0] === fnId);
    const role = resources[fnId!]!.Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: Json) => x.Ref === role))
      .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[]);
    // assess
    expect(permissions).toEqual([
      expect.objectContaining({ Properties: { Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] }, Principal: 'events.amazonaws.com', SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] } } }),
    ]);
    const targets = new Set(statements.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource])).map((r) => (r === '*' ? '*' : JSON.stringify(r).match(/"(Tables\w+|RunEnds\w+)"/)?.[1])));
    expect(targets).toEqual(new Set(['*', ...runsTable, queueId]));
    for (const s of statements) {
      const actions: string[] = Array.isArray(s.Action) ? s.Action : [s.Action];
      if (s.Resource === '*') expect(actions.every((a) => a.startsWith('xray:'))).toBe(true);
      if (JSON.stringify(s.Resource).includes(queueId!)) expect(actions).toEqual(['sqs:SendMessage']);
    }
    expect(Object.keys(resources[fnId!]!.Properties.Environment.Variables)).toEqual(expect.arrayContaining(['RUNS_TABLE', 'WORKFLOWS_BY_STATE_MACHINE']));
  });
});
