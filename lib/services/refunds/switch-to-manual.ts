import type { RefundRepository } from '../../adapters/dynamodb/refunds.ts';
import { ConflictError } from '../../core/errors.ts';
import { succeededReport, tally, type RunReport } from '../../core/report.ts';
import type { RunPorts } from '../runs/ports.ts';

export const SWITCH_TO_MANUAL_WORKFLOW = 'SwitchRefundToManual';

/** SwitchRefundToManual's input (functions/switch-refund-to-manual/validate.ts parses it). */
export interface SwitchToManualRequest {
  refundId: string;
  method: 'cash' | 'bank_transfer' | 'other';
  note: string;
  requestedBy: string;
}

/** Takes the refund out of automation for good and records the run. A re-run of the same execution is a no-op. */
export async function switchRefundToManual(
  ports: { runs: RunPorts; refunds: Pick<RefundRepository, 'get' | 'switchToManual'> },
  run: { runId: string; startedAt: string; input: SwitchToManualRequest; expectedVersion: number },
): Promise<RunReport> {
  const { runs, refunds } = ports;
  const { runId, startedAt, input, expectedVersion } = run;
  await runs.open({ runId, workflow: SWITCH_TO_MANUAL_WORKFLOW, startedAt, requestedBy: input.requestedBy, input });
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
  const report = succeededReport({ runId, workflow: SWITCH_TO_MANUAL_WORKFLOW, startedAt, requestedBy: input.requestedBy, input }, tally({}, 'switched_to_manual', refund?.amount), { refundId: input.refundId, orderId: refund?.orderId });
  await runs.log(runId, 'switch', [`${input.refundId} order=${refund?.orderId} ${refund?.amount.amount} ${refund?.amount.currency} -> manual (${input.method}): ${input.note}`]);
  await runs.finish(runId, 'succeeded', report);
  return report;
}
