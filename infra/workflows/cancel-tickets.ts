import { Duration } from 'aws-cdk-lib';
import { singleStepWorkflow } from './common.ts';

/** CancelTickets: a box-office cancellation of chosen tickets of one order, refund mode "pending refund". */
export const CancelTicketsWorkflow = singleStepWorkflow({
  workflow: 'CancelTickets', service: 'cancel-tickets',
  // 1. Validate the console input against the order; bad input fails here, before anything is written.
  validate: { id: 'ValidateCancelTicketsInput', entry: 'functions/cancel-tickets/validate.ts', tables: [['orders', 'RO']] },
  // 2. Book the cancellation (one transaction, or in parts for a group order) and record the run.
  step: {
    fnId: 'ApplyFn',
    id: 'CancelTickets',
    entry: 'functions/cancel-tickets/apply.ts',
    tables: [['orders', 'RW'], ['refunds', 'RW'], ['intermediateAccounts', 'RW'], ['runs', 'RW']],
    // A group order of thousands of tickets is booked in tens of transactions: minutes, not seconds, of headroom.
    timeout: Duration.minutes(5),
  },
  timeout: Duration.minutes(15),
});
