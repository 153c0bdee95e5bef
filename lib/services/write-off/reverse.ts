import type { VoucherRepository } from '../../adapters/dynamodb/vouchers.ts';
import { ConflictError } from '../../core/errors.ts';
import { succeededReport, tally, type RunReport } from '../../core/report.ts';
import type { RunPorts } from '../runs/ports.ts';

export const REVERSE_WRITE_OFF_WORKFLOW = 'ReverseWriteOff';

/**
 * Restores the code's remaining value and redeemability and records the reversal next to the
 * write-off's redemption (kept). A retry of the same run finds its reversal and does nothing twice.
 */
export async function reverseWriteOff(
  ports: { runs: RunPorts; vouchers: Pick<VoucherRepository, 'get' | 'reverse' | 'reversal'> },
  run: { runId: string; startedAt: string; input: { code: string; reason: string; requestedBy: string }; writeOffRunId: string },
): Promise<RunReport> {
  const { runs, vouchers } = ports;
  const { runId, startedAt, input, writeOffRunId } = run;
  await runs.open({ runId, workflow: REVERSE_WRITE_OFF_WORKFLOW, startedAt, requestedBy: input.requestedBy, input });
  const before = await vouchers.get(input.code);
  const amount = { amount: before?.writtenOffAmount ?? 0, currency: before?.remaining.currency ?? 'XXX' };
  const at = new Date().toISOString();
  const done = await vouchers.reverse(input.code, writeOffRunId, { code: input.code, runId, writeOffRunId, amount, reason: input.reason, requestedBy: input.requestedBy, at });
  const reversal = done ? undefined : await vouchers.reversal(input.code, runId);
  if (!done && !reversal) throw new ConflictError(`code: "${input.code}" is no longer written off by run ${writeOffRunId}; nothing reversed`);
  const restored = reversal?.amount ?? amount;
  const report = succeededReport({ runId, workflow: REVERSE_WRITE_OFF_WORKFLOW, startedAt, requestedBy: input.requestedBy, input }, tally({}, 'reversed', restored), { code: input.code, writeOffRunId });
  await runs.log(runId, 'reversal', [`${input.code}: write-off of run ${writeOffRunId} reversed, ${restored.amount} ${restored.currency} (minor units) redeemable again: ${input.reason}`]);
  await runs.finish(runId, 'succeeded', report);
  return report;
}
