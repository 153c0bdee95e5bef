import * as z from 'zod';
import { performanceFacets } from '../../lib/adapters/dynamodb/import-store.ts';
import { PERFORMANCE_SHARD_LIST, performanceExists } from '../../lib/adapters/dynamodb/performances.ts';
import { validateFilterValues } from '../../lib/core/cancellation.ts';
import { NotFoundError, ValidationError } from '../../lib/core/errors.ts';
import { AllocationOrder } from '../commons/bookings.ts';
import { parseInput, stage } from '../commons/handler.ts';
import { ExecutionFacts, LookupId, RequestedBy } from '../commons/run-input.ts';

const FilterValues = z.array(z.string().trim().min(1)).optional();

/** The contract's input, plus options: refundFees, allocationOrder, booking channel/point of sale, pageSize. */
export const CancelPerformanceInput = z.strictObject({
  performanceId: LookupId,
  quotas: FilterValues,
  seatCategories: FilterValues,
  productFamilies: FilterValues,
  tariffs: FilterValues,
  salesChannels: FilterValues,
  paymentMethods: FilterValues,
  /** Tell each customer now that the tickets are cancelled and the refund follows (one email per order). */
  notifyCustomers: z.boolean().default(false),
  reason: z.string().trim().min(1, 'must say why the performance is cancelled').max(500),
  requestedBy: RequestedBy,
  refundFees: z.boolean().optional(),
  allocationOrder: AllocationOrder,
  salesChannel: z.string().trim().min(1).optional(),
  pointOfSale: z.string().trim().min(1).optional(),
  pageSize: z.number().int().min(1).max(1000).optional(),
});
export type CancelPerformanceInput = z.infer<typeof CancelPerformanceInput>;

/** Other workflows over a performance check and shard the same way (partial-refund, dispatch-refunds). */
export { performanceExists, PERFORMANCE_SHARD_LIST as SHARDS } from '../../lib/adapters/dynamodb/performances.ts';

/** 1. Validates the console input against the catalog. Writes nothing. */
export const handler = stage(z.object({ input: z.unknown(), execution: ExecutionFacts }), async ({ input, execution }) => {
  const parsed = parseInput(CancelPerformanceInput, input);
  if (!(await performanceExists(parsed.performanceId))) throw new NotFoundError(`performanceId: no performance "${parsed.performanceId}"`);
  const issues = validateFilterValues(parsed, await performanceFacets(parsed.performanceId));
  if (issues.length) throw new ValidationError(issues);
  return { runId: execution.executionName, startedAt: execution.startedAt, input: parsed, shards: PERFORMANCE_SHARD_LIST };
});
