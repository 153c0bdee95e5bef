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
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...tableEnv(tablePrefix),
  };
}

export function applyEnvironment(env: Record<string, string>): void {
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
}
