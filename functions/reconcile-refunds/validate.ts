import * as z from 'zod';
import { RunRepository } from '../../lib/adapters/dynamodb/runs.ts';
import { NotFoundError } from '../../lib/core/errors.ts';
import { reconcileScope, SCAN_SEGMENTS } from '../../lib/core/reconciliation.ts';
import { parseInput, stage } from '../commons/handler.ts';
import { ExecutionFacts, LookupId, RequestedBy } from '../commons/run-input.ts';
import { envInt } from '../commons/env.ts';

export const ReconcileInput = z.strictObject({
  runId: LookupId.optional(),
  requestedBy: RequestedBy.optional(),
});

/** 1. Validates the input (lib/core/reconciliation.ts reconcileScope: what a run covers). Writes nothing. */
export const handler = stage(z.object({ input: z.unknown(), execution: ExecutionFacts }), async ({ input, execution }) => {
  const parsed = parseInput(ReconcileInput, input);
  if (parsed.runId && !(await new RunRepository().get(parsed.runId))) throw new NotFoundError(`runId: no run "${parsed.runId}"`);
  const requestedBy = parsed.requestedBy ?? 'reconciliation';
  return {
    runId: execution.executionName,
    startedAt: execution.startedAt,
    requestedBy,
    input: { ...parsed, requestedBy },
    scope: reconcileScope(execution.startedAt, parsed.runId ?? null, envInt('RECONCILE_WINDOW_DAYS', 7)),
    segments: Array.from({ length: SCAN_SEGMENTS }, (_, i) => i),
  };
});
