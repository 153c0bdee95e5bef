import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MassRefundStack } from '../../infra/stack.ts';
import { WORKFLOWS } from '../../infra/workflows/index.ts';
import { TABLE_KEYS } from '../../lib/adapters/dynamodb/table-names.ts';

let template: Template;
let json: { Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> }> };

beforeAll(() => {
  // prepare: synthesize without bundling (assets are not what these assertions are about)
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new MassRefundStack(app, 'MassRefund', { env: { account: '123456789012', region: 'eu-central-1' } });
  template = Template.fromStack(stack);
  json = template.toJSON() as typeof json;
});

const resourcesOf = (type: string) => Object.entries(json.Resources).filter(([, r]) => r.Type === type);

describe('MassRefundStack', () => {
  it('has one table per store, on demand, with point-in-time recovery and encryption', () => {
    const tables = resourcesOf('AWS::DynamoDB::Table');
    expect(tables.map(([, t]) => t.Metadata?.['mass-refund:table']).sort()).toEqual([...TABLE_KEYS].sort());
    for (const [, t] of tables) {
      expect(t.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(t.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(t.Properties.SSESpecification).toEqual({ SSEEnabled: true });
    }
  });

  it('protects the money tables from deletion', () => {
    for (const key of ['orders', 'refunds', 'creditAccounts', 'intermediateAccounts', 'vouchers']) {
      const [, t] = tables(key);
      expect(t.Properties.DeletionProtectionEnabled, key).toBe(true);
    }
  });

  it('indexes tickets by sharded performance and open refunds by creation date', () => {
    const [, orders] = tables('orders');
    expect(orders.Properties.GlobalSecondaryIndexes).toEqual([
      // Keys only: a ticket's state change must not cost an index write.
      expect.objectContaining({ IndexName: 'byPerformance', KeySchema: [{ AttributeName: 'gsi1pk', KeyType: 'HASH' }, { AttributeName: 'gsi1sk', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } }),
    ]);
    const [, refunds] = tables('refunds');
    expect(refunds.Properties.GlobalSecondaryIndexes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ IndexName: 'openByCreatedAt', KeySchema: [{ AttributeName: 'openShard', KeyType: 'HASH' }, { AttributeName: 'createdAt', KeyType: 'RANGE' }] }),
      ]),
    );
  });

  it('has one state machine per registered workflow, Standard, traced, logged, with a failure alarm', () => {
    const machines = resourcesOf('AWS::StepFunctions::StateMachine');
    expect(machines.map(([, m]) => m.Metadata?.['mass-refund:workflow']).sort()).toEqual(Object.keys(WORKFLOWS).sort());
    for (const [, m] of machines) {
      expect(m.Properties.StateMachineType).toBe('STANDARD');
      expect(m.Properties.TracingConfiguration).toEqual({ Enabled: true });
      expect(m.Properties.LoggingConfiguration).toBeDefined();
    }
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionsFailed', Threshold: 1 }, machines.length);
  });

  it('runs every function on Node 22 arm64 with tracing and its handler recorded for the local runner', () => {
    const fns = resourcesOf('AWS::Lambda::Function').filter(([, f]) => f.Metadata?.['mass-refund:handler']);
    expect(fns.length).toBeGreaterThan(0);
    for (const [, f] of fns) {
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      expect(f.Properties.Architectures).toEqual(['arm64']);
      expect(f.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  it('grants each function only the tables it is bound to', () => {
    // Every table a function's policy names must be one whose name variable the function has.
    const policies = resourcesOf('AWS::IAM::Policy');
    const fnByRole = new Map<string, { env: Record<string, unknown> }>();
    for (const [, f] of resourcesOf('AWS::Lambda::Function')) {
      const role = (f.Properties.Role as { 'Fn::GetAtt'?: string[] })['Fn::GetAtt']?.[0];
      if (role) fnByRole.set(role, { env: ((f.Properties.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {}) });
    }
    const tableIds = new Set(resourcesOf('AWS::DynamoDB::Table').map(([id]) => id));
    let checked = 0;
    for (const [, p] of policies) {
      const roles = (p.Properties.Roles as { Ref: string }[]).map((r) => r.Ref);
      const statements = (p.Properties.PolicyDocument as { Statement: { Resource: unknown }[] }).Statement;
      const named = new Set<string>();
      JSON.stringify(statements, (_k, v: unknown) => {
        const att = (v as { 'Fn::GetAtt'?: string[] })?.['Fn::GetAtt'];
        if (att && tableIds.has(att[0] as string)) named.add(att[0] as string);
        return v;
      });
      for (const role of roles) {
        const fn = fnByRole.get(role);
        if (!fn) continue;
        const bound = new Set(Object.values(fn.env).map((v) => (v as { Ref?: string })?.Ref).filter((r): r is string => !!r && tableIds.has(r)));
        expect([...named].filter((t) => !bound.has(t)), `role ${role} reaches tables it has no variable for`).toEqual([]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('keeps the PSP credentials in Secrets Manager', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password' }) });
  });
});

function tables(key: string) {
  const hit = resourcesOf('AWS::DynamoDB::Table').find(([, t]) => t.Metadata?.['mass-refund:table'] === key);
  if (!hit) throw new Error(`no table ${key}`);
  return hit;
}
