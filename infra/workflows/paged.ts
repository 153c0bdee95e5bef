import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { RefundFunction } from '../constructs/refund-function.ts';
import { failurePath, lambdaStep, rejectInput, type WorkflowDeps } from './common.ts';

export interface PagedWorkflowProps {
  workflow: string;
  validate: { id: string; fn: RefundFunction };
  open: RefundFunction;
  page: { mapId: string; id: string; fn: RefundFunction };
  finish: RefundFunction;
  /** Fields of the validated state (besides runId, startedAt, input) that the run and every page need. */
  carry?: string[];
}

/**
 * The shape of a workflow over all tickets of a performance:
 * 1 validate (writes nothing) -> 2 open the run -> 3 Map over the performance shards, each a
 * paging loop (one Lambda call per page returns {cursor, done, tallies}) -> 4 finish the run
 * with the summed tallies and output the report.
 */
export function pagedWorkflow(scope: Construct, deps: WorkflowDeps, props: PagedWorkflowProps): sfn.IChainable {
  const failure = failurePath(scope, deps, props.workflow);
  const carried = Object.fromEntries((props.carry ?? []).map((f) => [`${f}.$`, `$.${f}`]));

  // 1. Validate the console input; bad input fails here, before anything is written.
  const validate = lambdaStep(scope, props.validate.id, props.validate.fn, {
    payload: { 'input.$': '$', 'execution': { 'executionName.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime' } },
  });
  rejectInput(scope, validate);

  // 2. Open the run record.
  const open = lambdaStep(scope, 'OpenRun', props.open, {
    payload: { 'workflow': props.workflow, 'runId.$': '$.runId', 'startedAt.$': '$.startedAt', 'input.$': '$.input', ...carried },
    resultPath: '$.opened',
  });
  open.addCatch(failure, { errors: ['States.ALL'], resultPath: '$.error' });

  // 3. Every shard of the performance, page by page; tallies travel in the state.
  const page = lambdaStep(scope, props.page.id, props.page.fn, { timeout: Duration.minutes(5) });
  const shardFinished = new sfn.Pass(scope, 'ShardFinished', {
    parameters: { 'tallies.$': '$.tallies', 'errors.$': '$.errors', 'moreErrors.$': '$.moreErrors', 'pages.$': '$.pages' },
  });
  const shardDone = new sfn.Choice(scope, 'ShardDone').when(sfn.Condition.booleanEquals('$.done', true), shardFinished).otherwise(page);
  const shards = new sfn.Map(scope, props.page.mapId, {
    itemsPath: '$.shards',
    maxConcurrency: 16,
    itemSelector: { 'runId.$': '$.runId', 'input.$': '$.input', ...carried, 'shard.$': '$$.Map.Item.Value' },
    resultPath: '$.shardResults',
  }).itemProcessor(page.next(shardDone));
  shards.addCatch(failure, { errors: ['States.ALL'], resultPath: '$.error' });

  // 4. Sum the tallies into the run report; it is the execution's output.
  const finish = lambdaStep(scope, 'FinishRun', props.finish, {
    payload: { 'workflow': props.workflow, 'runId.$': '$.runId', 'startedAt.$': '$.startedAt', 'input.$': '$.input', 'shardResults.$': '$.shardResults' },
  });
  finish.addCatch(failure, { errors: ['States.ALL'], resultPath: '$.error' });

  return validate.next(open).next(shards).next(finish).next(new sfn.Succeed(scope, 'Done'));
}
