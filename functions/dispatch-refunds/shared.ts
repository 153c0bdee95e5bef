import { createHash } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import { DatatransPsp } from '../../lib/adapters/psp/datatrans.ts';
import { loadDatatransConfig } from '../../lib/adapters/psp/config.ts';
import { PspConfigurationError, type PspTransactionLookup, type PspRefundOutcome, type PspCreditLookup, type RefundPsp } from '../../lib/adapters/psp/port.ts';
import { DISPATCH_WORKFLOW } from '../../lib/core/dispatch.ts';
import { rateLimited } from '../../lib/core/dispatch-pass.ts';
import { KEY_TRUST_MS } from '../../lib/core/psp-decisions.ts';
import { CREDIT_POLICIES } from '../../lib/core/refund-lifecycle.ts';
import { TalliesSchema } from '../../lib/core/report.ts';
import type { DispatchConfig } from '../../lib/services/dispatch/page.ts';
import { envInt } from '../commons/bookings.ts';
import { METRIC } from '../commons/metric-names.ts';
import { logger, metrics } from '../commons/powertools.ts';

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

let cachedPsp: { key: string; psp: RefundPsp } | undefined;
/**
 * The configuration Datatrans refused (401/403): while the secret still holds it, every read skips
 * the cache, so the rotated value is used as soon as it is in Secrets Manager.
 */
let refusedKey: string | undefined;

/**
 * The Datatrans credentials through Powertools Parameters (Secrets Manager provider), cached for
 * PSP_SECRET_MAX_AGE_SECONDS (default 300): a rotated secret is picked up within that time by warm
 * containers, and at once after a 401/403.
 */
async function readPspSecret(secretArn: string): Promise<string> {
  const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
  const value = await getSecret(secretArn, { maxAge: envInt('PSP_SECRET_MAX_AGE_SECONDS', 300), forceFetch: refusedKey !== undefined });
  if (typeof value !== 'string') throw new PspConfigurationError(0, 'PSP secret has no SecretString');
  return value;
}

/** The PSP client of this container, rebuilt when its configuration (credentials included) changes. */
export async function psp(): Promise<RefundPsp> {
  const config = await loadDatatransConfig({ readSecret: readPspSecret });
  const key = createHash('sha256').update(JSON.stringify(config)).digest('hex');
  if (refusedKey !== undefined && refusedKey !== key) refusedKey = undefined;
  if (!cachedPsp || cachedPsp.key !== key) {
    const client = new DatatransPsp({ ...config, logger: { warn: (message, details) => logger.warn(message, details) } });
    cachedPsp = { key, psp: observed(client, key) };
  }
  return cachedPsp.psp;
}

/** Counts the PSP's 429s and the credit answers that left a refund unknown (metrics), and notes refused credentials. */
function observed(inner: RefundPsp, key: string): RefundPsp {
  const seen = <T extends { kind: string; reason?: string }>(outcome: T, credit: boolean): T => {
    if (outcome.kind === 'configuration_error') refusedKey = key;
    if (credit && (outcome.kind === 'unknown' || outcome.kind === 'not_creditable')) metrics.addMetric(METRIC.pspUnknown, MetricUnit.Count, 1);
    if (rateLimited(outcome)) metrics.addMetric(METRIC.pspRateLimited, MetricUnit.Count, 1);
    return outcome;
  };
  return {
    name: inner.name,
    refund: async (req) => seen<PspRefundOutcome>(await inner.refund(req), true),
    transaction: async (id) => seen<PspTransactionLookup>(await inner.transaction(id), false),
    credit: async (id) => seen<PspCreditLookup>(await inner.credit(id), false),
  };
}

export { forEachConcurrently } from '../../lib/core/concurrency.ts';
export { envInt };
