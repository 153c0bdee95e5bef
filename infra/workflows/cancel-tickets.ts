import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { RefundFunction } from '../constructs/refund-function.ts';
import { singleStepMachine, type WorkflowConstruct, type WorkflowDeps, type WorkflowStateMachine } from './common.ts';

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
    // 2. Book the cancellation (one transaction, or in parts for a group order) and record the run.
    this.machine = singleStepMachine(this, deps, {
      workflow: 'CancelTickets',
      validate: { id: 'ValidateCancelTicketsInput', fn: validateFn },
      step: { id: 'CancelTickets', fn: applyFn },
      timeout: Duration.minutes(15),
    });
  }
}
