import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { type METRIC, METRICS_NAMESPACE } from './metric-names.ts';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'mass-refund';

/**
 * One logger for every stage. Lines carry runId/refundId as keys, never names, emails,
 * card data or secrets: log ids and amounts only.
 */
export const logger = new Logger({ serviceName });

/**
 * One metrics instance for every stage: CloudWatch embedded metric format on stdout, published at
 * the end of each invocation that added any (see stage()). Counts only.
 */
export const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE, serviceName });

/** Counts of one run, each published as its own metric with these dimensions (e.g. {pass, outcome}). */
export function countMetric(name: (typeof METRIC)[keyof typeof METRIC], count: number, dimensions: Record<string, string> = {}): void {
  if (count <= 0) return;
  const single = metrics.singleMetric();
  single.addDimensions(dimensions);
  single.addMetric(name, MetricUnit.Count, count);
}
