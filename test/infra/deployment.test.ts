import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MassRefundStack } from '../../infra/stack.ts';
import { DeploymentSettingsError } from '../../infra/settings.ts';

/** What makes `cdk deploy` safe on a fresh account: settings from context, checked at synthesis. */
type Json = Record<string, any>;

function synth(context: Record<string, unknown> = {}): Json {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new MassRefundStack(app, 'MassRefund', { env: { account: '123456789012', region: 'eu-central-1' } });
  return Template.fromStack(stack).toJSON() as Json;
}

const PRODUCTION = {
  'mass-refund:stage': 'production',
  'mass-refund:mailSender': 'refunds@tickets.example.org',
  'mass-refund:pspUrl': 'https://api.datatrans.com',
};

let trial: Json;
let production: Json;
beforeAll(() => {
  trial = synth();
  production = synth({ ...PRODUCTION, 'mass-refund:schedulesEnabled': 'true', 'mass-refund:alarmEmail': 'ops@tickets.example.org', 'mass-refund:autoApprovalLimits': '{"CHF":200000}' });
}, 240_000);

const resources = (t: Json, type: string) => Object.entries(t.Resources as Record<string, Json>).filter(([, r]) => r.Type === type);
const finishSimulationEnv = (t: Json) =>
  resources(t, 'AWS::Lambda::Function').find(([, f]) => f.Metadata?.['mass-refund:handler']?.entry === 'functions/dispatch-refunds/finish-simulation.ts')?.[1].Properties.Environment.Variables;

describe('deployment settings', () => {
  it('a production stage refuses the example sender, naming the setting', () => {
    const build = () => synth({ ...PRODUCTION, 'mass-refund:mailSender': 'refunds@mass-refund.example' });
    expect(build).toThrow(DeploymentSettingsError);
    expect(build).toThrow(/mass-refund:mailSender is the example sender refunds@mass-refund\.example/);
  });

  it("a production stage refuses Datatrans' test environment, naming the setting", () => {
    const build = () => synth({ 'mass-refund:stage': 'production', 'mass-refund:mailSender': 'refunds@tickets.example.org' });
    expect(build).toThrow(/mass-refund:pspUrl is Datatrans' test environment https:\/\/api\.sandbox\.datatrans\.com/);
  });

  it('deploys the nightly dispatch schedule disabled unless mass-refund:schedulesEnabled is true; the email sender, which moves no money, runs', () => {
    const states = (t: Json) =>
      resources(t, 'AWS::Scheduler::Schedule').map(([, s]) => [(JSON.parse(s.Properties.Target.Input) as { schedule?: string }).schedule ?? 'emails', s.Properties.State]);
    expect(states(trial)).toEqual([['nightly', 'DISABLED'], ['emails', 'ENABLED']]);
    expect(states(production)).toEqual([['nightly', 'ENABLED'], ['emails', 'ENABLED']]);
  });

  it('approves no scheduled pass automatically unless limits are given', () => {
    expect(finishSimulationEnv(trial)?.AUTO_APPROVAL_LIMITS).toBe('{}');
    expect(finishSimulationEnv(production)?.AUTO_APPROVAL_LIMITS).toBe('{"CHF":200000}');
  });

  it('names the PSP secret in the stack outputs', () => {
    const [secretId] = resources(trial, 'AWS::SecretsManager::Secret')[0]!;
    expect(JSON.stringify(trial.Outputs.PspSecretName.Value)).toContain(secretId);
  });

  it('sends every alarm to the alarm topic, which the configured address subscribes to', () => {
    const [topicId] = resources(production, 'AWS::SNS::Topic')[0]!;
    for (const [id, alarm] of resources(production, 'AWS::CloudWatch::Alarm')) expect(alarm.Properties.AlarmActions, id).toEqual([{ Ref: topicId }]);
    expect(resources(production, 'AWS::SNS::Subscription').map(([, s]) => [s.Properties.Protocol, s.Properties.Endpoint])).toEqual([['email', 'ops@tickets.example.org']]);
    expect(resources(trial, 'AWS::SNS::Subscription')).toEqual([]);
  });

  it('has the operations dashboard', () => {
    const [[, dashboard]] = resources(trial, 'AWS::CloudWatch::Dashboard') as [[string, Json]];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of ['Refunds', 'PspRateLimited', 'PspUnknown', 'EmailsSent', 'EmailsFailed', 'WrittenOff', 'ExecutionsFailed']) expect(body, metric).toContain(metric);
  });
});
