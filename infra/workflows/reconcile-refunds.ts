import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RefundFunction } from '../constructs/refund-function.ts';
import { pspUrlOf } from '../settings.ts';
import { failurePath, grantSendAs, lambdaStep, mailSenderOf, rejectInput, WorkflowStateMachine, type WorkflowConstruct, type WorkflowDeps } from './common.ts';

const WORKFLOW = 'ReconcileRefunds';

/** ReconcileRefunds: settles unknown outcomes by asking the PSP, finds late failures, compares our ledger with the PSP's. */
export class ReconcileRefundsWorkflow extends Construct implements WorkflowConstruct {
  readonly machine: WorkflowStateMachine;

  constructor(scope: Construct, id: string, deps: WorkflowDeps) {
    super(scope, id);
    const t = deps.tables;
    const fn = (name: string, entry: string, timeout: Duration, environment: Record<string, string> = {}) =>
      new RefundFunction(this, name, { entry: `functions/reconcile-refunds/${entry}`, service: 'reconcile-refunds', timeout, environment });
    const validateFn = fn('ValidateFn', 'validate.ts', Duration.seconds(30)).bindTable(t.runs, 'runs', 'RO');
    const openFn = fn('OpenRunFn', 'open-run.ts', Duration.seconds(30)).bindTable(t.runs, 'runs', 'RW');
    const pspUrl = pspUrlOf(this);
    const pageFn = fn('PageFn', 'page.ts', Duration.minutes(5), { MASS_REFUND_PSP_URL: pspUrl, PSP_SECRET_ARN: deps.pspSecret.secretArn })
      .bindTable(t.refunds, 'refunds', 'RW')
      .bindTable(t.runs, 'runs', 'RW');
    deps.pspSecret.grantRead(pageFn);
    const finishFn = fn('FinishFn', 'finish.ts', Duration.seconds(30)).bindTable(t.runs, 'runs', 'RW');
    const mailSender = mailSenderOf(this);
    const emailsFn = new RefundFunction(this, 'SendEmailsFn', { entry: 'functions/dispatch-refunds/send-emails.ts', service: 'reconcile-refunds', timeout: Duration.minutes(5), environment: { MAIL_SENDER: mailSender } })
      .bindTable(t.refunds, 'refunds', 'RW')
      .bindTable(t.runs, 'runs', 'RW')
      .bindTable(t.catalog, 'catalog', 'RO');
    grantSendAs(emailsFn, mailSender);
    const failed = failurePath(this, deps, WORKFLOW);

    // 1. Validate; bad input fails here, nothing written.
    const validate = lambdaStep(this, 'ValidateReconcileInput', validateFn, {
      payload: { 'input.$': '$', 'execution': { 'executionName.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime' } },
    });
    rejectInput(this, validate);
    const open = lambdaStep(this, 'OpenReconcileRun', openFn, {
      payload: { 'runId.$': '$.runId', 'startedAt.$': '$.startedAt', 'requestedBy.$': '$.requestedBy', 'input.$': '$.input' },
      resultPath: '$.opened',
    });
    // 2. Over 16 scan segments of the refunds, page by page: ask the PSP, settle, compare.
    const page = lambdaStep(this, 'ReconcilePage', pageFn);
    const segmentDone = new sfn.Pass(this, 'SegmentDone', { parameters: { 'tallies.$': '$.tallies', 'differences.$': '$.differences', 'differenceCount.$': '$.differenceCount' } });
    const more = new sfn.Choice(this, 'MoreRefunds').when(sfn.Condition.booleanEquals('$.done', true), segmentDone).otherwise(page);
    const segments = new sfn.Map(this, 'ReconcileSegments', {
      itemsPath: '$.segments',
      maxConcurrency: 16,
      itemSelector: { 'runId.$': '$.runId', 'scope.$': '$.scope', 'segment.$': '$$.Map.Item.Value', 'page': 0, 'tallies': {}, 'differences': [], 'differenceCount': 0 },
      resultPath: '$.segmentResults',
    }).itemProcessor(page.next(more));
    // 3. Tell the customers (late failures, refunds found booked): the same outbox mailer as the dispatch.
    const emailPage = lambdaStep(this, 'ReconcileEmailsPage', emailsFn);
    const emailsDone = new sfn.Pass(this, 'ReconcileEmailsShardDone', { parameters: { 'tallies.$': '$.tallies' } });
    const moreEmails = new sfn.Choice(this, 'ReconcileMoreEmails').when(sfn.Condition.booleanEquals('$.done', true), emailsDone).otherwise(emailPage);
    const emails = new sfn.Map(this, 'ReconcileEmailsShards', {
      itemsPath: '$.outboxShards',
      maxConcurrency: 16,
      itemSelector: { 'runId.$': '$.runId', 'shard.$': '$$.Map.Item.Value', 'page': 0, 'tallies': {} },
      resultPath: '$.emailShards',
    }).itemProcessor(emailPage.next(moreEmails));
    // 4. The reconciliation report.
    const finish = lambdaStep(this, 'FinishReconcile', finishFn, {
      payload: { 'runId.$': '$.runId', 'startedAt.$': '$.startedAt', 'requestedBy.$': '$.requestedBy', 'input.$': '$.input', 'segmentResults.$': '$.segmentResults', 'emailResults.$': '$.emailShards' },
    });
    for (const step of [open, segments, emails, finish]) step.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });

    this.machine = new WorkflowStateMachine(this, 'Machine', {
      workflow: WORKFLOW,
      definition: validate.next(open).next(segments).next(emails).next(finish).next(new sfn.Succeed(this, 'Done')),
      timeout: Duration.hours(6),
    });
  }
}
