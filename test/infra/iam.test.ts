import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PROJECT_ROOT, RefundFunction } from '../../infra/constructs/refund-function.ts';
import { MassRefundStack } from '../../infra/stack.ts';
import { TABLE_ENV, type TableKey } from '../../lib/adapters/dynamodb/table-names.ts';

/**
 * Least privilege, read from the synthesized template and checked for every Lambda function, so a
 * new stage is covered without touching this file: each grant must match what the function is
 * bound to (tables), what it is told about (environment) and what its code can reach (imports).
 */

type Json = Record<string, any>;
interface Statement {
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
}

const READ = new Set(['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator']);
const WRITE = new Set(['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']);
const TRACING = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
const SECRET_READ = new Set(['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret']);
const MAIL = new Set(['ses:SendEmail', 'ses:SendRawEmail']);
/** The PSP adapter module that reads the credentials secret (a PSP stage must reach it), and the SES clients (what makes a mail stage). */
const PSP_SECRET_MODULE = 'lib/adapters/psp/config.ts';
const MAIL_PACKAGES = ['@aws-sdk/client-ses', '@aws-sdk/client-sesv2'];
const BASIC_EXECUTION = 'service-role/AWSLambdaBasicExecutionRole';

let resources: Record<string, Json>;
/** Function logical id -> table key -> bound access, recorded from bindTable while the stack is built. */
const bindings = new Map<string, Map<TableKey, 'RO' | 'RW'>>();
let secretId: string;

beforeAll(() => {
  const spy = vi.spyOn(RefundFunction.prototype, 'bindTable');
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new MassRefundStack(app, 'MassRefund', { env: { account: '123456789012', region: 'eu-central-1' } });
  spy.mock.calls.forEach(([, key, access], i) => {
    const fn = spy.mock.contexts[i] as RefundFunction;
    const id = stack.getLogicalId(fn.node.defaultChild as never);
    if (!bindings.has(id)) bindings.set(id, new Map());
    const previous = bindings.get(id)!.get(key);
    bindings.get(id)!.set(key, previous === 'RW' || access === 'RW' ? 'RW' : 'RO');
  });
  spy.mockRestore();
  resources = (Template.fromStack(stack).toJSON() as Json).Resources;
  const secrets = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret');
  expect(secrets).toHaveLength(1);
  secretId = secrets[0]![0];
});
afterAll(() => vi.restoreAllMocks());

const tableIdByKey = (): Record<string, string> =>
  Object.fromEntries(Object.entries(resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table').map(([id, r]) => [r.Metadata['mass-refund:table'], id]));

function functions(): [string, Json][] {
  return Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
}

/** Every Allow/Deny statement that applies to a function: its role's attached policies and inline policies. */
function statementsOf(fn: Json): Statement[] {
  const roleId = fn.Properties.Role?.['Fn::GetAtt']?.[0] as string;
  const role = resources[roleId]!;
  const inline = (role.Properties.Policies ?? []).flatMap((p: Json) => p.PolicyDocument.Statement);
  const attached = Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles ?? []).some((ref: Json) => ref.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
  return [...inline, ...attached];
}

function managedPoliciesOf(fn: Json): string[] {
  const role = resources[fn.Properties.Role['Fn::GetAtt'][0]]!;
  return (role.Properties.ManagedPolicyArns ?? []).map((arn: unknown) => JSON.stringify(arn));
}

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : s.Action ? [s.Action] : []);
const resourceList = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** The logical ids a resource expression points at (GetAtt X.Arn, Ref X, Join of them). */
function referencedIds(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(referencedIds);
  if (value && typeof value === 'object') {
    const v = value as Json;
    if (typeof v.Ref === 'string') return [v.Ref];
    if (Array.isArray(v['Fn::GetAtt'])) return [v['Fn::GetAtt'][0]];
    return Object.values(v).flatMap(referencedIds);
  }
  return [];
}

/** Project files and packages the handler module can reach through static and dynamic imports. */
function reachable(entry: string): { files: Set<string>; packages: Set<string> } {
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { imports?: Record<string, string> };
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
    // `import type` / `export type` leave nothing in the bundle (esbuild drops them): not reached.
    for (const m of text.matchAll(/(?:import|export)\s(?!type\s)[^;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2]) as string;
      let target: string | undefined;
      if (spec.startsWith('.')) target = path.normalize(path.join(path.dirname(file), spec));
      else if (spec.startsWith('#')) {
        const [prefix, mapped] = Object.entries(pkg.imports ?? {}).find(([k]) => spec.startsWith(k.replace('*', ''))) ?? [];
        if (prefix && mapped) target = path.normalize(mapped.replace('*', spec.slice(prefix.replace('*', '').length)).replace(/\.ts\.ts$/, '.ts'));
      } else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string));
      if (target && existsSync(path.join(PROJECT_ROOT, target))) visit(target);
    }
  };
  visit(entry);
  return { files, packages };
}

