import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { VoucherRepository } from '../../lib/adapters/dynamodb/vouchers.ts';
import { ConflictError } from '../../lib/core/errors.ts';
import { succeededReport } from '../../lib/core/report.ts';
import { stage } from '../commons/handler.ts';
import { ReverseWriteOffInput } from './validate.ts';

const WORKFLOW = 'ReverseWriteOff';
const Input = z.object({ runId: z.string(), startedAt: z.string(), input: ReverseWriteOffInput, writeOffRunId: z.string() });

/**
 * 2. Restores the code's remaining value and redeemability and records the reversal next to the
 * write-off's redemption (kept). A retry of the same run finds its reversal and does nothing twice.
 */
export const handler = stage(Input, async ({ runId, startedAt, input, writeOffRunId }) => {
  const runs = new RunRepository();
  await runs.open({ runId, workflow: WORKFLOW, startedAt, requestedBy: input.requestedBy, input });
  const vouchers = new VoucherRepository();
  const before = await vouchers.get(input.code);
  const amount = { amount: before?.writtenOffAmount ?? 0, currency: before?.remaining.currency ?? 'XXX' };
  const at = new Date().toISOString();
  const done = await vouchers.reverse(input.code, writeOffRunId, { code: input.code, runId, writeOffRunId, amount, reason: input.reason, requestedBy: input.requestedBy, at });
  const reversal = done ? undefined : await vouchers.reversal(input.code, runId);
  if (!done && !reversal) throw new ConflictError(`code: "${input.code}" is no longer written off by run ${writeOffRunId}; nothing reversed`);
  const restored = reversal?.amount ?? amount;
  const report = succeededReport({ runId, workflow: WORKFLOW, startedAt, requestedBy: input.requestedBy, input }, { reversed: { count: 1, totals: { [restored.currency]: restored.amount } } }, { code: input.code, writeOffRunId });
  await runs.log(runId, 'reversal', [`${input.code}: write-off of run ${writeOffRunId} reversed, ${restored.amount} ${restored.currency} (minor units) redeemable again: ${input.reason}`]);
  await runs.finish(runId, 'succeeded', report);
  return report;
});
