import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Duration, Stack, type CfnResource } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/local/paths.ts';
import { LocalRunner } from '../../lib/local/runner.ts';

/**
 * The runner's containers on a small cloud assembly made here: two functions whose code is plain
 * CommonJS asset directories (what a bundle is), one workflow calling them. Each function runs in
 * its own containers, with its own environment, loaded as the Lambda runtime loads a bundle.
 */
const ECHO = `
let invocations = 0;
class TransientError extends Error { constructor(m) { super(m); this.name = 'TransientError'; } }
const sdk = require('@aws-sdk/client-dynamodb');
exports.handler = async (event, context) => {
  invocations++;
  console.log('echo says hi');
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  if (event.fail) throw new TransientError('try again');
  if (event.require) require(event.require);
  return {
    stage: process.env.STAGE,
    onlyLocal: process.env.ONLY_LOCAL ?? null,
    region: process.env.AWS_REGION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    contextFunctionName: context.functionName,
    remainingMs: context.getRemainingTimeInMillis(),
    stream: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    invocations,
    sdk: typeof sdk.DynamoDBClient,
  };
};`;
const OTHER = `exports.main = async () => ({ stage: process.env.STAGE, tableName: process.env.TABLE_NAME });`;
const BROKEN = `require('zod'); exports.handler = async () => 'never';`;
/** A bundle whose runtime dies while loading it, before it can say it is ready (or not). */
const EXITING = `process.exit(3);`;

let outdir: string;
let templatePath: string;

function functionOf(scope: Stack, id: string, code: string, handler: string, stage: string, timeout = 30): lambda.Function {
  const dir = path.join(outdir, 'src', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'index.js'), code);
  const fn = new lambda.Function(scope, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler,
    code: lambda.Code.fromAsset(dir),
    timeout: Duration.seconds(timeout),
    environment: { STAGE: stage, TABLE_NAME: `${id}-table`, NODE_OPTIONS: '--enable-source-maps' },
  });
  (fn.node.defaultChild as CfnResource).addMetadata('mass-refund:handler', { entry: `fixtures/${id}`, handler: 'handler' });
  return fn;
}

beforeAll(() => {
  outdir = mkdtempSync(path.join(tmpdir(), 'containers-'));
  const app = new App({ outdir: path.join(outdir, 'cdk.out') });
  const stack = new Stack(app, 'Containers');
  const echo = functionOf(stack, 'EchoFn', ECHO, 'index.handler', 'echo', 1);
  const other = functionOf(stack, 'OtherFn', OTHER, 'index.main', 'other');
  const broken = functionOf(stack, 'BrokenFn', BROKEN, 'index.handler', 'broken');
  const echoTask = new tasks.LambdaInvoke(stack, 'Echo', { lambdaFunction: echo, outputPath: '$.Payload', taskTimeout: sfn.Timeout.duration(Duration.seconds(20)) });
  echoTask.addRetry({ errors: ['TransientError'], maxAttempts: 2, interval: Duration.seconds(1) });
  const each = new sfn.Map(stack, 'EachItem', { itemsPath: '$.items', maxConcurrency: 4, resultPath: '$.echoes' }).itemProcessor(echoTask);
  const otherTask = new tasks.LambdaInvoke(stack, 'Other', { lambdaFunction: other, resultSelector: { 'value.$': '$.Payload' }, resultPath: '$.other' });
  const machine = new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(each.next(otherTask)) });
  (machine.node.defaultChild as CfnResource).addMetadata('mass-refund:workflow', 'Echo');
  const brokenMachine = new sfn.StateMachine(stack, 'BrokenMachine', {
    definitionBody: sfn.DefinitionBody.fromChainable(new tasks.LambdaInvoke(stack, 'CallBroken', { lambdaFunction: broken })),
  });
  (brokenMachine.node.defaultChild as CfnResource).addMetadata('mass-refund:workflow', 'Broken');
  const exiting = functionOf(stack, 'ExitingFn', EXITING, 'index.handler', 'exiting');
  const exitingMachine = new sfn.StateMachine(stack, 'ExitingMachine', {
    definitionBody: sfn.DefinitionBody.fromChainable(new tasks.LambdaInvoke(stack, 'CallExiting', { lambdaFunction: exiting })),
  });
  (exitingMachine.node.defaultChild as CfnResource).addMetadata('mass-refund:workflow', 'Exiting');
  templatePath = path.join(app.synth().directory, 'Containers.template.json');
});
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function runner(extra: Partial<ConstructorParameters<typeof LocalRunner>[0]> = {}): LocalRunner {
  return new LocalRunner({
    templatePath,
    projectRoot: PROJECT_ROOT,
    handlers: 'bundles',
    env: { AWS_REGION: 'eu-central-1', ONLY_LOCAL: 'not a platform variable', TABLE_NAME: 'local-table' },
    onLog: () => {},
    ...extra,
  });
}

type Echo = { stage: string; onlyLocal: string | null; region: string; functionName: string; contextFunctionName: string; remainingMs: number; stream: string; invocations: number; sdk: string };

