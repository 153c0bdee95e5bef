import type { Construct } from 'constructs';

/**
 * The deployment's settings, from CDK context (`cdk deploy -c key=value` or cdk.json). The
 * README's deployment section lists them. A production stage refuses to synthesize with the
 * example sender or Datatrans' test environment still in place.
 */
export const CONTEXT = {
  /** `production` turns on the checks below; anything else (default `development`) is a trial. */
  stage: 'mass-refund:stage',
  /** The SES-verified sender of customer and agency emails. */
  mailSender: 'mass-refund:mailSender',
  /** Base URL of the Datatrans JSON API. */
  pspUrl: 'mass-refund:pspUrl',
  /** `true` deploys the nightly dispatch schedules enabled; default disabled. */
  schedulesEnabled: 'mass-refund:schedulesEnabled',
  /** Per currency, the simulated total below which a scheduled pass goes on without a person: {"CHF": 200000}. */
  autoApprovalLimits: 'mass-refund:autoApprovalLimits',
  /** Who receives the alarms (SNS email subscription). */
  alarmEmail: 'mass-refund:alarmEmail',
  /** An existing bucket for S3 server access logs (e.g. Control Tower's log archive); default: one in the stack. */
  accessLogBucket: 'mass-refund:accessLogBucket',
} as const;

export const EXAMPLE_SENDER = 'refunds@mass-refund.example';
export const DATATRANS_TEST_URL = 'https://api.sandbox.datatrans.com';

const context = <T>(scope: Construct, key: string): T | undefined => scope.node.tryGetContext(key) as T | undefined;

export function stageOf(scope: Construct): string {
  return context<string>(scope, CONTEXT.stage) ?? 'development';
}

export function mailSenderOf(scope: Construct): string {
  return context<string>(scope, CONTEXT.mailSender) ?? EXAMPLE_SENDER;
}

export function pspUrlOf(scope: Construct): string {
  return context<string>(scope, CONTEXT.pspUrl) ?? DATATRANS_TEST_URL;
}

/** Context values given on the command line are strings. */
export function schedulesEnabledOf(scope: Construct): boolean {
  const value = context<unknown>(scope, CONTEXT.schedulesEnabled);
  return value === true || value === 'true';
}

/** Default: none, i.e. 0 in every currency: a person approves every scheduled pass that moves money. */
export function autoApprovalLimitsOf(scope: Construct): Record<string, number> {
  const value = context<unknown>(scope, CONTEXT.autoApprovalLimits) ?? {};
  return (typeof value === 'string' ? JSON.parse(value) : value) as Record<string, number>;
}

export function alarmEmailOf(scope: Construct): string | undefined {
  return context<string>(scope, CONTEXT.alarmEmail);
}

export function accessLogBucketOf(scope: Construct): string | undefined {
  return context<string>(scope, CONTEXT.accessLogBucket);
}

/** Why this deployment must not go to production as configured (empty: it may). */
export function productionProblems(scope: Construct): string[] {
  if (stageOf(scope) !== 'production') return [];
  const problems: string[] = [];
  if (mailSenderOf(scope) === EXAMPLE_SENDER || mailSenderOf(scope).endsWith('.example')) {
    problems.push(`${CONTEXT.mailSender} is the example sender ${mailSenderOf(scope)}: set the SES-verified address customers get their emails from`);
  }
  if (new URL(pspUrlOf(scope)).hostname.includes('sandbox')) {
    problems.push(`${CONTEXT.pspUrl} is Datatrans' test environment ${pspUrlOf(scope)}: set the production API (https://api.datatrans.com)`);
  }
  return problems;
}

/** A production stage still configured like a trial. */
export class DeploymentSettingsError extends Error {
  override readonly name: string = 'DeploymentSettingsError';
}

export function assertDeployable(scope: Construct): void {
  const problems = productionProblems(scope);
  if (problems.length > 0) {
    throw new DeploymentSettingsError(`${CONTEXT.stage}=production refuses to synthesize:\n- ${problems.join('\n- ')}`);
  }
}
