import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { RefundFunction } from '../constructs/refund-function.ts';
import { singleStepMachine, type WorkflowConstruct, type WorkflowDeps, type WorkflowStateMachine } from './common.ts';

/** SwitchRefundToManual: one pending or failed refund leaves the automated process for good. */
export class SwitchRefundToManualWorkflow extends Construct implements WorkflowConstruct {
  readonly machine: WorkflowStateMachine;

  constructor(scope: Construct, id: string, deps: WorkflowDeps) {
    super(scope, id);
    const validateFn = new RefundFunction(this, 'ValidateFn', { entry: 'functions/switch-refund-to-manual/validate.ts', service: 'switch-refund-to-manual', timeout: Duration.seconds(30) });
    validateFn.bindTable(deps.tables.refunds, 'refunds', 'RO');
    const applyFn = new RefundFunction(this, 'ApplyFn', { entry: 'functions/switch-refund-to-manual/apply.ts', service: 'switch-refund-to-manual', timeout: Duration.seconds(30) });
    applyFn.bindTable(deps.tables.refunds, 'refunds', 'RW').bindTable(deps.tables.runs, 'runs', 'RW');

    // 1. Validate the console input; bad input fails here, before anything is written.
    // 2. Switch the refund and record the run.
    this.machine = singleStepMachine(this, deps, {
      workflow: 'SwitchRefundToManual',
      validate: { id: 'ValidateSwitchInput', fn: validateFn },
      step: { id: 'SwitchRefund', fn: applyFn },
      timeout: Duration.minutes(5),
    });
  }
}
