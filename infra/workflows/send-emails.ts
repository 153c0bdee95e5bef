import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { Operations } from '../constructs/operations.ts';
import { stageMaker } from '../constructs/refund-function.ts';
import { failurePath, grantSendAs, lambdaStep, validateStep, mailSenderOf, rejectInput, WorkflowStateMachine, type WorkflowConstruct, type WorkflowDeps } from './common.ts';
import { RunContinuation } from './continuation.ts';

const WORKFLOW = 'SendEmails';

/** What the emails say about the operator and how fast they may go, from CDK context (README "Emails"). */
export interface MailContext {
  sender: string;
  senderName: string;
  replyTo: string;
  brand: string;
  supportEmail: string;
  supportPhone?: string;
  shopUrl: string;
  /** Emails per second the account's SES quota allows (SES: Max send rate). */
  maxSendRate: number;
  /** How often the schedule drains the outbox. */
  scheduleMinutes: number;
}

export function mailContextOf(scope: Construct): MailContext {
  const ctx = (key: string) => scope.node.tryGetContext(`mass-refund:${key}`) as string | number | undefined;
  const sender = mailSenderOf(scope);
  const brand = String(ctx('mailBrand') ?? 'Example Tickets');
  const domain = sender.split('@')[1] ?? 'mass-refund.example';
  const supportEmail = String(ctx('supportEmail') ?? `support@${domain}`);
  const rate = Number(ctx('sesMaxSendRate') ?? 14);
  const minutes = Number(ctx('emailScheduleMinutes') ?? 5);
  if (!Number.isSafeInteger(rate) || rate < 1) throw new Error(`context mass-refund:sesMaxSendRate must be a positive integer (emails per second), got ${String(ctx('sesMaxSendRate'))}`);
  if (!Number.isSafeInteger(minutes) || minutes < 1) throw new Error(`context mass-refund:emailScheduleMinutes must be a positive integer, got ${String(ctx('emailScheduleMinutes'))}`);
  const phone = ctx('supportPhone');
  return {
    sender,
    senderName: String(ctx('mailSenderName') ?? brand),
    replyTo: String(ctx('mailReplyTo') ?? supportEmail),
    brand,
    supportEmail,
    ...(phone ? { supportPhone: String(phone) } : {}),
    shopUrl: String(ctx('shopUrl') ?? `https://tickets.${domain}`),
    maxSendRate: rate,
    scheduleMinutes: minutes,
  };
}

/**
 * SendEmails: drains the notification outbox that the money's workflows fill, off their path,
 * at most the account's SES sending rate, one run at a time. Started by a schedule (every few
 * minutes), from the console or the CLI; locally after each workflow that owes emails.
 * An SES configuration set records sends, deliveries, bounces and complaints as CloudWatch
 * metrics per email kind, with alarms on the account's bounce and complaint rates.
 */
export class SendEmailsWorkflow extends Construct implements WorkflowConstruct {
  readonly machine: WorkflowStateMachine;
  readonly configurationSet: ses.ConfigurationSet;

