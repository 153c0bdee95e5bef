import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { afterAll, describe, expect, it } from 'vitest';
import { MassRefundStack } from '../../infra/stack.ts';

/**
 * AWS Control Tower's proactive controls (the cfn-guard rules @cdklabs/cdk-validator-cfnguard
 * ships) over the synthesized template. All pass except these, each for its reason:
 */
const ACCEPTED = {
  // The functions call DynamoDB, SES, Secrets Manager and Datatrans' public API; a VPC would add NAT gateways and endpoints, not protection.
  'ct-lambda-pr-3.guard/lambda_inside_vpc_check': true,
  // Nothing reacts to new write-off files or access logs: they are read by people, so no event notification has a consumer.
  'ct-s3-pr-4.guard/s3_event_notifications_enabled_check': true,
  // Write-off files are versioned and retained; object lock's WORM mode would also block the lifecycle rules that expire access logs and replaced versions.
  'ct-s3-pr-9.guard/s3_bucket_object_lock_enabled_check': true,
} as const;

const require = createRequire(import.meta.url);
const run = promisify(execFile);
const PACKAGE = path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));
const RULES = path.join(PACKAGE, 'rules', 'control-tower', 'cfn-guard');
const CFN_GUARD = path.join(PACKAGE, 'bin', 'ubuntu', 'x86_64', 'cfn-guard');

const outdirs: string[] = [];
afterAll(() => outdirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The template as `cdk synth` writes it (bundling skipped: the rules read resources, not code). */
function synthesize(context: Record<string, unknown> = {}, mutate?: (stack: MassRefundStack) => void): string {
  const outdir = mkdtempSync(path.join(tmpdir(), 'control-tower-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new MassRefundStack(app, 'MassRefund', { env: { account: '123456789012', region: 'eu-central-1' } });
  mutate?.(stack);
  return path.join(app.synth().directory, 'MassRefund.template.json');
}

/** The failing rules, as `<file>.guard/<rule>`. cfn-guard exits 19 when a rule fails. */
async function failingRules(template: string): Promise<string[]> {
  try {
    accessSync(CFN_GUARD, constants.X_OK);
  } catch {
    chmodSync(CFN_GUARD, 0o755); // a package manager that dropped the executable bit
  }
  const result = await run(CFN_GUARD, ['validate', '-r', RULES, '-d', template, '-S', 'fail'], { maxBuffer: 32 * 1024 * 1024 }).catch((error: { code?: number; stdout?: string; stderr?: string }) => {
    if (error.code !== 19) throw new Error(`cfn-guard failed (exit ${error.code}): ${error.stderr ?? ''}`);
    return { stdout: error.stdout ?? '' };
  });
  return [...new Set([...result.stdout.matchAll(/^\s*(ct-[\w-]+\.guard\/\w+)\s+FAIL\s*$/gm)].map((m) => m[1] as string))].sort();
}

describe("AWS Control Tower's proactive controls over the synthesized template", () => {
  it('all pass but the three accepted exceptions (the stack with its own access-log bucket)', async () => {
    expect(await failingRules(synthesize())).toEqual(Object.keys(ACCEPTED).sort());
  }, 240_000);

  it('all pass but the three accepted exceptions (a production deployment logging to a central bucket, alarms to an address)', async () => {
    const context = {
      'mass-refund:stage': 'production',
      'mass-refund:mailSender': 'refunds@tickets.example.org',
      'mass-refund:pspUrl': 'https://api.datatrans.com',
      'mass-refund:accessLogBucket': 'aws-controltower-s3-access-logs-123456789012-eu-central-1',
      'mass-refund:alarmEmail': 'ops@tickets.example.org',
      'mass-refund:schedulesEnabled': 'true',
    };
    expect(await failingRules(synthesize(context))).toEqual(Object.keys(ACCEPTED).sort());
  }, 240_000);

  it('would see a violation: a log group kept a month fails CT.CLOUDWATCH.PR.2', async () => {
    const template = synthesize({}, (stack) => new logs.LogGroup(stack, 'Careless', { retention: logs.RetentionDays.ONE_MONTH }));
    expect(await failingRules(template)).toContain('ct-cloudwatch-pr-2.guard/cloudwatch_log_group_retention_period_check');
  }, 240_000);
});
