import * as z from 'zod';
import { OUTBOX_SHARDS } from '../../lib/adapters/dynamodb/dispatch-store.ts';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { NotFoundError } from '../../lib/core/errors.ts';
import { parseInput, stage } from '../commons/handler.ts';
import { ExecutionFacts, LookupId, RequestedBy } from '../commons/run-input.ts';
import { envInt } from '../dispatch-refunds/shared.ts';

export const ReconcileInput = z.strictObject({
  runId: LookupId.optional(),
  requestedBy: RequestedBy.optional(),
});

export const SCAN_SEGMENTS = 16;

/**
 * 1. Validates the input. Without runId the scope is every unknown or abandoned in-flight refund
 * and every refund refunded within the recent window (RECONCILE_WINDOW_DAYS, default 7). Writes nothing.
 */
export const handler = stage(z.object({ input: z.unknown(), execution: ExecutionFacts }), async ({ input, execution }) => {
  const parsed = parseInput(ReconcileInput, input);
  if (parsed.runId && !(await new RunRepository().get(parsed.runId))) throw new NotFoundError(`runId: no run "${parsed.runId}"`);
  const since = new Date(Date.parse(execution.startedAt) - envInt('RECONCILE_WINDOW_DAYS', 7) * 86_400_000).toISOString();
  const requestedBy = parsed.requestedBy ?? 'reconciliation';
  return {
    runId: execution.executionName,
    startedAt: execution.startedAt,
    requestedBy,
    input: { ...parsed, requestedBy },
    scope: { runId: parsed.runId ?? null, since },
    segments: Array.from({ length: SCAN_SEGMENTS }, (_, i) => i),
    outboxShards: Array.from({ length: OUTBOX_SHARDS }, (_, i) => i),
  };
});
