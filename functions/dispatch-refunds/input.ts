import * as z from 'zod';
import { SCHEDULES } from '../../lib/core/dispatch.ts';
import { CREDIT_POLICIES } from '../../lib/core/refund-lifecycle.ts';
import { LookupId, RequestedBy } from '../commons/run-input.ts';

/** The console's (or the schedule's) input of DispatchRefunds (CONTRACT.md). */

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
