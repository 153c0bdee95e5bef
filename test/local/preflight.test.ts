import { describe, expect, it } from 'vitest';
import { UnsupportedDefinitionError, findUnsupportedFeatures, preflight } from '../../lib/local/preflight.ts';

const FN_ARN = 'arn:aws:lambda:local:000000000000:function:SelectOrders';

/** A plain JSONPath workflow: Lambda task, paging Choice, inline Map, Parallel, Wait, Fail. */
function plainDefinition(): Record<string, any> {
  return {
    StartAt: 'SelectOrders',
    States: {
      SelectOrders: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { FunctionName: FN_ARN, 'Payload.$': '$' },
        OutputPath: '$.Payload',
        Retry: [{ ErrorEquals: ['Lambda.ServiceException'], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2 }],
        Catch: [{ ErrorEquals: ['ValidationError'], ResultPath: '$.failure', Next: 'Rejected' }],
        Next: 'MoreOrders',
      },
      MoreOrders: {
        Type: 'Choice',
        Choices: [{ Variable: '$.done', BooleanEquals: false, Next: 'SelectOrders' }],
        Default: 'RefundShards',
      },
      RefundShards: {
        Type: 'Map',
        ItemsPath: '$.shards',
        MaxConcurrency: 4,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'RefundShard',
          States: { RefundShard: { Type: 'Task', Resource: FN_ARN, End: true } },
        },
        ResultPath: '$.refunded',
        Next: 'Notify',
      },
      Notify: {
        Type: 'Parallel',
        Branches: [
          { StartAt: 'NotifyBuyers', States: { NotifyBuyers: { Type: 'Task', Resource: FN_ARN, End: true } } },
          { StartAt: 'NotifyOrganizer', States: { NotifyOrganizer: { Type: 'Pass', End: true } } },
        ],
        Next: 'SettleForADay',
      },
      SettleForADay: { Type: 'Wait', Seconds: 86400, Next: 'Done' },
      Done: { Type: 'Succeed' },
      Rejected: { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
    },
  };
}

function refusal(definition: unknown): UnsupportedDefinitionError {
  try {
    preflight(definition, { workflow: 'CancelPerformance' });
  } catch (error) {
    if (error instanceof UnsupportedDefinitionError) return error;
    throw error;
  }
  throw new Error('preflight accepted the definition');
}