/** Registered workflows that talk to the PSP: each has at least one PSP stage. */
const pspWorkflows = () => Object.values(resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine' && ['DispatchRefunds', 'ReconcileRefunds'].includes(r.Metadata?.['mass-refund:workflow'])).length;

describe('least privilege of every Lambda function (from the synthesized template)', () => {
  it('finds the stages', () => {
    const stages = functions().filter(([, f]) => f.Metadata?.['mass-refund:handler']);
    expect(stages.length).toBeGreaterThanOrEqual(5);
    expect(bindings.size).toBeGreaterThan(0);
  });

  it('grants no wildcard action, no NotAction/NotResource, and only the basic execution managed policy', () => {
    for (const [id, fn] of functions()) {
      for (const s of statementsOf(fn)) {
        expect(s.NotAction, id).toBeUndefined();
        expect(s.NotResource, id).toBeUndefined();
        for (const action of actionsOf(s)) {
          expect(action === '*' || action.endsWith(':*'), `${id}: ${action}`).toBe(false);
        }
      }
      for (const arn of managedPoliciesOf(fn)) expect(arn, id).toContain(BASIC_EXECUTION);
    }
  });

  it('grants DynamoDB exactly on the tables a stage is bound to, read-only where bound RO, each named by its environment', () => {
    const tableIds = tableIdByKey();
    for (const [id, fn] of functions()) {
      // prepare: what the function is bound to and what its environment names
      const bound = bindings.get(id) ?? new Map<TableKey, 'RO' | 'RW'>();
      const env = (fn.Properties.Environment?.Variables ?? {}) as Json;
      const named = Object.entries(TABLE_ENV).filter(([, variable]) => variable in env);
      // act: what the policies grant, per table
      const granted = new Map<string, Set<string>>();
      for (const s of statementsOf(fn)) {
        const dynamo = actionsOf(s).filter((a) => a.startsWith('dynamodb:'));
        if (dynamo.length === 0) continue;
        expect(s.Resource, `${id}: DynamoDB on *`).not.toBe('*');
        for (const table of referencedIds(s.Resource)) {
          if (!granted.has(table)) granted.set(table, new Set());
          for (const a of dynamo) granted.get(table)!.add(a);
        }
      }
      // assess
      expect(new Set(named.map(([key]) => key)), `${id}: table variables vs bindings`).toEqual(new Set(bound.keys()));
      for (const [key, variable] of named) expect(env[variable], `${id}: ${variable}`).toEqual({ Ref: tableIds[key] });
      expect(new Set(granted.keys()), `${id}: tables granted vs bound`).toEqual(new Set([...bound.keys()].map((k) => tableIds[k])));
      for (const [key, access] of bound) {
        const actions = [...(granted.get(tableIds[key]!) ?? [])];
        const allowed = access === 'RO' ? READ : new Set([...READ, ...WRITE]);
        expect(actions.filter((a) => !allowed.has(a)), `${id}: ${key} bound ${access}`).toEqual([]);
        if (access === 'RW') expect(actions.some((a) => WRITE.has(a)), `${id}: ${key} bound RW`).toBe(true);
      }
    }
  });

  it('lets only the PSP stages read the PSP secret, and only that secret', () => {
    let pspStages = 0;
    for (const [id, fn] of functions()) {
      const entry = fn.Metadata?.['mass-refund:handler']?.entry as string | undefined;
      // A PSP stage is told where the credentials are; its code must reach the module that reads them.
      const isPspStage = fn.Properties.Environment?.Variables?.PSP_SECRET_ARN !== undefined;
      if (isPspStage) expect(entry !== undefined && reachable(entry).files.has(PSP_SECRET_MODULE), `${id}: PSP_SECRET_ARN but no PSP code`).toBe(true);
      const secretStatements = statementsOf(fn).filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
      if (!isPspStage) {
        expect(secretStatements, `${id} is no PSP stage`).toEqual([]);
        continue;
      }
      pspStages++;
      expect(secretStatements.length, `${id}: a PSP stage reads the secret`).toBeGreaterThan(0);
      for (const s of secretStatements) {
        expect(actionsOf(s).filter((a) => !SECRET_READ.has(a)), id).toEqual([]);
        expect(resourceList(s).map((r) => JSON.stringify(r)), id).toEqual([JSON.stringify({ Ref: secretId })]);
      }
      expect(fn.Properties.Environment?.Variables?.PSP_SECRET_ARN, `${id}: PSP_SECRET_ARN`).toEqual({ Ref: secretId });
    }
    expect(pspStages, 'dispatch and reconciliation talk to the PSP').toBeGreaterThanOrEqual(pspWorkflows());
  });

  it('lets only the mail stages send email', () => {
    for (const [id, fn] of functions()) {
      const entry = fn.Metadata?.['mass-refund:handler']?.entry as string | undefined;
      const isMailStage = entry !== undefined && MAIL_PACKAGES.some((p) => reachable(entry).packages.has(p));
      const mailActions = statementsOf(fn).flatMap(actionsOf).filter((a) => a.startsWith('ses:'));
      if (!isMailStage) expect(mailActions, `${id} is no mail stage`).toEqual([]);
      else {
        expect(mailActions.length, `${id}: a mail stage may send`).toBeGreaterThan(0);
        expect(mailActions.filter((a) => !MAIL.has(a)), id).toEqual([]);
      }
    }
  });

  it('grants anything else only on resources named in the function environment (tracing aside), or SendMessage on its own dead-letter queue', () => {
    for (const [id, fn] of functions()) {
      const env = fn.Properties.Environment?.Variables ?? {};
      const told = new Set(referencedIds(env));
      // Lambda puts a failed asynchronous event on the function's dead-letter queue with the function's role.
      const deadLetters = new Set(referencedIds(fn.Properties.DeadLetterConfig?.TargetArn ?? []));
      // Writing to an SSE-KMS bucket named in the environment takes a data key of that bucket's key, and only that.
      for (const bucket of [...told].filter((t) => resources[t]?.Type === 'AWS::S3::Bucket')) {
        const keys = referencedIds(resources[bucket]!.Properties.BucketEncryption);
        for (const s of statementsOf(fn).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')) && referencedIds(s.Resource).every((k) => keys.includes(k)))) {
          expect(actionsOf(s), `${id}: KMS on the key of bucket ${bucket}`).toEqual(['kms:GenerateDataKey']);
          for (const key of referencedIds(s.Resource)) told.add(key);
        }
      }
      for (const s of statementsOf(fn)) {
        const other = actionsOf(s).filter((a) => !a.startsWith('dynamodb:') && !a.startsWith('secretsmanager:') && !a.startsWith('ses:') && !TRACING.has(a));
        if (other.length === 0) continue;
        expect(s.Resource, `${id}: ${other.join(', ')} on *`).not.toBe('*');
        for (const target of referencedIds(s.Resource)) {
          if (deadLetters.has(target) && other.every((a) => a === 'sqs:SendMessage')) continue;
          expect(told.has(target), `${id}: ${other.join(', ')} on ${target}, which its environment does not name`).toBe(true);
        }
      }
      for (const s of statementsOf(fn).filter((s) => actionsOf(s).some((a) => TRACING.has(a)))) {
        expect(actionsOf(s).filter((a) => !TRACING.has(a)), id).toEqual([]);
      }
    }
  });
});
