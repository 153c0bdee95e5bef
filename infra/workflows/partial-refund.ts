import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { RefundFunction } from '../constructs/refund-function.ts';
import { WorkflowStateMachine, type WorkflowConstruct, type WorkflowDeps } from './common.ts';
import { pagedWorkflow } from './paged.ts';

/** PartialRefund: every valid/controlled ticket of an interrupted performance exchanged for one at the reduced price; the difference is a pending refund. */
export class PartialRefundWorkflow extends Construct implements WorkflowConstruct {
  readonly machine: WorkflowStateMachine;

  constructor(scope: Construct, id: string, deps: WorkflowDeps) {
    super(scope, id);
    const service = 'partial-refund';
    const validateFn = new RefundFunction(this, 'ValidateFn', { entry: 'functions/partial-refund/validate.ts', service, timeout: Duration.seconds(30) });
    validateFn.bindTable(deps.tables.catalog, 'catalog', 'RO').bindTable(deps.tables.runs, 'runs', 'RO');
    const openFn = new RefundFunction(this, 'OpenRunFn', { entry: 'functions/partial-refund/open-run.ts', service, timeout: Duration.seconds(30) });
    openFn.bindTable(deps.tables.catalog, 'catalog', 'RW').bindTable(deps.tables.runs, 'runs', 'RW');
    const pageFn = new RefundFunction(this, 'ExchangePageFn', { entry: 'functions/partial-refund/exchange-page.ts', service, timeout: Duration.minutes(5) });
    pageFn
      .bindTable(deps.tables.orders, 'orders', 'RW')
      .bindTable(deps.tables.refunds, 'refunds', 'RW')
      .bindTable(deps.tables.intermediateAccounts, 'intermediateAccounts', 'RW')
      .bindTable(deps.tables.runs, 'runs', 'RW');
    const finishFn = new RefundFunction(this, 'FinishRunFn', { entry: 'functions/runs/finish-paged-run.ts', service, timeout: Duration.seconds(60) });
    finishFn.bindTable(deps.tables.runs, 'runs', 'RW');

    const paged = pagedWorkflow(this, deps, {
      workflow: 'PartialRefund',
      service,
      validate: { id: 'ValidatePartialRefundInput', fn: validateFn },
      open: openFn,
      page: { mapId: 'ExchangeShards', id: 'ExchangePage', fn: pageFn },
      finish: finishFn,
      carry: ['percentHundredths'],
    });
    this.machine = new WorkflowStateMachine(this, 'Machine', { workflow: 'PartialRefund', definition: paged.definition, timeout: Duration.hours(6) });
    paged.continuation.grant(this.machine);
  }
}
