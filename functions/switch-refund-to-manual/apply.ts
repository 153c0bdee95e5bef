import * as z from 'zod';
import { RefundRepository } from '../../lib/adapters/dynamodb/refunds.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { ConflictError } from '../../lib/core/errors.ts';
import { succeededReport } from '../../lib/core/report.ts';
import { stage } from '../commons/handler.ts';
import { SwitchToManualInput } from './validate.ts';

const Input = z.object({ runId: z.string(), startedAt: z.string(), input: SwitchToManualInput, expectedVersion: z.number().int() });
const WORKFLOW = 'SwitchRefundToManual';

/** Takes the refund out of automation for good and records the run. A re-run of the same execution is a no-op. */
export const handler = stage(Input, async ({ runId, startedAt, input, expectedVersion }) => {
  const runs = new RunRepository();
  await runs.open({ runId, workflow: WORKFLOW, startedAt, requestedBy: input.requestedBy, input });
  const refunds = new RefundRepository();
  const at = new Date().toISOString();
  try {
    await refunds.switchToManual(input.refundId, expectedVersion, { method: input.method, note: input.note, requestedBy: input.requestedBy, at, runId });
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    const now = await refunds.get(input.refundId);
    // Same run retried after its write landed: report it, do nothing twice.
    if (!(now?.status === 'manual' && now.manual?.runId === runId)) {
      throw new ConflictError(`refundId: refund "${input.refundId}" changed while switching (now ${now?.status ?? 'missing'}); run again`, { cause: error });
    }
  }
  const refund = await refunds.get(input.refundId);
  const report = succeededReport({ runId, workflow: WORKFLOW, startedAt, requestedBy: input.requestedBy, input }, { switched_to_manual: { count: 1, totals: refund ? { [refund.amount.currency]: refund.amount.amount } : {} } }, { refundId: input.refundId, orderId: refund?.orderId });
  await runs.log(runId, 'switch', [`${input.refundId} order=${refund?.orderId} ${refund?.amount.amount} ${refund?.amount.currency} -> manual (${input.method}): ${input.note}`]);
  await runs.finish(runId, 'succeeded', report);
  return report;
});
