import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MassRefundStack } from '../../infra/stack.ts';

/**
 * AWS Control Tower's proactive controls (the cfn-guard rules @cdklabs/cdk-validator-cfnguard
 * ships) over the synthesized template. All pass except these, left out of the run, each for its reason:
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

const outdir = mkdtempSync(path.join(tmpdir(), 'control-tower-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The template as `cdk synth` writes it (bundling skipped: the rules read resources, not code). */
function synthesize(name: string, context: Record<string, unknown> = {}): string {
  const app = new App({ outdir: path.join(outdir, name), context: { 'aws:cdk:bundling-stacks': [], ...context } });
  new MassRefundStack(app, 'MassRefund', { env: { account: '123456789012', region: 'eu-central-1' } });
  return path.join(app.synth().directory, 'MassRefund.template.json');
}

/**
 * The rule files that apply to these templates: those about a resource type the templates have
 * (a rule about another type has nothing to check), the accepted exceptions left out.
 */
function ruleFiles(templates: string[]): string[] {
  const types = new Set(templates.flatMap((t) => Object.values((JSON.parse(readFileSync(t, 'utf8')) as { Resources: Record<string, { Type: string }> }).Resources).map((r) => r.Type)));
  const accepted = new Set(Object.keys(ACCEPTED).map((rule) => rule.split('/')[0]));
  return readdirSync(RULES, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.guard') && !accepted.has(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((file) => {
      const mentioned = readFileSync(file, 'utf8').match(/AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g) ?? [];
      return mentioned.length === 0 || mentioned.some((type) => types.has(type));
    });
}

/** The failing rules, as `<file>.guard/<rule>`. cfn-guard exits 19 when a rule fails. */
async function failingRules(templates: string[], rules = ruleFiles(templates)): Promise<string[]> {
  try {
    accessSync(CFN_GUARD, constants.X_OK);
  } catch {
    chmodSync(CFN_GUARD, 0o755); // a package manager that dropped the executable bit
  }
  const args = ['validate', ...rules.flatMap((r) => ['-r', r]), ...templates.flatMap((t) => ['-d', t]), '-S', 'fail'];
  const result = await run(CFN_GUARD, args, { maxBuffer: 64 * 1024 * 1024 }).catch((error: { code?: number; stdout?: string; stderr?: string }) => {
    if (error.code !== 19) throw new Error(`cfn-guard failed (exit ${error.code}): ${error.stderr ?? ''}`);
    return { stdout: error.stdout ?? '' };
  });
  return [...new Set([...result.stdout.matchAll(/^\s*(ct-[\w-]+\.guard\/\w+)\s+FAIL\s*$/gm)].map((m) => m[1] as string))].sort();
}

let trial: string;
let production: string;
beforeAll(() => {
  // The stack with its own access-log bucket, and a production deployment logging to a central bucket, alarms to an address.
  trial = synthesize('trial');
  production = synthesize('production', {
    'mass-refund:stage': 'production',
    'mass-refund:mailSender': 'refunds@tickets.example.org',
    'mass-refund:pspUrl': 'https://api.datatrans.com',
    'mass-refund:accessLogBucket': 'aws-controltower-s3-access-logs-123456789012-eu-central-1',
    'mass-refund:alarmEmail': 'ops@tickets.example.org',
    'mass-refund:schedulesEnabled': 'true',
  });
}, 240_000);

describe("AWS Control Tower's proactive controls over the synthesized template", () => {
  it('apply to this stack: its log groups, buckets, key, alarms, state machines, tables, roles', () => {
    const names = ruleFiles([trial, production]).map((f) => path.basename(f));
    for (const rule of ['ct-cloudwatch-pr-1.guard', 'ct-cloudwatch-pr-2.guard', 'ct-cloudwatch-pr-3.guard', 'ct-s3-pr-2.guard', 'ct-s3-pr-10.guard', 'ct-kms-pr-3.guard', 'ct-stepfunctions-pr-1.guard', 'ct-dynamodb-pr-1.guard', 'ct-iam-pr-1.guard']) {
      expect(names, rule).toContain(rule);
    }
  });

  it('all pass but the three accepted exceptions, with the stack\'s own access-log bucket and in production', async () => {
    expect(await failingRules([trial, production])).toEqual([]);
  }, 240_000);

  it('would see a violation: a log group kept a month fails CT.CLOUDWATCH.PR.2', async () => {
    const template = JSON.parse(readFileSync(trial, 'utf8')) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const logGroup = Object.values(template.Resources).find((r) => r.Type === 'AWS::Logs::LogGroup')!;
    logGroup.Properties['RetentionInDays'] = 30;
    const careless = path.join(outdir, 'careless.template.json');
    writeFileSync(careless, JSON.stringify(template));
    expect(await failingRules([careless], [path.join(RULES, 'cloudwatch', 'ct-cloudwatch-pr-2.guard')])).toEqual(['ct-cloudwatch-pr-2.guard/cloudwatch_log_group_retention_period_check']);
  }, 240_000);

  it('would see a violation in an accepted rule too (the exceptions are left out, not hidden)', async () => {
    expect(await failingRules([trial], [path.join(RULES, 'lambda', 'ct-lambda-pr-3.guard')])).toEqual(['ct-lambda-pr-3.guard/lambda_inside_vpc_check']);
  }, 240_000);
});
