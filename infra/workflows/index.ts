import type { WorkflowClass } from './common.ts';
import { DispatchRefundsWorkflow } from './dispatch-refunds.ts';
import { ReconcileRefundsWorkflow } from './reconcile-refunds.ts';
import { SwitchRefundToManualWorkflow } from './switch-refund-to-manual.ts';

/** One state machine per workflow of the contract (../shared/CONTRACT.md). */
export const WORKFLOWS: Record<string, WorkflowClass> = {
  SwitchRefundToManual: SwitchRefundToManualWorkflow,
  DispatchRefunds: DispatchRefundsWorkflow,
  ReconcileRefunds: ReconcileRefundsWorkflow,
};
