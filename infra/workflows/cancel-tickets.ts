import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RefundFunction } from '../constructs/refund-function.ts';
import { failurePath, lambdaStep, rejectInput, WorkflowStateMachine, type WorkflowConstruct, type WorkflowDeps } from './common.ts';

/** CancelTickets: a box-office cancellation of chosen tickets of one order, refund mode "pending refund". */
export class CancelTicketsWorkflow extends Construct implements WorkflowConstruct {
  readonly machine: WorkflowStateMachine;

  constructor(scope: Construct, id: string, deps: WorkflowDeps) {
    super(scope, id);
    const service = 'cancel-tickets';
    const validateFn = new RefundFunction(this, 'ValidateFn', { entry: 'functions/cancel-tickets/validate.ts', service, timeout: Duration.seconds(30) });
    validateFn.bindTable(deps.tables.orders, 'orders', 'RO');
    // A group order of thousands of tickets is booked in tens of transactions: minutes, not seconds, of headroom.
    const applyFn = new RefundFunction(this, 'ApplyFn', { entry: 'functions/cancel-tickets/apply.ts', service, timeout: Duration.minutes(5) });
    applyFn
      .bindTable(deps.tables.orders, 'orders', 'RW')
      .bindTable(deps.tables.refunds, 'refunds', 'RW')
      .bindTable(deps.tables.intermediateAccounts, 'intermediateAccounts', 'RW')
      .bindTable(deps.tables.runs, 'runs', 'RW');

    // 1. Validate the console input against the order; bad input fails here, before anything is written.
    const validate = lambdaStep(this, 'ValidateCancelTicketsInput', validateFn, {
      payload: { 'input.$': '$', 'execution': { 'executionName.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime' } },
    });
    rejectInput(this, validate);
    // 2. Book the cancellation (one transaction, or in parts for a group order) and record the run.
    const apply = lambdaStep(this, 'CancelTickets', applyFn);
    apply.addCatch(failurePath(this, deps, 'CancelTickets'), { errors: ['States.ALL'], resultPath: '$.error' });

    this.machine = new WorkflowStateMachine(this, 'Machine', {
      workflow: 'CancelTickets',
      definition: validate.next(apply).next(new sfn.Succeed(this, 'Done')),
      timeout: Duration.minutes(15),
    });
  }
}
