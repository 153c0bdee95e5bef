import { SANDBOX_MERCHANT_ID, SANDBOX_PASSWORD } from './psp-sandbox/credentials.ts';
import { tableEnv } from './tables.ts';

export const DEFAULT_TABLE_PREFIX = 'mass-refund-';
export const LOCAL_SENDER = 'refunds@mass-refund.example';

export interface LocalEndpoints {
  dynamodb: string;
  ses: string;
  psp: string;
}

/**
 * The environment that points every adapter at the local emulators. The AWS SDK reads
 * AWS_ENDPOINT_URL_<SERVICE> itself, so handlers run unchanged. A PSP URL set by the user
 * (e.g. Datatrans' test environment) wins over the sandbox.
 */
export function localEnvironment(endpoints: LocalEndpoints, tablePrefix = DEFAULT_TABLE_PREFIX): Record<string, string> {
  const userPsp = process.env.MASS_REFUND_PSP_URL && process.env.MASS_REFUND_PSP_URL !== endpoints.psp;
  return {
    AWS_REGION: 'eu-central-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SES: endpoints.ses,
    AWS_ENDPOINT_URL_SESV2: endpoints.ses,
    MASS_REFUND_PSP_URL: userPsp ? (process.env.MASS_REFUND_PSP_URL as string) : endpoints.psp,
    MASS_REFUND_PSP_MERCHANT_ID: userPsp ? (process.env.MASS_REFUND_PSP_MERCHANT_ID ?? '') : SANDBOX_MERCHANT_ID,
    MASS_REFUND_PSP_PASSWORD: userPsp ? (process.env.MASS_REFUND_PSP_PASSWORD ?? '') : SANDBOX_PASSWORD,
    MASS_REFUND_SANDBOX_URL: endpoints.psp,
    MAIL_SENDER: process.env.MAIL_SENDER ?? LOCAL_SENDER,
    // The sender's quota is the stack's (context mass-refund:sesMaxSendRate) unless set here for local runs.
    ...(process.env.MASS_REFUND_SES_MAX_SEND_RATE ? { SES_MAX_SEND_RATE: process.env.MASS_REFUND_SES_MAX_SEND_RATE } : {}),
    POWERTOOLS_DEV: 'true',
    // Metrics go to the functions' stdout as EMF locally, as they go to CloudWatch Logs on AWS.
    POWERTOOLS_METRICS_DISABLED: 'false',
    ...tableEnv(tablePrefix),
  };
}

/** Tuning knobs of the stages (see bench/README.md) and the log level, set in the shell for local runs. */
const STAGE_TUNING = /^(BOOKING_|DISPATCH_|RECONCILE_|WRITE_OFF_|EMAIL_|MASS_REFUND_(PAGES_PER_CALL|CALL_SECONDS|CALLS_PER_SHARD|BATCHES_PER_EXECUTION)$|POWERTOOLS_LOG_LEVEL$|MASS_REFUND_SENDING_LEASE_SECONDS$|MASS_REFUND_PSP_TIMEOUT_MS$)/;

/**
 * The tuning variables of this process's environment. Deployed functions see only their own
 * configuration; locally these are added to it (the runner's configure()), as a deploy would.
 */
export function stageTuning(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => STAGE_TUNING.test(e[0]) && e[1] !== undefined));
}

/** The `mass-refund:secret` of the Datatrans credentials in the stack. */
export const PSP_SECRET_KEY = 'psp-credentials';

/**
 * The local runtime's secrets, served by the runner's local Secrets Manager: the Datatrans
 * credentials the dispatch reads as it does on AWS (the sandbox's, or the user's own).
 */
export function localSecrets(env: Record<string, string | undefined>): Record<string, string> {
  return { [PSP_SECRET_KEY]: JSON.stringify({ merchantId: env.MASS_REFUND_PSP_MERCHANT_ID ?? SANDBOX_MERCHANT_ID, password: env.MASS_REFUND_PSP_PASSWORD ?? SANDBOX_PASSWORD }) };
}

export function applyEnvironment(env: Record<string, string>): void {
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
}
