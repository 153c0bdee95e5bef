import { App, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MassRefundStack } from '../../infra/stack.ts';

function synthWithNag(mutate?: (stack: MassRefundStack) => void): () => void {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, outdir: mkdtempSync(path.join(tmpdir(), 'nag-')) });
  const stack = new MassRefundStack(app, 'MassRefund', { env: { account: '123456789012', region: 'eu-central-1' } });
  mutate?.(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return () => app.synth();
}

describe('cdk-nag AwsSolutions checks', () => {
  it('pass with zero unacknowledged findings', () => {
    expect(synthWithNag()).not.toThrow();
  });

  it('do not let the X-Ray acknowledgment hide another action on *', () => {
    const synth = synthWithNag((stack) => {
      const fn = stack.node.findAll().find((c) => c.node.id === 'RecordFailureFn') as unknown as { addToRolePolicy(s: iam.PolicyStatement): void };
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ses:SendEmail'], resources: ['*'] }));
    });
    expect(synth).toThrow(/AwsSolutions-IAM5\[Resource::\*\]/);
  });

  it('still catch a wildcard nobody reviewed', () => {
    const synth = synthWithNag((stack) => {
      const role = new iam.Role(stack, 'Careless', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
      role.addToPolicy(new iam.PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
    });
    expect(synth).toThrow(/AwsSolutions-IAM5\[Action::dynamodb:\*\]/);
  });
});
