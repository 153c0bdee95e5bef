import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TABLE_ENV } from '../../lib/adapters/dynamodb/table-names.ts';
import { continuationName } from '../../lib/core/continuation.ts';
import { followUpName } from '../../lib/local/follow-ups.ts';
import { startAwsEndpoints, type AwsEndpoints } from '../support/aws-endpoints.ts';
import { cancellationDataset, importDataset } from '../support/cancellation-data.ts';
import { cli } from '../support/cli.ts';
import { withSmallBudgets } from '../support/continued-runs.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

let rt: TestRuntime;
let aws: AwsEndpoints;
const AWS = ['--target', 'aws'];
type Report = { runId: string; status: string; outcomes: Record<string, { count: number }> };

beforeAll(async () => {
  rt = await startTestRuntime();
  aws = await startAwsEndpoints(rt);
  await importDataset(cancellationDataset('cc-', 40));
  await importDataset(cancellationDataset('cd-', 40));
  for (const variable of Object.values(TABLE_ENV)) vi.stubEnv(variable, undefined);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await aws?.endpoint.idle();
  await aws?.stop();
  await rt?.stop();
});

const input = (p: string) => JSON.stringify({ performanceId: `${p}P1`, reason: 'storm', requestedBy: 'ops', pageSize: 1 });

describe('a run that continues in new executions, through the CLI (--target aws against the local endpoints)', () => {
  it('start follows the run to its last execution and prints its report; the emails it owes are sent once, after it', async () => {
    // act
    const run = await withSmallBudgets(rt, { pagesPerCall: 1, callsPerShard: 1 }, () => cli(['start', 'CancelPerformance', '--input', input('cc-'), '--name', 'cli-split', ...AWS]));
    const status = await cli(['status', 'cli-split', ...AWS]);
    const executions = await new SFNClient({}).send(new ListExecutionsCommand({ stateMachineArn: aws.endpoint.stack.machines.find((m) => m.workflow === 'CancelPerformance')!.arn }));
    const senders = await new SFNClient({}).send(new ListExecutionsCommand({ stateMachineArn: aws.endpoint.stack.machines.find((m) => m.workflow === 'SendEmails')!.arn }));
    // assess
    expect(run.code, run.stderr).toBe(0);
    expect(run.json<Report>()).toMatchObject({ runId: 'cli-split', workflow: 'CancelPerformance', status: 'succeeded' });
    expect(run.json<Report>().outcomes.tickets_cancelled?.count).toBe(8 + 40);
    const parts = (executions.executions ?? []).filter((e) => e.name === 'cli-split' || e.name?.startsWith('cli-split__part'));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((e) => e.status === 'SUCCEEDED')).toBe(true);
    const last = continuationName('cli-split', parts.length);
    expect(status.json()).toMatchObject({ runId: 'cli-split', status: 'succeeded', executions: parts.length, executionArn: expect.stringMatching(new RegExp(`:${last}$`)), report: { runId: 'cli-split' } });
    // Progress went on across the executions up to every ticket (piped: one line a tenth).
    expect(run.stderr).toMatch(/CancelPerformance: (\d+)\/\1 tickets \(100 %\)/);
    expect((senders.executions ?? []).filter((e) => e.name?.includes('cli-split')).map((e) => e.name)).toEqual([followUpName('cli-split')]);
  });

  it('--no-wait, then status says where the run stands and --wait follows it through its executions', async () => {
    // act
    const { started, waited } = await withSmallBudgets(rt, { pagesPerCall: 1, callsPerShard: 1 }, async () => {
      const started = await cli(['start', 'CancelPerformance', '--input', input('cd-'), '--name', 'cli-later', '--no-wait', ...AWS]);
      return { started, waited: await cli(['status', 'cli-later', '--wait', ...AWS]) };
    });
    // assess
    expect(started.code).toBe(0);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.json()).toMatchObject({ runId: 'cli-later', status: 'succeeded', report: { outcomes: { tickets_cancelled: { count: 48 } } } });
    expect((waited.json() as { executions?: number }).executions).toBeGreaterThan(1);
  });
});
