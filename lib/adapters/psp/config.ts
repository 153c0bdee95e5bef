import * as z from 'zod';
import { PspConfigurationError } from './port.ts';

export interface DatatransConfig {
  baseUrl: string;
  merchantId: string;
  password: string;
  timeoutMs: number;
}

/**
 * Reads a secret string; the default uses @aws-sdk/client-secrets-manager (loaded only on AWS).
 * Caching is the reader's (the stages use Powertools Parameters with a max age): a rotated secret
 * must reach warm containers, so nothing here keeps it for the container's life.
 */
export type SecretReader = (secretArn: string) => Promise<string>;

const secretSchema = z.object({ merchantId: z.string().min(1), password: z.string().min(1) });

const DEFAULT_TIMEOUT_MS = 20_000;

async function readSecretFromAws(secretArn: string): Promise<string> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: secretArn }));
  if (!out.SecretString) throw new PspConfigurationError(0, 'PSP secret has no SecretString');
  return out.SecretString;
}

/**
 * The Datatrans settings: MASS_REFUND_PSP_URL always from the environment; merchant id and password
 * from Secrets Manager when PSP_SECRET_ARN is set (JSON {merchantId, password}), else from
 * MASS_REFUND_PSP_MERCHANT_ID / MASS_REFUND_PSP_PASSWORD, else from `fallback` (the local sandbox's).
 * Throws PspConfigurationError when something is missing: the dispatch must not start.
 */
export async function loadDatatransConfig(
  options: { env?: NodeJS.ProcessEnv; fallback?: Partial<DatatransConfig>; readSecret?: SecretReader } = {},
): Promise<DatatransConfig> {
  const env = options.env ?? process.env;
  const fallback = options.fallback ?? {};
  const baseUrl = env.MASS_REFUND_PSP_URL || fallback.baseUrl;
  if (!baseUrl) throw new PspConfigurationError(0, 'MASS_REFUND_PSP_URL is not set');
  const timeoutText = env.MASS_REFUND_PSP_TIMEOUT_MS;
  const timeoutMs = timeoutText ? Number(timeoutText) : (fallback.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new PspConfigurationError(0, 'MASS_REFUND_PSP_TIMEOUT_MS must be a positive integer');

  const secretArn = env.PSP_SECRET_ARN;
  if (secretArn) {
    const text = await (options.readSecret ?? readSecretFromAws)(secretArn);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new PspConfigurationError(0, 'PSP secret is not JSON', { cause });
    }
    const parsed = secretSchema.safeParse(json);
    if (!parsed.success) throw new PspConfigurationError(0, 'PSP secret must be JSON {merchantId, password}');
    const { merchantId, password } = parsed.data;
    return { baseUrl, merchantId, password, timeoutMs };
  }
  const merchantId = env.MASS_REFUND_PSP_MERCHANT_ID || fallback.merchantId;
  const password = env.MASS_REFUND_PSP_PASSWORD || fallback.password;
  if (!merchantId || !password) throw new PspConfigurationError(0, 'MASS_REFUND_PSP_MERCHANT_ID and MASS_REFUND_PSP_PASSWORD must be set');
  return { baseUrl, merchantId, password, timeoutMs };
}
