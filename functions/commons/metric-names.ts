/**
 * The custom metrics the stages publish (CloudWatch embedded metric format, via Powertools
 * Metrics) and the dashboard shows. Counts only, never names, emails or amounts per person.
 */
export const METRICS_NAMESPACE = 'MassRefund';

export const METRIC = {
  /** Refunds of one dispatch pass by outcome (dimensions: pass, outcome: the run report's outcome keys), when the pass finishes. */
  refunds: 'Refunds',
  /** Datatrans answered 429 (rate limited); the dispatch waited and tried again. */
  pspRateLimited: 'PspRateLimited',
  /** A PSP credit whose outcome is unknown (time-out, 5xx, lost answer): reconciliation settles it. */
  pspUnknown: 'PspUnknown',
  /** Customer and agency emails SendEmails sent, and gave up on, per run. */
  emailsSent: 'EmailsSent',
  emailsFailed: 'EmailsFailed',
  /** Vouchers and tickets written off by a real (not simulated) write-off run. */
  writtenOff: 'WrittenOff',
} as const;
