import { Duration } from 'aws-cdk-lib';
import { singleStepWorkflow } from './common.ts';

/** SwitchRefundToManual: one pending or failed refund leaves the automated process for good. */
export const SwitchRefundToManualWorkflow = singleStepWorkflow({
  workflow: 'SwitchRefundToManual', service: 'switch-refund-to-manual',
  // 1. Validate the console input; bad input fails here, before anything is written.
  validate: { id: 'ValidateSwitchInput', entry: 'functions/switch-refund-to-manual/validate.ts', tables: [['refunds', 'RO']] },
  // 2. Switch the refund and record the run.
  step: { fnId: 'ApplyFn', id: 'SwitchRefund', entry: 'functions/switch-refund-to-manual/apply.ts', tables: [['refunds', 'RW'], ['runs', 'RW']], timeout: Duration.seconds(30) },
  timeout: Duration.minutes(5),
});
