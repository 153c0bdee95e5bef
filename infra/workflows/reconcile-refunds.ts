import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { stageMaker } from '../constructs/refund-function.ts';
import { pspUrlOf } from '../settings.ts';
import { failurePath, lambdaStep, validateStep, rejectInput, WorkflowStateMachine, type WorkflowConstruct, type WorkflowDeps } from './common.ts';
import { RunContinuation } from './continuation.ts';
import { pagingMap } from './paging.ts';

const WORKFLOW = 'ReconcileRefunds';

/** ReconcileRefunds: settles unknown outcomes by asking the PSP, finds late failures, compares our ledger with the PSP's. */
export class ReconcileRefundsWorkflow extends Construct implements WorkflowConstruct {
  readonly machine: WorkflowStateMachine;

  constructor(scope: Construct, id: string, deps: WorkflowDeps) {
    super(scope, id);
    const t = deps.tables;
    const fn = stageMaker(this, 'functions/reconcile-refunds', 'reconcile-refunds');
    const validateFn = fn('ValidateFn', 'validate.ts', Duration.seconds(30)).bindTable(t.runs, 'runs', 'RO');
    const openFn = fn('OpenRunFn', 'open-run.ts', Duration.seconds(30)).bindTable(t.runs, 'runs', 'RW');
    const pspUrl = pspUrlOf(this);
    const pageFn = fn('PageFn', 'page.ts', Duration.minutes(5), { environment: { MASS_REFUND_PSP_URL: pspUrl, PSP_SECRET_ARN: deps.pspSecret.secretArn } })
      .bindTable(t.refunds, 'refunds', 'RW')
      .bindTable(t.runs, 'runs', 'RW');
    deps.pspSecret.grantRead(pageFn);
    const finishFn = fn('FinishFn', 'finish.ts', Duration.seconds(30)).bindTable(t.runs, 'runs', 'RW');
    const failed = failurePath(this, deps, WORKFLOW);

    // 1. Validate; bad input fails here, nothing written.
    const validate = validateStep(this, 'ValidateReconcileInput', validateFn);
    // A reconciliation longer than one execution's history allows goes on in the next (continuation.ts).
    const continuation = new RunContinuation(this, deps, { workflow: WORKFLOW, service: 'reconcile-refunds', failure: failed });
    rejectInput(this, validate, continuation.resume);
    const open = lambdaStep(this, 'OpenReconcileRun', openFn, {
      payload: { 'runId.$': '$.runId', 'startedAt.$': '$.startedAt', 'requestedBy.$': '$.requestedBy', 'input.$': '$.input' },
      resultPath: '$.opened',
    });
    // 2. Over 16 scan segments of the refunds, page by page: ask the PSP, settle, compare.
    const segments = pagingMap(this, {
      mapId: 'ReconcileSegments',
      page: { id: 'ReconcilePage', fn: pageFn },
      moreId: 'MoreRefunds',
      doneId: 'SegmentDone',
      keep: ['segment', 'cursor', 'page', 'done', 'calls', 'tallies', 'differences', 'differenceCount'],
      itemsPath: '$.segments',
      itemSelector: { 'runId.$': '$.runId', 'scope.$': '$.scope', 'segment.$': '$$.Map.Item.Value', 'page': 0, 'tallies': {}, 'differences': [], 'differenceCount': 0, 'calls': 0, 'callsLeft.$': '$.continuation.callsLeft' },
      resultPath: '$.segmentResults',
    });
    // The customers told of late failures: their emails are in the outbox; SendEmails sends them.
    // 3. The reconciliation report.
    const finish = lambdaStep(this, 'FinishReconcile', finishFn, {
      payload: { 'runId.$': '$.runId', 'startedAt.$': '$.startedAt', 'requestedBy.$': '$.requestedBy', 'input.$': '$.input', 'segmentResults.$': '$.segmentResults' },
    });
    for (const step of [open, segments, finish]) step.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
    finish.next(new sfn.Succeed(this, 'Done'));
    segments.next(continuation.gate('AfterSegments', { resumeAt: 'ReconcileSegments', shards: { items: 'segments', results: 'segmentResults', key: 'segment' } }, finish));
    validate.next(continuation.budget()).next(open).next(segments);

    this.machine = new WorkflowStateMachine(this, 'Machine', {
      workflow: WORKFLOW,
      definition: continuation.entry(validate, { ReconcileSegments: segments }),
      timeout: Duration.hours(6),
    });
    continuation.grant(this.machine);
  }
}
