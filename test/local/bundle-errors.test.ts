import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { lambdaErrorMessage } from '../../lib/core/errors.ts';
import { localEnvironment } from '../../lib/local/env.ts';
import { runnerForLocalRuntime } from '../../lib/local/local-runner.ts';
import type { LocalExecutionEvent, LocalRunner } from '../../lib/local/runner.ts';
import { listStateMachines, type CfnTemplate } from '../../lib/local/template.ts';

/**
 * The names the state machines match on must be what the deployed bundles throw: the bundles are
 * minified, and an error named after its class would be `me` there (Retry never matching). Every
 * ErrorEquals name of every definition is provoked here through the bundles of the cloud assembly.
 * States.* are Step Functions' own; Lambda.* are raised by the Lambda service (throttling, service
 * errors: CDK's retryOnServiceExceptions), StepFunctions.* by the startExecution integration that
 * continues a run (test/local/execution-limits.test.ts), never by a function's code.
 */
let template: CfnTemplate;
let templatePath: string;
let dynamodb: Server;
let dynamodbUrl: string;
let dynamodbRequests = 0;

beforeAll(async () => {
  templatePath = inject('templatePath');
  template = JSON.parse(readFileSync(templatePath, 'utf8')) as CfnTemplate;
  // A DynamoDB that answers every request with a transaction conflict: a store error that clears by itself.
  dynamodb = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      dynamodbRequests++;
      res.writeHead(400, { 'Content-Type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#TransactionConflictException', message: 'Transaction is ongoing for the item' }));
    });
  });
  await new Promise<void>((r) => dynamodb.listen(0, '127.0.0.1', r));
  dynamodbUrl = `http://127.0.0.1:${(dynamodb.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => dynamodb.close(() => r())));

function matchedNames(): Map<string, string[]> {
  const names = new Map<string, string[]>();
  const walk = (workflow: string, definition: Record<string, unknown>) => {
    for (const [stateName, state] of Object.entries((definition['States'] ?? {}) as Record<string, Record<string, unknown>>)) {
      for (const rule of [...((state['Retry'] as { ErrorEquals: string[] }[]) ?? []), ...((state['Catch'] as { ErrorEquals: string[] }[]) ?? [])]) {
        for (const name of rule.ErrorEquals) names.set(name, [...(names.get(name) ?? []), `${workflow}.${stateName}`]);
      }
      const inner = (state['ItemProcessor'] ?? state['Iterator']) as Record<string, unknown> | undefined;
      if (inner) walk(workflow, inner);
      for (const branch of (state['Branches'] as Record<string, unknown>[] | undefined) ?? []) walk(workflow, branch);
    }
  };
  for (const machine of listStateMachines(template)) walk(machine.workflow, machine.definition);
  return names;
}

function runnerAgainst(dynamodbEndpoint: string): LocalRunner {
  const env = localEnvironment({ dynamodb: dynamodbEndpoint, ses: 'http://127.0.0.1:9', psp: 'http://127.0.0.1:9' }, 'errors-');
  return runnerForLocalRuntime({ synth: { template, path: templatePath }, tablePrefix: 'errors-', env: { ...env, POWERTOOLS_LOG_LEVEL: 'CRITICAL' }, handlers: 'bundles', maxContainers: 2 });
}

/** How to make a bundle throw each matched name, through the synthesized state machines; `retriedOn`: the ErrorEquals of each Retry rule that matched. */
const PROVOKE: Record<string, (runner: LocalRunner) => Promise<{ error?: string; retriedOn: string[] }>> = {
  async TransientStoreError(runner) {
    const retriedOn: string[] = [];
    // The Retry rule that matched, as the emulator reports it.
    const onEvent = (e: LocalExecutionEvent) => {
      const retrier = (e as { retry?: { retrier?: { ErrorEquals?: string[] } } }).retry?.retrier;
      if (e.type === 'StateRetried') retriedOn.push(...(retrier?.ErrorEquals ?? []));
    };
    const input = { refundId: 'R-1', method: 'cash', note: 'asked by phone', requestedBy: 'ops' };
    const result = await runner.start('SwitchRefundToManual', input, { onEvent });
    return { ...(result.error ? { error: result.error } : {}), retriedOn };
  },
};

describe('error names the state machines match on, thrown by the deployed bundles', () => {
  it('every Retry/Catch name other than States.*, Lambda.* and StepFunctions.* has a provocation here', () => {
    const own = [...matchedNames().keys()].filter((n) => !/^(States|Lambda|StepFunctions)\./.test(n));
    expect(own.length).toBeGreaterThan(0);
    expect(own.filter((n) => !(n in PROVOKE))).toEqual([]);
  });

  it.each(Object.keys(PROVOKE))('%s: a bundle throws it by that name and the Retry of the definition matches it', async (name) => {
    // prepare
    const runner = runnerAgainst(dynamodbUrl);
    const before = dynamodbRequests;
    // act
    const outcome = await PROVOKE[name]!(runner).finally(() => runner.close());
    // assess
    expect(dynamodbRequests).toBeGreaterThan(before);
    expect(outcome.retriedOn).toContain(name);
    expect(outcome.error).toBe(name);
  });

  it('bad console input through every workflow fails at its first state with ValidationError naming the field', async () => {
    // prepare
    const runner = runnerAgainst(dynamodbUrl);
    // act
    const results = [];
    for (const workflow of runner.workflows()) results.push({ workflow, ...(await runner.start(workflow, { unexpectedField: 1 })) });
    await runner.close();
    // assess
    expect(results.map((r) => r.workflow).sort()).toEqual(listStateMachines(JSON.parse(readFileSync(inject('templatePath'), 'utf8')) as CfnTemplate).map((m) => m.workflow).sort());
    for (const r of results) {
      expect(r.status, r.workflow).toBe('FAILED');
      expect(r.error, `${r.workflow}: ${r.cause}`).toBe('ValidationError');
      expect(lambdaErrorMessage(r.cause), r.workflow).toMatch(/unexpectedField|requestedBy|: is required|: unknown field/);
    }
  });
});
