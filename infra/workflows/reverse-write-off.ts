import { Duration } from 'aws-cdk-lib';
import { singleStepWorkflow } from './common.ts';

/** ReverseWriteOff: one written-off code becomes redeemable again; the reversal is recorded, nothing deleted. */
export const ReverseWriteOffWorkflow = singleStepWorkflow({
  workflow: 'ReverseWriteOff', service: 'write-off',
  // 1. Validate the console input and that the code is written off; writes nothing.
  validate: { id: 'ValidateReverseInput', entry: 'functions/reverse-write-off/validate.ts', tables: [['vouchers', 'RO']] },
  // 2. Restore the remaining value, record the reversal and the run.
  step: { fnId: 'ReverseFn', id: 'ReverseWriteOff', entry: 'functions/reverse-write-off/reverse.ts', tables: [['vouchers', 'RW'], ['runs', 'RW']], timeout: Duration.seconds(30) },
  timeout: Duration.minutes(5),
});
