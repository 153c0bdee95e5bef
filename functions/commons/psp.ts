import { createHash } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadDatatransConfig } from '../../lib/adapters/psp/config.ts';
import { DatatransPsp } from '../../lib/adapters/psp/datatrans.ts';
import { PspConfigurationError, type PspCreditLookup, type PspRefundOutcome, type PspTransactionLookup, type RefundPsp } from '../../lib/adapters/psp/port.ts';
import { rateLimited } from '../../lib/core/dispatch-pass.ts';
import { lookupTimingOf, type LookupTiming } from '../../lib/core/psp-decisions.ts';
import { envInt } from './env.ts';
import { METRIC } from './metric-names.ts';
import { logger, metrics } from './powertools.ts';

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
export function observed(inner: RefundPsp, key: string): RefundPsp {
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

/** The status lookup's timing as this container is configured (lib/core/psp-decisions.ts lookupTimingOf). */
export function lookupTiming(): LookupTiming & { unclearToManualMs: number } {
  return lookupTimingOf(process.env);
}
