import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { RefundFunction } from '../constructs/refund-function.ts';
import { singleStepMachine, type WorkflowConstruct, type WorkflowDeps, type WorkflowStateMachine } from './common.ts';

/** ReverseWriteOff: one written-off code becomes redeemable again; the reversal is recorded, nothing deleted. */
export class ReverseWriteOffWorkflow extends Construct implements WorkflowConstruct {
  readonly machine: WorkflowStateMachine;

  constructor(scope: Construct, id: string, deps: WorkflowDeps) {
    super(scope, id);
    const validateFn = new RefundFunction(this, 'ValidateFn', { entry: 'functions/reverse-write-off/validate.ts', service: 'write-off', timeout: Duration.seconds(30) });
    validateFn.bindTable(deps.tables.vouchers, 'vouchers', 'RO');
    const reverseFn = new RefundFunction(this, 'ReverseFn', { entry: 'functions/reverse-write-off/reverse.ts', service: 'write-off', timeout: Duration.seconds(30) });
    reverseFn.bindTable(deps.tables.vouchers, 'vouchers', 'RW').bindTable(deps.tables.runs, 'runs', 'RW');

    // 1. Validate the console input and that the code is written off; writes nothing.
    // 2. Restore the remaining value, record the reversal and the run.
    this.machine = singleStepMachine(this, deps, {
      workflow: 'ReverseWriteOff',
      validate: { id: 'ValidateReverseInput', fn: validateFn },
      step: { id: 'ReverseWriteOff', fn: reverseFn },
      timeout: Duration.minutes(5),
    });
  }
}
