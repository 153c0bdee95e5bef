import * as z from 'zod';
import { partialRefundMark, partialRefundRefusal } from '../../lib/adapters/dynamodb/partial-refunds.ts';
import { ConflictError, NotFoundError, ValidationError, type FieldIssue } from '../../lib/core/errors.ts';
import { parsePercentHundredths } from '../../lib/core/money.ts';
import { AllocationOrder } from '../commons/bookings.ts';
import { stage, zodIssues } from '../commons/handler.ts';
import { ExecutionFacts, LookupId, RequestedBy } from '../commons/run-input.ts';
import { PERFORMANCE_SHARD_LIST, performanceExists } from '../../lib/adapters/dynamodb/performances.ts';

export const PartialRefundInput = z.strictObject({
  performanceId: LookupId,
  percent: z.unknown(),
  salesChannel: z.string().trim().min(1),
  pointOfSale: z.string().trim().min(1),
  requestedBy: RequestedBy,
  allocationOrder: AllocationOrder,
  pageSize: z.number().int().min(1).max(1000).optional(),
});
export type PartialRefundInput = z.infer<typeof PartialRefundInput>;

/** 1. Validates the input (percent parsed exactly, no floats), the performance, and that it was not partially refunded before. Writes nothing. */
export const handler = stage(z.object({ input: z.unknown(), execution: ExecutionFacts }), async ({ input, execution }) => {
  const parsed = PartialRefundInput.safeParse(input);
  const issues: FieldIssue[] = parsed.success ? [] : zodIssues(parsed.error);
  let percentHundredths = 0;
  try {
    percentHundredths = parsePercentHundredths((input as { percent?: unknown } | null)?.percent);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    issues.push(...error.issues);
  }
  if (!parsed.success || issues.length) throw new ValidationError(issues);
  const data = parsed.data;
  if (!(await performanceExists(data.performanceId))) throw new NotFoundError(`performanceId: no performance "${data.performanceId}"`);
  const refusal = await partialRefundRefusal(await partialRefundMark(data.performanceId), execution.executionName, percentHundredths);
  if (refusal) throw new ConflictError(`performanceId: ${refusal}`);
  return { runId: execution.executionName, startedAt: execution.startedAt, input: data, percentHundredths, shards: PERFORMANCE_SHARD_LIST };
});
