import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { RefundFunction } from '../constructs/refund-function.ts';
import { failurePath, lambdaStep, validateStep, rejectInput, type WorkflowDeps } from './common.ts';
import { RunContinuation } from './continuation.ts';

export interface PagedWorkflowProps {
  workflow: string;
  /** The stages' service tag. */
  service: string;
  validate: { id: string; fn: RefundFunction };
  open: RefundFunction;
  page: { mapId: string; id: string; fn: RefundFunction };
  finish: RefundFunction;
  /** Fields of the validated state (besides runId, startedAt, input) that the run and every page need. */
  carry?: string[];
}

export interface PagedWorkflow {
  definition: sfn.IChainable;
  continuation: RunContinuation;
}

/**
 * The shape of a workflow over all tickets of a performance:
 * 1 validate (writes nothing) -> 2 open the run -> 3 Map over the performance shards, each a
 * paging loop (one Lambda call takes pages for up to a minute and returns {cursor, done, tallies})
 * -> 4 finish the run with the summed tallies and output the report. A shard that has had its
 * calls in this execution pauses; the run then goes on in a new execution (continuation.ts).
 */
export function pagedWorkflow(scope: Construct, deps: WorkflowDeps, props: PagedWorkflowProps): PagedWorkflow {
  const failure = failurePath(scope, deps, props.workflow);
  const continuation = new RunContinuation(scope, deps, { workflow: props.workflow, service: props.service, failure });
  const carried = Object.fromEntries((props.carry ?? []).map((f) => [`${f}.$`, `$.${f}`]));

  // 1. Validate the console input; bad input fails here, before anything is written.
  const validate = validateStep(scope, props.validate.id, props.validate.fn);
  rejectInput(scope, validate, continuation.resume);

  // 2. Open the run record.
  const open = lambdaStep(scope, 'OpenRun', props.open, {
    payload: { 'workflow': props.workflow, 'runId.$': '$.runId', 'startedAt.$': '$.startedAt', 'input.$': '$.input', ...carried },
    resultPath: '$.opened',
  });
  open.addCatch(failure, { errors: ['States.ALL'], resultPath: '$.error' });

  // 3. Every shard of the performance, pages by call; tallies travel in the state.
  const page = lambdaStep(scope, props.page.id, props.page.fn, { timeout: Duration.minutes(5) });
  const shardFinished = new sfn.Pass(scope, 'ShardFinished', {
    parameters: {
      'shard.$': '$.shard',
      'cursor.$': '$.cursor',
      'done.$': '$.done',
      'calls.$': '$.calls',
      'pages.$': '$.pages',
      'tallies.$': '$.tallies',
      'errors.$': '$.errors',
      'moreErrors.$': '$.moreErrors',
    },
  });
  const shardDone = new sfn.Choice(scope, 'ShardDone')
    .when(sfn.Condition.or(sfn.Condition.booleanEquals('$.done', true), sfn.Condition.booleanEquals('$.pause', true)), shardFinished)
    .otherwise(page);
  const shards = new sfn.Map(scope, props.page.mapId, {
    itemsPath: '$.shards',
    maxConcurrency: 16,
    itemSelector: { 'runId.$': '$.runId', 'input.$': '$.input', ...carried, 'shard.$': '$$.Map.Item.Value', 'calls': 0, 'callsLeft.$': '$.continuation.callsLeft' },
    resultPath: '$.shardResults',
  }).itemProcessor(page.next(shardDone));
  shards.addCatch(failure, { errors: ['States.ALL'], resultPath: '$.error' });

  // 4. Sum the tallies into the run report; it is the execution's output.
  const finish = lambdaStep(scope, 'FinishRun', props.finish, {
    payload: { 'workflow': props.workflow, 'runId.$': '$.runId', 'startedAt.$': '$.startedAt', 'input.$': '$.input', 'shardResults.$': '$.shardResults' },
  });
  finish.addCatch(failure, { errors: ['States.ALL'], resultPath: '$.error' });
  finish.next(new sfn.Succeed(scope, 'Done'));

  shards.next(continuation.gate('AfterShards', { resumeAt: props.page.mapId, shards: { items: 'shards', results: 'shardResults', key: 'shard' } }, finish));
  validate.next(continuation.budget()).next(open).next(shards);
  return { definition: continuation.entry(validate, { [props.page.mapId]: shards }), continuation };
}
