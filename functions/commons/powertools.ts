import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One logger for every stage. Lines carry runId/refundId as keys, never names, emails,
 * card data or secrets: log ids and amounts only.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'mass-refund' });