  constructor(scope: Construct, id: string, deps: WorkflowDeps) {
    super(scope, id);
    const t = deps.tables;
    const mail = mailContextOf(this);

    this.configurationSet = new ses.ConfigurationSet(this, 'EmailEvents', {
      reputationMetrics: true,
      sendingEnabled: true,
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    this.configurationSet.addEventDestination('Metrics', {
      destination: ses.EventDestination.cloudWatchDimensions([{ name: 'kind', source: ses.CloudWatchDimensionSource.MESSAGE_TAG, defaultValue: 'other' }]),
      events: [ses.EmailSendingEvent.SEND, ses.EmailSendingEvent.DELIVERY, ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT, ses.EmailSendingEvent.REJECT, ses.EmailSendingEvent.DELIVERY_DELAY],
    });
    // SES pauses an account above about 10 % bounces or 0.5 % complaints: warn well before.
    for (const [name, threshold] of [['Reputation.BounceRate', 0.05], ['Reputation.ComplaintRate', 0.001]] as const) {
      const alarm = new cloudwatch.Alarm(this, `${name.split('.')[1]}Alarm`, {
        alarmDescription: `mass-refund emails: SES ${name} above ${threshold * 100} %`,
        metric: new cloudwatch.Metric({ namespace: 'AWS/SES', metricName: name, statistic: 'Maximum', period: Duration.minutes(15) }),
        threshold,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      Operations.of(this).notify(alarm);
    }

    const environment: Record<string, string> = {
      MAIL_SENDER: mail.sender,
      MAIL_SENDER_NAME: mail.senderName,
      MAIL_REPLY_TO: mail.replyTo,
      MAIL_BRAND: mail.brand,
      MAIL_SUPPORT_EMAIL: mail.supportEmail,
      ...(mail.supportPhone ? { MAIL_SUPPORT_PHONE: mail.supportPhone } : {}),
      MAIL_SHOP_URL: mail.shopUrl,
      SES_MAX_SEND_RATE: String(mail.maxSendRate),
    };
    const fn = stageMaker(this, 'functions/send-emails', 'send-emails');
    const validateFn = fn('ValidateFn', 'validate.ts', Duration.seconds(30), { environment: { SES_MAX_SEND_RATE: environment.SES_MAX_SEND_RATE as string } });
    const openFn = fn('OpenRunFn', 'open-run.ts', Duration.minutes(1)).bindTable(t.runs, 'runs', 'RW');
    const batchFn = fn('SendBatchFn', 'batch.ts', Duration.minutes(5), { environment: { ...environment, SES_CONFIGURATION_SET: this.configurationSet.configurationSetName } })
      .bindTable(t.refunds, 'refunds', 'RW')
      .bindTable(t.runs, 'runs', 'RW')
      .bindTable(t.catalog, 'catalog', 'RO');
    grantSendAs(batchFn, mail.sender);
    // Sending through a configuration set is authorised on the set too.
    batchFn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [Stack.of(this).formatArn({ service: 'ses', resource: 'configuration-set', resourceName: this.configurationSet.configurationSetName })],
      }),
    );
    const finishFn = fn('FinishRunFn', 'finish.ts', Duration.seconds(30)).bindTable(t.runs, 'runs', 'RW');

    const failed = failurePath(this, deps, WORKFLOW);
    // A run of more batches than one execution's history allows goes on in the next (continuation.ts), keeping its lease.
    const continuation = new RunContinuation(this, deps, { workflow: WORKFLOW, service: 'send-emails', failure: failed });
    // 1. Validate the input (and fix the rate); bad input fails here, nothing written.
    const validate = validateStep(this, 'ValidateSendInput', validateFn);
    rejectInput(this, validate, continuation.resume);
    // 2. Take the sender lease (one run sends at a time) and open the run.
    const open = lambdaStep(this, 'OpenSenderRun', openFn, { resultPath: '$.opened' });
    // 3. Batches until the outbox is drained (each a minute or so; the state travels from one to the next).
    const batch = lambdaStep(this, 'SendBatch', batchFn);
    // 4. Free the lease and report.
    const finish = lambdaStep(this, 'FinishSenderRun', finishFn);
    for (const step of [open, batch, finish]) step.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });

    const drained = new sfn.Choice(this, 'OutboxDrained')
      .when(sfn.Condition.booleanEquals('$.done', true), finish)
      .when(sfn.Condition.booleanEquals('$.pause', true), continuation.gate('BatchesGate', { resumeAt: 'SendBatch' }, batch))
      .otherwise(batch);
    const leaseTaken = new sfn.Choice(this, 'SenderLeaseTaken').when(sfn.Condition.booleanEquals('$.opened.value.acquired', true), batch).otherwise(finish);
    batch.next(drained);
    finish.next(new sfn.Succeed(this, 'Done'));
    validate.next(continuation.budget()).next(open).next(leaseTaken);

    this.machine = new WorkflowStateMachine(this, 'Machine', { workflow: WORKFLOW, definition: continuation.entry(validate, { SendBatch: batch }), timeout: Duration.hours(12) });
    continuation.grant(this.machine);

    new scheduler.Schedule(this, 'Schedule', {
      description: `mass-refund: SendEmails drains the email outbox every ${mail.scheduleMinutes} minutes`,
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(mail.scheduleMinutes)),
      target: new schedulerTargets.StepFunctionsStartExecution(this.machine.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({ requestedBy: 'schedule:emails' }),
        retryAttempts: 0,
      }),
    });
  }
}
