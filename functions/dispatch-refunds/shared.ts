import * as z from 'zod';
import { DISPATCH_WORKFLOW } from '../../lib/core/dispatch.ts';
import { KEY_TRUST_MS } from '../../lib/core/psp-decisions.ts';
import { CREDIT_POLICIES } from '../../lib/core/refund-lifecycle.ts';
import { TalliesSchema } from '../../lib/core/report.ts';
import type { DispatchConfig } from '../../lib/services/dispatch/page.ts';
import { envInt } from '../commons/env.ts';

export const WORKFLOW = DISPATCH_WORKFLOW;

/** The choices a pass is bound to by its simulation: the range, the policy, the performance, the emails. */
export const PassChoices = z.object({
  from: z.string(),
  to: z.string(),
  creditPolicy: z.enum(CREDIT_POLICIES),
  simulationRunId: z.string().min(1),
  /** Only this performance's refunds (null: every performance). */
  performanceId: z.string().nullish().transform((p) => p ?? null),
  /** false: the run owes no card or credit emails. */
  notifyCustomers: z.boolean().default(true),
});

/** What every page of a pass carries through the paging loop. */
export const PageState = z.object({
  runId: z.string().min(1),
  mode: z.enum(['simulate', 'psp', 'credit']),
  ...PassChoices.shape,
  shard: z.number().int().min(0),
  cursor: z.string().nullish().transform((c) => c ?? null),
  page: z.number().int().min(0).default(0),
  tallies: TalliesSchema.default({}),
  /** Keeps a second pass of the same run (the nightly credit pass) apart in the run log. */
  logPrefix: z.string().default(''),
});
export type PageState = z.infer<typeof PageState>;

/** The dispatch's tuning knobs from the environment (tests force small pages and packs). */
export function dispatchConfig(): DispatchConfig {
  return {
    pspPageSize: envInt('DISPATCH_PSP_PAGE_SIZE', 100),
    pageSize: envInt('DISPATCH_PAGE_SIZE', 250),
    creditsPerTransaction: envInt('DISPATCH_CREDITS_PER_TRANSACTION', 50),
    psp: {
      leaseMs: envInt('MASS_REFUND_SENDING_LEASE_SECONDS', 900) * 1000,
      concurrency: envInt('DISPATCH_PSP_CONCURRENCY', 16),
      maxTries: envInt('DISPATCH_PSP_TRIES', 6),
      keyTrustMs: envInt('MASS_REFUND_KEY_TRUST_SECONDS', KEY_TRUST_MS / 1000) * 1000,
    },
  };
}
