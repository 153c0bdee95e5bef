import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';

type Resource = { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> };

describe('SendEmails in the synthesized stack', () => {
  const template = JSON.parse(readFileSync(inject('templatePath'), 'utf8')) as { Resources: Record<string, Resource> };
  const entries = Object.entries(template.Resources);
  const ofType = (type: string) => entries.filter(([, r]) => r.Type === type);

  it('records sends, deliveries, bounces and complaints of every email through an SES configuration set', () => {
    const [[setId]] = ofType('AWS::SES::ConfigurationSet') as [[string, Resource]];
    const destinations = ofType('AWS::SES::ConfigurationSetEventDestination').map(([, r]) => r.Properties);
    expect(destinations).toHaveLength(1);
    const destination = destinations[0] as { ConfigurationSetName: unknown; EventDestination: { Enabled: boolean; MatchingEventTypes: string[]; CloudWatchDestination: unknown } };
    expect(destination.ConfigurationSetName).toEqual({ Ref: setId });
    expect(destination.EventDestination.MatchingEventTypes).toEqual(expect.arrayContaining(['send', 'delivery', 'bounce', 'complaint']));
    expect(destination.EventDestination.CloudWatchDestination).toBeDefined();
    // The sender sends through it, and may: SES authorises the configuration set too.
    const [, batch] = ofType('AWS::Lambda::Function').find(([, r]) => (r.Metadata?.['mass-refund:handler'] as { entry?: string } | undefined)?.entry === 'functions/send-emails/batch.ts')!;
    const env = (batch.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.SES_CONFIGURATION_SET).toEqual({ Ref: setId });
    expect(env).toMatchObject({ MAIL_SENDER: 'refunds@mass-refund.example', SES_MAX_SEND_RATE: '14', MAIL_BRAND: 'Example Tickets', MAIL_REPLY_TO: 'support@mass-refund.example' });
    const policies = ofType('AWS::IAM::Policy').map(([, r]) => JSON.stringify(r.Properties));
    expect(policies.some((p) => p.includes('ses:SendEmail') && p.includes(`configuration-set/`) && p.includes(setId))).toBe(true);
  });

  it('starts on a schedule, and alarms on the account bounce and complaint rates', () => {
    const schedule = ofType('AWS::Scheduler::Schedule').map(([, r]) => r.Properties).find((p) => String(p.ScheduleExpression).startsWith('rate('));
    expect(schedule?.ScheduleExpression).toBe('rate(5 minutes)');
    expect(JSON.parse((schedule?.Target as { Input: string }).Input)).toEqual({ requestedBy: 'schedule:emails' });
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties.MetricName);
    expect(alarms).toEqual(expect.arrayContaining(['Reputation.BounceRate', 'Reputation.ComplaintRate']));
  });

  it('leaves the money paths without any mail stage: the passes and reconciliation do not send', () => {
    const machines = ofType('AWS::StepFunctions::StateMachine');
    const definition = (name: string) => JSON.stringify(machines.find(([, r]) => r.Metadata?.['mass-refund:workflow'] === name)![1].Properties.DefinitionString);
    for (const workflow of ['DispatchRefunds', 'ReconcileRefunds', 'CancelPerformance']) expect(definition(workflow), workflow).not.toMatch(/SendEmails|Emails(Page|Shards)/);
    expect(definition('SendEmails')).toMatch(/SendBatch/);
    const mailers = ofType('AWS::Lambda::Function').filter(([, r]) => ((r.Metadata?.['mass-refund:handler'] as { entry?: string } | undefined)?.entry ?? '').includes('send-emails/batch'));
    expect(mailers).toHaveLength(1);
  });
});
