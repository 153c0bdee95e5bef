import { DescribeExecutionCommand, ListStateMachinesCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsTargetError, startOnAws } from '../../lib/cli/aws.ts';

const sfn = mockClient(SFNClient);
beforeEach(() => sfn.reset());

describe('start --target aws', () => {
  it('starts the deployed state machine of the workflow and returns its output', async () => {
    // prepare
    sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [{ name: 'MassRefund-CancelPerformance', stateMachineArn: 'arn:sm:cancel', type: 'STANDARD', creationDate: new Date() }] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:1', startDate: new Date() });
    sfn.on(DescribeExecutionCommand).resolvesOnce({ status: 'RUNNING', executionArn: 'arn:exec:1', stateMachineArn: 'arn:sm:cancel', startDate: new Date() })
      .resolves({ status: 'SUCCEEDED', output: '{"runId":"r1"}', executionArn: 'arn:exec:1', stateMachineArn: 'arn:sm:cancel', startDate: new Date() });
    // act
    const result = await startOnAws('CancelPerformance', { performanceId: 'P1' }, { client: new SFNClient({ region: 'eu-central-1' }), pollMs: 1, name: 'run-1' });
    // assess
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { runId: 'r1' } });
    const start = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(start).toEqual({ stateMachineArn: 'arn:sm:cancel', name: 'run-1', input: '{"performanceId":"P1"}' });
  });

  it('says the stack is not deployed when the state machine is missing', async () => {
    sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [] });
    await expect(startOnAws('WriteOff', {}, { client: new SFNClient({ region: 'eu-central-1' }) })).rejects.toThrow(AwsTargetError);
  });

  it('returns the error and cause of a failed execution', async () => {
    sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [{ name: 'MassRefund-WriteOff', stateMachineArn: 'arn:sm:w', type: 'STANDARD', creationDate: new Date() }] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec:2', startDate: new Date() });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'ValidationError', cause: '{"errorMessage":"issuedUpTo: bad"}', executionArn: 'arn:exec:2', stateMachineArn: 'arn:sm:w', startDate: new Date() });
    const result = await startOnAws('WriteOff', {}, { client: new SFNClient({ region: 'eu-central-1' }), pollMs: 1 });
    expect(result).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
  });
});
