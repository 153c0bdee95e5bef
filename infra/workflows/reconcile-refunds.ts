import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { RefundFunction } from '../constructs/refund-function.ts';
import { failurePath, lambdaStep, pspEnvironment, rejectInput, runPayload, stageFn, validateStep, workflowClass, WorkflowStateMachine, type WorkflowDeps } from './common.ts';
import { RunContinuation } from './continuation.ts';
import { pagingMap } from './paging.ts';

const WORKFLOW = 'ReconcileRefunds';
const ENTRY = 'functions/reconcile-refunds';
const SERVICE = 'reconcile-refunds';

/** The reconciliation's stages after validation: open the run, the pages (they ask the PSP), finish. */
export function reconcileStages(scope: Construct, deps: WorkflowDeps, ids: { open: string; page: string; finish: string }) {
  const stage = (file: string, timeout: Duration) => ({ entry: `${ENTRY}/${file}`, service: SERVICE, timeout });
  const openFn = stageFn(scope, deps, ids.open, stage('open-run.ts', Duration.seconds(30)), [['runs', 'RW']]);
  const pageFn = stageFn(scope, deps, ids.page, { ...stage('page.ts', Duration.minutes(5)), environment: pspEnvironment(scope, deps) }, [
    ['refunds', 'RW'],
    ['runs', 'RW'],
  ]);
  deps.pspSecret.grantRead(pageFn);
  const finishFn = stageFn(scope, deps, ids.finish, stage('finish.ts', Duration.seconds(30)), [['runs', 'RW']]);
  return { openFn, pageFn, finishFn };
}

/**
 * The reconciliation's paging loop over the 16 scan segments of the refunds (ReconcileRefunds',
 * and the one a scheduled DispatchRefunds runs first): ask the PSP, settle, compare.
 */
export function reconcileSegmentsMap(
  scope: Construct,
  pageFn: RefundFunction,
  ids: { mapId: string; pageId: string; moreId: string; doneId: string },
  paths: { runId: string; scope: string; result: string },
): sfn.Map {
  return pagingMap(scope, {
    mapId: ids.mapId,
    page: { id: ids.pageId, fn: pageFn },
    moreId: ids.moreId,
    doneId: ids.doneId,
    keep: ['segment', 'cursor', 'page', 'done', 'calls', 'tallies', 'differences', 'differenceCount'],
    itemsPath: '$.segments',
    itemSelector: { 'runId.$': paths.runId, 'scope.$': paths.scope, 'segment.$': '$$.Map.Item.Value', 'page': 0, 'tallies': {}, 'differences': [], 'differenceCount': 0, 'calls': 0, 'callsLeft.$': '$.continuation.callsLeft' },
    resultPath: paths.result,
  });
}

/** ReconcileRefunds: settles unknown outcomes by asking the PSP, finds late failures, compares our ledger with the PSP's. */
export const ReconcileRefundsWorkflow = workflowClass((scope, deps) => {
  const validateFn = stageFn(scope, deps, 'ValidateFn', { entry: `${ENTRY}/validate.ts`, service: SERVICE, timeout: Duration.seconds(30) }, [['runs', 'RO']]);
  const { openFn, pageFn, finishFn } = reconcileStages(scope, deps, { open: 'OpenRunFn', page: 'PageFn', finish: 'FinishFn' });
  const failed = failurePath(scope, deps, WORKFLOW);

  // 1. Validate; bad input fails here, nothing written.
  const validate = validateStep(scope, 'ValidateReconcileInput', validateFn);
  // A reconciliation longer than one execution's history allows goes on in the next (continuation.ts).
  const continuation = new RunContinuation(scope, deps, { workflow: WORKFLOW, service: SERVICE, failure: failed });
  rejectInput(scope, validate, continuation.resume);
  const open = lambdaStep(scope, 'OpenReconcileRun', openFn, { payload: runPayload(), resultPath: '$.opened' });
  // 2. Over 16 scan segments of the refunds, page by page: ask the PSP, settle, compare.
  const segments = reconcileSegmentsMap(scope, pageFn, { mapId: 'ReconcileSegments', pageId: 'ReconcilePage', moreId: 'MoreRefunds', doneId: 'SegmentDone' }, { runId: '$.runId', scope: '$.scope', result: '$.segmentResults' });
  // The customers told of late failures: their emails are in the outbox; SendEmails sends them.
  // 3. The reconciliation report.
  const finish = lambdaStep(scope, 'FinishReconcile', finishFn, { payload: { ...runPayload(), 'segmentResults.$': '$.segmentResults' } });
  for (const step of [open, segments, finish]) step.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
  finish.next(new sfn.Succeed(scope, 'Done'));
  segments.next(continuation.gate('AfterSegments', { resumeAt: 'ReconcileSegments', shards: { items: 'segments', results: 'segmentResults', key: 'segment' } }, finish));
  validate.next(continuation.budget()).next(open).next(segments);

  const machine = new WorkflowStateMachine(scope, 'Machine', {
    workflow: WORKFLOW,
    definition: continuation.entry(validate, { ReconcileSegments: segments }),
    timeout: Duration.hours(6),
  });
  continuation.grant(machine);
  return machine;
});
