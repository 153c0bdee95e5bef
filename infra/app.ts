import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MassRefundStack } from './stack.ts';

const app = new App();
new MassRefundStack(app, 'MassRefund', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'mass-refund: mass cancellation, refund dispatch and write-off for event ticketing',
});
// Every `cdk synth`/`deploy` runs the AWS Solutions checks; accepted findings carry reasons (infra/nag.ts).
// The local runtime's own synth skips them: test/infra/nag.test.ts reports findings there instead.
if (app.node.tryGetContext('mass-refund:skip-nag') !== true) {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}
app.synth();
