import { CancelPerformanceWorkflow } from './cancel-performance.ts';
import { CancelTicketsWorkflow } from './cancel-tickets.ts';
import type { WorkflowClass } from './common.ts';
import { DispatchRefundsWorkflow } from './dispatch-refunds.ts';
import { PartialRefundWorkflow } from './partial-refund.ts';
import { ReconcileRefundsWorkflow } from './reconcile-refunds.ts';
import { ReverseWriteOffWorkflow } from './reverse-write-off.ts';
import { SendEmailsWorkflow } from './send-emails.ts';
import { SwitchRefundToManualWorkflow } from './switch-refund-to-manual.ts';
import { WriteOffWorkflow } from './write-off.ts';

/** One state machine per workflow of the contract (../shared/CONTRACT.md), and the email sender. */
export const WORKFLOWS: Record<string, WorkflowClass> = {
  CancelPerformance: CancelPerformanceWorkflow,
  CancelTickets: CancelTicketsWorkflow,
  PartialRefund: PartialRefundWorkflow,
  SwitchRefundToManual: SwitchRefundToManualWorkflow,
  WriteOff: WriteOffWorkflow,
  ReverseWriteOff: ReverseWriteOffWorkflow,
  DispatchRefunds: DispatchRefundsWorkflow,
  ReconcileRefunds: ReconcileRefundsWorkflow,
  SendEmails: SendEmailsWorkflow,
};
