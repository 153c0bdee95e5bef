import { App } from 'aws-cdk-lib';
import { MassRefundStack } from './stack.ts';

const app = new App();
new MassRefundStack(app, 'MassRefund', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'mass-refund: mass cancellation, refund dispatch and write-off for event ticketing',
});
app.synth();
