import * as z from 'zod';
import { DatatransPsp } from '../../lib/adapters/psp/datatrans.ts';
import { loadDatatransConfig } from '../../lib/adapters/psp/config.ts';
import type { RefundPsp } from '../../lib/adapters/psp/port.ts';
import { CREDIT_POLICIES } from '../../lib/core/refund-lifecycle.ts';
import { logger } from '../commons/powertools.ts';

export const WORKFLOW = 'DispatchRefunds';

export const TalliesSchema = z.record(z.string(), z.object({ count: z.number().int(), totals: z.record(z.string(), z.number().int()) }));

/** What every page of a pass carries through the paging loop. */
export const PageState = z.object({
  runId: z.string().min(1),
  mode: z.enum(['simulate', 'psp', 'credit']),
  from: z.string(),
  to: z.string(),
  creditPolicy: z.enum(CREDIT_POLICIES),
  simulationRunId: z.string().min(1),
  /** Only this performance's refunds (null: every performance). */
  performanceId: z.string().nullish().transform((p) => p ?? null),
  /** false: the run owes no card or credit emails. */
  notifyCustomers: z.boolean().default(true),
  shard: z.number().int().min(0),
  cursor: z.string().nullish().transform((c) => c ?? null),
  page: z.number().int().min(0).default(0),
  tallies: TalliesSchema.default({}),
  /** Keeps a second pass of the same run (the nightly credit pass) apart in the run log. */
  logPrefix: z.string().default(''),
});
export type PageState = z.infer<typeof PageState>;

export const pageKey = (shard: number, page: number, prefix = '') => `${prefix}shard${String(shard).padStart(2, '0')}#page${String(page).padStart(5, '0')}`;

let cachedPsp: { key: string; psp: Promise<RefundPsp> } | undefined;

/** One PSP client per container (credentials read once); the key follows the configuration. */
export function psp(): Promise<RefundPsp> {
  const key = `${process.env.MASS_REFUND_PSP_URL ?? ''}|${process.env.MASS_REFUND_PSP_MERCHANT_ID ?? ''}|${process.env.PSP_SECRET_ARN ?? ''}|${process.env.MASS_REFUND_PSP_TIMEOUT_MS ?? ''}`;
  if (!cachedPsp || cachedPsp.key !== key) {
    // Local credentials (the local runtime's) win over the stack's secret.
    const env = process.env.MASS_REFUND_PSP_MERCHANT_ID ? { ...process.env, PSP_SECRET_ARN: undefined } : process.env;
    const created = loadDatatransConfig({ env }).then(
      (config) => new DatatransPsp({ ...config, logger: { warn: (message, details) => logger.warn(message, details) } }) as RefundPsp,
    );
    created.catch(() => (cachedPsp = undefined));
    cachedPsp = { key, psp: created };
  }
  return cachedPsp.psp;
}

export { forEachConcurrently } from '../../lib/core/concurrency.ts';
export { envInt } from '../commons/bookings.ts';
