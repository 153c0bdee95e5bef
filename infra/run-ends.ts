import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { UNFINISHED_EXECUTION_STATUSES, WORKFLOWS_BY_STATE_MACHINE_ENV } from '../lib/core/run-end.ts';
import { Operations } from './constructs/operations.ts';
import { RefundFunction } from './constructs/refund-function.ts';
import type { RefundTables } from './tables.ts';

export interface RunEndsProps {
  readonly tables: RefundTables;
  /** The workflows' state machines, by workflow name. */
  readonly machines: { workflow: string; stateMachine: sfn.IStateMachine }[];
}

/** The detail-type Step Functions gives its execution status events on EventBridge. */
export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';

/**
 * Every run ends: when an execution of a workflow ends FAILED, TIMED_OUT or ABORTED, EventBridge
 * hands the status change to RunEndedFn, which marks the run failed if it is still running (an
 * execution that timed out or was stopped never reaches its own failure path). Events that the
 * function could not take after Lambda's retries land in a dead-letter queue with an alarm, so
 * no run stays `running` unseen.
 */
export class RunEnds extends Construct {
  readonly fn: RefundFunction;
  readonly rule: events.Rule;
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: RunEndsProps) {
    super(scope, id);
    this.deadLetters = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // It is itself the dead-letter queue (Control Tower CT.SQS.PR.1): messages may be driven back from it.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    const workflows = props.machines.map((m) => ({ stateMachineArn: m.stateMachine.stateMachineArn, workflow: m.workflow }));
    this.fn = new RefundFunction(this, 'RunEndedFn', {
      entry: 'functions/runs/run-ended.ts',
      service: 'runs',
      timeout: Duration.seconds(30),
      environment: { [WORKFLOWS_BY_STATE_MACHINE_ENV]: Stack.of(this).toJsonString(workflows) },
      deadLetterQueue: this.deadLetters,
      retryAttempts: 2,
    }).bindTable(props.tables.runs, 'runs', 'RW');

    this.rule = new events.Rule(this, 'ExecutionEnded', {
      description: 'mass-refund: a workflow execution ended without finishing its run (failed, timed out, stopped)',
      eventPattern: {
        source: ['aws.states'],
        detailType: [EXECUTION_STATUS_CHANGE],
        detail: { status: [...UNFINISHED_EXECUTION_STATUSES], stateMachineArn: workflows.map((w) => w.stateMachineArn) },
      },
    });
    // EventBridge retries delivery for up to a day; what the function then fails on goes to the same queue.
    this.rule.addTarget(new targets.LambdaFunction(this.fn, { deadLetterQueue: this.deadLetters, maxEventAge: Duration.hours(24), retryAttempts: 185 }));

    const unrecorded = new cloudwatch.Alarm(this, 'UnrecordedRunEnds', {
      alarmDescription: 'A run end could not be recorded: a run may still show running; see the dead-letter queue',
      metric: this.deadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    Operations.of(this).notify(unrecorded);
  }
}
