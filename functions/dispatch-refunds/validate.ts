import * as z from 'zod';
import { OPEN_REFUND_SHARDS } from '../../lib/adapters/dynamodb/table-names.ts';
import { planDispatch } from '../../lib/core/dispatch.ts';
import { NotFoundError } from '../../lib/core/errors.ts';
import { performanceExists } from '../cancel-performance/validate.ts';
import { parseInput, stage } from '../commons/handler.ts';
import { ExecutionFacts } from '../commons/run-input.ts';
import { envInt } from '../commons/env.ts';
import { reconcileScope, SCAN_SEGMENTS } from '../../lib/core/reconciliation.ts';
import { DispatchInput } from './input.ts';

export { DispatchInput };

/**
 * 1. Validates the console input (or the schedule's), derives a scheduled run's period, and says
 * what the run does (lib/core/dispatch.ts planDispatch). Writes nothing.
 */
export const handler = stage(z.object({ input: z.unknown(), execution: ExecutionFacts }), async ({ input, execution }) => {
  const parsed = parseInput(DispatchInput, input);
  const plan = planDispatch(parsed, execution, {
    reconcileScope: reconcileScope(execution.startedAt, null, envInt('RECONCILE_WINDOW_DAYS', 7)),
    segments: Array.from({ length: SCAN_SEGMENTS }, (_, i) => i),
    shards: Array.from({ length: OPEN_REFUND_SHARDS }, (_, i) => i),
  });
  if (parsed.performanceId && !(await performanceExists(parsed.performanceId))) throw new NotFoundError(`performanceId: no performance "${parsed.performanceId}"`);
  return plan;
});
