import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RefundFunction } from '../constructs/refund-function.ts';
import { failurePath, lambdaStep, rejectInput, WorkflowStateMachine, type WorkflowConstruct, type WorkflowDeps } from './common.ts';

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
    const validate = lambdaStep(this, 'ValidateSwitchInput', validateFn, {
      payload: { 'input.$': '$', 'execution': { 'executionName.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime' } },
    });
    rejectInput(this, validate);
    // 2. Switch the refund and record the run.
    const apply = lambdaStep(this, 'SwitchRefund', applyFn);
    apply.addCatch(failurePath(this, deps, 'SwitchRefundToManual'), { errors: ['States.ALL'], resultPath: '$.error' });

    this.machine = new WorkflowStateMachine(this, 'Machine', {
      workflow: 'SwitchRefundToManual',
      definition: validate.next(apply).next(new sfn.Succeed(this, 'Done')),
      timeout: Duration.minutes(5),
    });
  }
}