describe('LocalRunner with bundles: Lambda containers', () => {
  it('gives each function its own environment: its template variables, the local values of those, the platform', async () => {
    // prepare
    const r = runner();
    // act
    const result = await r.start('Echo', { items: [{}] }).finally(() => r.close());
    // assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const output = result.output as { echoes: Echo[]; other: { value: { stage: string; tableName: string } } };
    expect(output.echoes[0]).toMatchObject({ stage: 'echo', onlyLocal: null, region: 'eu-central-1', sdk: 'function' });
    expect(output.echoes[0]?.functionName).toMatch(/^EchoFn/);
    expect(output.echoes[0]?.contextFunctionName).toBe(output.echoes[0]?.functionName);
    expect(output.echoes[0]?.remainingMs).toBeLessThanOrEqual(1000);
    expect(output.other.value).toEqual({ stage: 'other', tableName: 'local-table' });
    expect(result.stats.coldStarts).toBe(2);
  });

  it('runs one invocation at a time per container: parallel calls start containers, later calls reuse them warm', async () => {
    // prepare
    const r = runner();
    const items = Array.from({ length: 4 }, () => ({ sleepMs: 150 }));
    // act
    const first = await r.start('Echo', { items });
    const second = await r.start('Echo', { items });
    await r.close();
    // assess
    const streams = (res: typeof first) => (res.output as { echoes: Echo[] }).echoes.map((e) => e.stream);
    expect(new Set(streams(first)).size).toBe(4);
    expect(new Set([...streams(first), ...streams(second)]).size).toBe(4);
    expect((second.output as { echoes: Echo[] }).echoes.map((e) => e.invocations)).toEqual([2, 2, 2, 2]);
    expect(second.stats.coldStarts).toBe(0);
  });

  it('caps the containers of a function: beyond the cap invocations wait for a free one', async () => {
    // prepare
    const r = runner({ maxContainers: 2 });
    // act
    const result = await r.start('Echo', { items: Array.from({ length: 4 }, () => ({ sleepMs: 50 })) }).finally(() => r.close());
    // assess
    const echoes = (result.output as { echoes: Echo[] }).echoes;
    const perContainer = new Map<string, number>();
    for (const e of echoes) perContainer.set(e.stream, Math.max(perContainer.get(e.stream) ?? 0, e.invocations));
    expect(perContainer.size).toBe(2);
    expect([...perContainer.values()].reduce((a, b) => a + b, 0)).toBe(4);
    expect(result.stats.coldStarts).toBe(2 + 1);
  });

  it('a configuration change replaces the containers: new environment, module state from zero; undefined returns to the deployed value', async () => {
    // prepare
    const r = runner();
    await r.start('Echo', { items: [{}] });
    // act
    await r.configure({ environment: { STAGE: 'changed' } }, (fn) => fn.logicalId.startsWith('EchoFn'));
    const changed = await r.start('Echo', { items: [{}] });
    await r.configure({ environment: { STAGE: undefined } });
    const restored = await r.start('Echo', { items: [{}] });
    await r.close();
    // assess
    const echo = (res: typeof changed) => (res.output as { echoes: Echo[]; other: { value: { stage: string } } });
    expect(echo(changed).echoes[0]).toMatchObject({ stage: 'changed', invocations: 1 });
    expect(echo(changed).other.value.stage).toBe('other');
    expect(echo(restored).echoes[0]).toMatchObject({ stage: 'echo', invocations: 1 });
  });

  it("reports a thrown error as the runtime does (errorType = the error's name), so Retry matches it", async () => {
    // prepare
    const r = runner();
    // act
    const result = await r.start('Echo', { items: [{ fail: true }] }).finally(() => r.close());
    // assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'TransientError' });
    expect(JSON.parse(result.cause ?? '{}')).toMatchObject({ errorType: 'TransientError', errorMessage: 'try again' });
    expect(result.stats.retries).toBe(2);
  });

  it('resolves only what the Lambda runtime provides: a package the bundle left external fails as on Lambda', async () => {
    // prepare
    const r = runner();
    // act
    const atInit = await r.start('Broken', {});
    const inHandler = await r.start('Echo', { items: [{ require: 'ajv' }] });
    await r.close();
    // assess
    expect(atInit).toMatchObject({ status: 'FAILED', error: 'Runtime.ImportModuleError' });
    expect(JSON.parse(atInit.cause ?? '{}').errorMessage).toContain("Cannot find module 'zod'");
    expect(inHandler).toMatchObject({ status: 'FAILED', error: 'Error' });
    expect(JSON.parse(inHandler.cause ?? '{}').errorMessage).toContain("Cannot find module 'ajv'");
  });

  it('fails the invocation of a container whose runtime exits while loading the bundle, never waits for it', async () => {
    // prepare
    const r = runner();
    // act
    const result = await r.start('Exiting', {}).finally(() => r.close());
    // assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'Runtime.ExitError' });
    expect(JSON.parse(result.cause ?? '{}').errorMessage).toMatch(/exit status 3/);
  }, 20_000);

  it("stops a container at the function's timeout", async () => {
    // prepare
    const r = runner();
    // act
    const result = await r.start('Echo', { items: [{ sleepMs: 3000 }] }).finally(() => r.close());
    // assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'Sandbox.Timedout' });
    expect(JSON.parse(result.cause ?? '{}').errorMessage).toMatch(/Task timed out after 1\.00 seconds/);
  });

  it('hands what a container writes to stdout to onLog, with the function it came from', async () => {
    // prepare
    const lines: { text: string; functionName: string }[] = [];
    const r = runner({ onLog: (text, source) => lines.push({ text, functionName: source.functionName }) });
    // act
    await r.start('Echo', { items: [{}] }).finally(() => r.close());
    // assess
    expect(lines.some((l) => l.text.includes('echo says hi') && l.functionName.startsWith('EchoFn'))).toBe(true);
  });
});
