import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { RefundFunction } from '../constructs/refund-function.ts';
import { WorkflowStateMachine, type WorkflowConstruct, type WorkflowDeps } from './common.ts';
import { pagedWorkflow } from './paged.ts';

/** CancelPerformance: every valid/controlled ticket of a performance (filtered) cancelled, one cancellation per order, pending refunds. */
export class CancelPerformanceWorkflow extends Construct implements WorkflowConstruct {
  readonly machine: WorkflowStateMachine;

  constructor(scope: Construct, id: string, deps: WorkflowDeps) {
    super(scope, id);
    const service = 'cancel-performance';
    const validateFn = new RefundFunction(this, 'ValidateFn', { entry: 'functions/cancel-performance/validate.ts', service, timeout: Duration.seconds(30) });
    validateFn.bindTable(deps.tables.catalog, 'catalog', 'RO');
    const openFn = new RefundFunction(this, 'OpenRunFn', { entry: 'functions/cancel-performance/open-run.ts', service, timeout: Duration.seconds(30) });
    openFn.bindTable(deps.tables.runs, 'runs', 'RW');
    const pageFn = new RefundFunction(this, 'CancelPageFn', { entry: 'functions/cancel-performance/cancel-page.ts', service, timeout: Duration.minutes(5) });
    pageFn
      .bindTable(deps.tables.orders, 'orders', 'RW')
      .bindTable(deps.tables.refunds, 'refunds', 'RW')
      .bindTable(deps.tables.intermediateAccounts, 'intermediateAccounts', 'RW')
      .bindTable(deps.tables.runs, 'runs', 'RW');
    const finishFn = new RefundFunction(this, 'FinishRunFn', { entry: 'functions/runs/finish-paged-run.ts', service, timeout: Duration.seconds(60) });
    finishFn.bindTable(deps.tables.runs, 'runs', 'RW');

    const paged = pagedWorkflow(this, deps, {
      workflow: 'CancelPerformance',
      service,
      validate: { id: 'ValidateCancelInput', fn: validateFn },
      open: openFn,
      page: { mapId: 'CancelShards', id: 'CancelPage', fn: pageFn },
      finish: finishFn,
    });
    this.machine = new WorkflowStateMachine(this, 'Machine', { workflow: 'CancelPerformance', definition: paged.definition, timeout: Duration.hours(6) });
    paged.continuation.grant(this.machine);
  }
}