describe('preflight', () => {
  it('accepts a plain JSONPath definition with Lambda tasks, Map, Parallel and a long Wait', () => {
    // prepare
    const definition = plainDefinition();
    // act / assess
    expect(() => preflight(definition, { workflow: 'CancelPerformance' })).not.toThrow();
    expect(definition['States']['SelectOrders']['QueryLanguage']).toBeUndefined(); // validator got a copy
  });

  it('accepts states:startExecution without .sync (a run continuing in a new execution of its own state machine)', () => {
    // prepare
    const definition = plainDefinition();
    definition['States']['SelectOrders'] = { ...definition['States']['SelectOrders'], Resource: 'arn:aws:states:::states:startExecution', Parameters: { 'StateMachineArn.$': '$$.StateMachine.Id', Input: { 'continueRun.$': '$.runId' } } };
    delete definition['States']['SelectOrders']['OutputPath'];
    // act / assess
    expect(() => preflight(definition, { workflow: 'CancelPerformance' })).not.toThrow();
    delete definition['States']['SelectOrders']['Parameters']['StateMachineArn.$'];
    expect(refusal(definition).message).toContain('states:startExecution without StateMachineArn');
  });

  const cases: [string, (d: Record<string, any>) => void, string, string][] = [
    ['top-level JSONata', (d) => (d['QueryLanguage'] = 'JSONata'), '$', 'QueryLanguage JSONata'],
    ['per-state JSONata', (d) => (d['States']['SelectOrders']['QueryLanguage'] = 'JSONata'), 'SelectOrders', 'QueryLanguage JSONata'],
    ['Assign', (d) => (d['States']['SelectOrders']['Assign'] = { page: 1 }), 'SelectOrders', 'Assign'],
    ['Arguments', (d) => (d['States']['SelectOrders']['Arguments'] = { a: 1 }), 'SelectOrders', 'Arguments'],
    ['Output', (d) => (d['States']['Done']['Output'] = '{% $states.input %}'), 'Done', 'Output'],
    ['Choice Condition', (d) => (d['States']['MoreOrders']['Choices'][0]['Condition'] = '{% true %}'), 'MoreOrders', 'Condition'],
    ['ItemReader', (d) => (d['States']['RefundShards']['ItemReader'] = { Resource: 'arn:aws:states:::s3:getObject', Parameters: { Bucket: 'b', Key: 'k' } }), 'RefundShards', 'ItemReader'],
    ['ItemBatcher', (d) => (d['States']['RefundShards']['ItemBatcher'] = { MaxItemsPerBatch: 50 }), 'RefundShards', 'ItemBatcher'],
    ['ResultWriter', (d) => (d['States']['RefundShards']['ResultWriter'] = { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'b', Prefix: 'p' } }), 'RefundShards', 'ResultWriter'],
    ['ToleratedFailurePercentage', (d) => (d['States']['RefundShards']['ToleratedFailurePercentage'] = 5), 'RefundShards', 'ToleratedFailurePercentage'],
    ['ToleratedFailureCountPath', (d) => (d['States']['RefundShards']['ToleratedFailureCountPath'] = '$.tolerated'), 'RefundShards', 'ToleratedFailureCountPath'],
    ['Distributed mode', (d) => (d['States']['RefundShards']['ItemProcessor']['ProcessorConfig'] = { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }), 'RefundShards', 'Mode DISTRIBUTED'],
    ['Credentials', (d) => (d['States']['SelectOrders']['Credentials'] = { RoleArn: 'arn:aws:iam::000000000000:role/x' }), 'SelectOrders', 'Credentials'],
    ['dynamodb:putItem task', (d) => (d['States']['SelectOrders']['Resource'] = 'arn:aws:states:::dynamodb:putItem'), 'SelectOrders', 'Task Resource arn:aws:states:::dynamodb:putItem'],
    ['.sync task', (d) => (d['States']['SelectOrders']['Resource'] = 'arn:aws:states:::states:startExecution.sync:2'), 'SelectOrders', 'startExecution.sync:2'],
    ['.waitForTaskToken task', (d) => (d['States']['SelectOrders']['Resource'] = 'arn:aws:states:::lambda:invoke.waitForTaskToken'), 'SelectOrders', 'lambda:invoke.waitForTaskToken'],
    ['dynamic FunctionName', (d) => { const p = d['States']['SelectOrders']['Parameters']; delete p['FunctionName']; p['FunctionName.$'] = '$.fn'; }, 'SelectOrders', 'dynamic FunctionName.$'],
    ['asynchronous invocation', (d) => (d['States']['SelectOrders']['Parameters']['InvocationType'] = 'Event'), 'SelectOrders', 'InvocationType Event'],
    ['unsupported task inside a Map', (d) => (d['States']['RefundShards']['ItemProcessor']['States']['RefundShard']['Resource'] = 'arn:aws:states:::sqs:sendMessage'), 'RefundShard', 'sqs:sendMessage'],
    ['Assign inside a Parallel branch', (d) => (d['States']['Notify']['Branches'][1]['States']['NotifyOrganizer']['Assign'] = { x: 1 }), 'NotifyOrganizer', 'Assign'],
  ];

  it.each(cases)('refuses %s, naming the state and the feature', (_label, mutate, state, feature) => {
    // prepare
    const definition = plainDefinition();
    mutate(definition);
    // act
    const error = refusal(definition);
    // assess
    expect(error.workflow).toBe('CancelPerformance');
    const issue = error.issues.find((i) => i.feature.includes(feature));
    expect(issue, error.message).toBeDefined();
    if (state === '$') {
      expect(issue?.state).toBeUndefined();
    } else {
      expect(issue?.state).toBe(state);
      expect(error.message).toContain(`state "${state}"`);
    }
    expect(error.message).toContain(feature);
  });

  it('gives the path of nested states', () => {
    // prepare
    const definition = plainDefinition();
    definition['States']['RefundShards']['ItemProcessor']['States']['RefundShard']['Resource'] = 'arn:aws:states:::sqs:sendMessage';
    definition['States']['Notify']['Branches'][0]['States']['NotifyBuyers']['Credentials'] = { RoleArn: 'arn:aws:iam::000000000000:role/x' };
    // act
    const issues = findUnsupportedFeatures(definition);
    // assess
    expect(issues.map((i) => i.path)).toEqual([
      'States.RefundShards.ItemProcessor.States.RefundShard',
      'States.Notify.Branches[0].States.NotifyBuyers',
    ]);
  });

  it('lists every offending state in one error, not just the first', () => {
    // prepare
    const definition = plainDefinition();
    definition['States']['RefundShards']['ItemBatcher'] = { MaxItemsPerBatch: 50 };
    definition['States']['SelectOrders']['Assign'] = { page: 1 };
    // act
    const error = refusal(definition);
    // assess
    expect(error.issues.map((i) => i.state)).toEqual(expect.arrayContaining(['SelectOrders', 'RefundShards']));
  });

  it('reports ASL validation errors (e.g. a transition to a missing state)', () => {
    // prepare
    const definition = plainDefinition();
    definition['States']['SettleForADay']['Next'] = 'NoSuchState';
    // act
    const error = refusal(definition);
    // assess
    expect(error.issues.some((i) => i.feature.startsWith('invalid ASL: MISSING_TRANSITION_TARGET'))).toBe(true);
    expect(error.message).toContain('NoSuchState');
  });
});
