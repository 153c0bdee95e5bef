import * as z from 'zod';
import { scheduledPeriod, SCHEDULES } from '../../lib/core/dispatch.ts';
import { NotFoundError, ValidationError } from '../../lib/core/errors.ts';
import { performanceExists } from '../cancel-performance/validate.ts';
import { CREDIT_POLICIES } from '../../lib/core/refund-lifecycle.ts';
import { scheduledReconcileRunId, scheduledSimulationRunId } from '../../lib/core/run-end.ts';
import { OPEN_REFUND_SHARDS } from '../../lib/adapters/dynamodb/table-names.ts';
import { parseInput, stage } from '../commons/handler.ts';
import { ExecutionFacts, LookupId, RequestedBy } from '../commons/run-input.ts';
import { reconcileScope, SCAN_SEGMENTS } from '../reconcile-refunds/validate.ts';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** An ISO date (kept as is: UTC midnight) or an ISO date-time with offset (normalized to UTC). */
const IsoInstant = z.string().trim().transform((value, ctx) => {
  const t = Date.parse(DATE.test(value) ? `${value}T00:00:00Z` : value);
  const shaped = DATE.test(value) || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  if (!shaped || Number.isNaN(t)) {
    ctx.addIssue({ code: 'custom', message: `must be an ISO date (2026-07-13) or date-time with offset, got "${value}"` });
    return z.NEVER;
  }
  if (DATE.test(value) && new Date(t).toISOString().slice(0, 10) !== value) {
    ctx.addIssue({ code: 'custom', message: `is not a calendar date: "${value}"` });
    return z.NEVER;
  }
  return DATE.test(value) ? value : new Date(t).toISOString();
});

export const DispatchInput = z
  .strictObject({
    /** Absent only on a scheduled run: the whole night (reconcile, simulate, psp, credit). */
    mode: z.enum(['simulate', 'psp', 'credit']).optional(),
    from: IsoInstant.optional(),
    to: IsoInstant.optional(),
    simulationRunId: LookupId.optional(),
    creditPolicy: z.enum(CREDIT_POLICIES).default('fallback'),
    requestedBy: RequestedBy.optional(),
    schedule: z.enum(SCHEDULES).optional(),
    /** Only this performance's refunds. */
    performanceId: LookupId.optional(),
    /** false: no card or credit emails for this run (the refunds are not put in the outbox). */
    notifyCustomers: z.boolean().default(true),
  })
  .superRefine((input, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (input.schedule) {
      if (input.from !== undefined) issue('from', 'is derived from the schedule (every open refund created before today); do not give it');
      if (input.to !== undefined) issue('to', 'is derived from the schedule (every open refund created before today); do not give it');
      if (input.simulationRunId !== undefined) issue('simulationRunId', 'a scheduled run simulates first itself; do not give it');
      return;
    }
    if (input.mode === undefined) issue('mode', 'is required');
    if (input.requestedBy === undefined) issue('requestedBy', 'is required');
    if (input.from === undefined) issue('from', 'is required');
    if (input.to === undefined) issue('to', 'is required');
    if (input.from !== undefined && input.to !== undefined && !(Date.parse(withTime(input.from)) < Date.parse(withTime(input.to)))) issue('to', 'must be after from');
    if (input.mode !== 'simulate' && input.simulationRunId === undefined) issue('simulationRunId', `is required to start a ${input.mode} run by hand: name the approved simulation of the same range`);
    if (input.mode === 'simulate' && input.simulationRunId !== undefined) issue('simulationRunId', 'only psp and credit runs name a simulation');
  });

const withTime = (v: string) => (DATE.test(v) ? `${v}T00:00:00Z` : v);

/**
 * 1. Validates the console input (or the schedule's), derives a scheduled run's period, and says
 * what the run does: a scheduled run reconciles first (unless it only simulates) and simulates
 * first; without a mode it is the whole night, the psp pass then the credit pass. Writes nothing.
 */
export const handler = stage(z.object({ input: z.unknown(), execution: ExecutionFacts }), async ({ input, execution }) => {
  const parsed = parseInput(DispatchInput, input);
  const runId = execution.executionName;
  let { from, to } = parsed;
  if (parsed.schedule) ({ from, to } = scheduledPeriod(parsed.schedule, new Date(execution.startedAt)));
  if (from === undefined || to === undefined) throw new ValidationError([{ field: 'from', reason: 'is required' }]);
  const requestedBy = parsed.requestedBy ?? `schedule:${parsed.schedule}`;
  // A whole night runs the psp pass first, then the credit pass.
  const mode = parsed.mode ?? 'psp';
  const simulateFirst = parsed.schedule !== undefined && mode !== 'simulate';
  const simulationRunId = mode === 'simulate' ? runId : (parsed.simulationRunId ?? scheduledSimulationRunId(runId));
  const normalized = { ...parsed, from, to, requestedBy };
  if (parsed.performanceId && !(await performanceExists(parsed.performanceId))) throw new NotFoundError(`performanceId: no performance "${parsed.performanceId}"`);
  const performanceId = parsed.performanceId ?? null;
  const reconcileRunId = scheduledReconcileRunId(runId);
  return {
    runId,
    startedAt: execution.startedAt,
    requestedBy,
    input: normalized,
    mode,
    from,
    to,
    creditPolicy: parsed.creditPolicy,
    // The choices the real run is bound to: a simulation made with other ones does not approve it.
    performanceId,
    notifyCustomers: parsed.notifyCustomers,
    simulationRunId,
    simulateFirst,
    simulationInput: {
      mode: 'simulate',
      from,
      to,
      creditPolicy: parsed.creditPolicy,
      ...(performanceId ? { performanceId } : {}),
      notifyCustomers: parsed.notifyCustomers,
      requestedBy,
      ...(parsed.schedule ? { schedule: parsed.schedule, forRun: runId } : {}),
    },
    reconcileFirst: simulateFirst,
    reconcileRunId,
    reconcileInput: { requestedBy, forRun: runId },
    reconcileScope: reconcileScope(execution.startedAt),
    segments: Array.from({ length: SCAN_SEGMENTS }, (_, i) => i),
    thenCredit: parsed.schedule !== undefined && parsed.mode === undefined,
    earlierShardResults: [],
    logPrefix: '',
    shards: Array.from({ length: OPEN_REFUND_SHARDS }, (_, i) => i),
  };
});
