import { Duration, Stack, type CfnResource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { TableKey } from '../../lib/adapters/dynamodb/table-names.ts';
import { Operations } from '../constructs/operations.ts';
import { RefundFunction, type RefundFunctionProps } from '../constructs/refund-function.ts';
import { mailSenderOf, pspUrlOf } from '../settings.ts';

export { mailSenderOf };
import type { RefundTables } from '../tables.ts';

/** Errors our handlers raise for conditions that clear by themselves (throttling, transaction conflicts). */
export const TRANSIENT_ERRORS = ['TransientStoreError'];

/** What every workflow construct receives from the stack. */
export interface WorkflowDeps {
  readonly tables: RefundTables;
  /** Shared stage that marks a run failed and returns its report; every Catch goes through it. */
  readonly recordFailure: RefundFunction;
  /** Datatrans credentials; only the PSP stages may read it. */
  readonly pspSecret: ISecret;
}

export interface StepOptions {
  /** Where the stage's result goes; default replaces the state with the Payload. */
  readonly resultPath?: string;
  readonly timeout?: Duration;
  readonly comment?: string;
  /** Pass only this to the handler (default: the whole state). */
  readonly payload?: Record<string, unknown>;
}

/**
 * A Lambda stage: explicit Retry for transient errors (on top of CDK's Lambda service retries)
 * and a task timeout equal to the function's, so nothing hangs on the library default.
 */
export function lambdaStep(scope: Construct, id: string, fn: lambda.IFunction & { timeout?: Duration }, opts: StepOptions = {}): tasks.LambdaInvoke {
  const keepInput = opts.resultPath !== undefined && opts.resultPath !== '$';
  const step = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: fn,
    comment: opts.comment,
    payload: opts.payload ? sfn.TaskInput.fromObject(opts.payload) : undefined,
    payloadResponseOnly: false,
    retryOnServiceExceptions: true,
    taskTimeout: sfn.Timeout.duration(opts.timeout ?? fn.timeout ?? Duration.seconds(60)),
    ...(keepInput ? { resultSelector: { 'value.$': '$.Payload' }, resultPath: opts.resultPath } : { outputPath: '$.Payload' }),
  });
  step.addRetry({ errors: TRANSIENT_ERRORS, interval: Duration.seconds(1), maxAttempts: 5, backoffRate: 2, jitterStrategy: sfn.JitterType.FULL });
  return step;
}

/**
 * The failure path of a workflow: record the failed run (if one was opened), then fail the
 * execution with the original error and cause, so the console shows what went wrong.
 */
export function failurePath(scope: Construct, deps: WorkflowDeps, workflow: string): sfn.Chain {
  const record = lambdaStep(scope, 'RecordFailure', deps.recordFailure, {
    payload: { 'workflow': workflow, 'runId.$': '$.runId', 'error.$': '$.error' },
    resultPath: '$.failure',
  });
  const fail = new sfn.Fail(scope, 'Failed', { errorPath: '$.error.Error', causePath: '$.error.Cause' });
  // If even recording fails, still fail with the original error.
  record.addCatch(fail, { errors: ['States.ALL'], resultPath: '$.recordError' });
  return sfn.Chain.start(record).next(fail);
}

/** The first state of every workflow: its handler validates the console input (and sees the execution's name and start). */
export function validateStep(scope: Construct, id: string, fn: lambda.IFunction & { timeout?: Duration }): tasks.LambdaInvoke {
  return lambdaStep(scope, id, fn, { payload: VALIDATE_PAYLOAD });
}

const VALIDATE_PAYLOAD = { 'input.$': '$', 'execution': { 'executionName.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime' } };

/**
 * The Catch of the first state (and of any later check that still writes nothing): bad input fails right there with the handler's error, before anything
 * is written. No ResultPath (the default `$`: the error replaces the input) because a console input
 * that is not an object (an array, a string) cannot take a `$.error` field: Step Functions would
 * fail with States.ResultPathMatchFailure instead of the handler's error.
 */
export function rejectInput(scope: Construct, ...steps: tasks.LambdaInvoke[]): void {
  // A handler's error arrives as Lambda's JSON {errorType, errorMessage, trace}: the execution ends
  // with the readable `field: reason` message alone; any other cause is kept as it is.
  const rejected = new sfn.Fail(scope, 'InputRejected', { errorPath: '$.Error', causePath: '$.Cause.errorMessage' });
  const parse = new sfn.Pass(scope, 'ReadRejection', { parameters: { 'Error.$': '$.Error', 'Cause.$': 'States.StringToJson($.Cause)' } });
  const other = new sfn.Fail(scope, 'Rejected', { errorPath: '$.Error', causePath: '$.Cause' });
  const readable = new sfn.Choice(scope, 'RejectionFromHandler')
    .when(
      sfn.Condition.and(sfn.Condition.isPresent('$.Cause'), sfn.Condition.isString('$.Cause'), sfn.Condition.stringMatches('$.Cause', '{*"errorMessage":*}')),
      parse.next(rejected),
    )
    .otherwise(other);
  for (const step of steps) step.addCatch(readable, { errors: ['States.ALL'] });
}

export interface WorkflowStateMachineProps {
  readonly workflow: string;
  readonly definition: sfn.IChainable;
  readonly timeout?: Duration;
}

/**
 * A Standard state machine with logging, tracing and an alarm on failed executions, tagged
 * with its workflow name so the local runner finds it in the synthesized template.
 */
export class WorkflowStateMachine extends Construct {
  readonly workflow: string;
  readonly stateMachine: sfn.StateMachine;
  readonly failedAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: WorkflowStateMachineProps) {
    super(scope, id);
    this.workflow = props.workflow;
    const operations = Operations.of(this);
    const logGroup = operations.logGroup(this, 'Logs');
    const docs = (scope.node.tryGetContext('mass-refund:inputDocsUrl') as string | undefined) ?? 'docs/inputs';
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: `MassRefund-${props.workflow}`,
      // The console shows this beside "Start execution": where the input is described.
      comment: `mass-refund ${props.workflow}. Input: JSON Schema ${docs}/${props.workflow}.schema.json, example ${docs}/${props.workflow}.example.json (mass-refund start ${props.workflow} --help).`,
      definitionBody: sfn.DefinitionBody.fromChainable(props.definition),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: props.timeout ?? Duration.hours(6),
      tracingEnabled: true,
      // ALL events for the audit trail, without execution data: inputs and outputs may name customers.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    (this.stateMachine.node.defaultChild as CfnResource).addMetadata('mass-refund:workflow', props.workflow);
    this.failedAlarm = new cloudwatch.Alarm(this, 'FailedExecutions', {
      alarmDescription: `A ${props.workflow} run failed`,
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    operations.notify(this.failedAlarm);
  }
}

/** A workflow construct: one state machine and its stage functions. */
export interface WorkflowConstruct extends Construct {
  readonly machine: WorkflowStateMachine;
}
export type WorkflowClass = new (scope: Construct, id: string, deps: WorkflowDeps) => WorkflowConstruct;

/**
 * Lets a mail stage send as the verified sender identity only: the address itself and its
 * domain (SES checks whichever identity is verified), not every identity of the account.
 */
export function grantSendAs(fn: lambda.IFunction, sender: string): void {
  const stack = Stack.of(fn);
  const domain = sender.split('@')[1] ?? sender;
  const identity = (name: string) => stack.formatArn({ service: 'ses', resource: 'identity', resourceName: name });
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['ses:SendEmail'], resources: [identity(sender), identity(domain)] }));
}

/** Tables a stage reads or writes, by key. */
export type Bindings = [TableKey, 'RO' | 'RW'][];

/** A stage function of a workflow, bound to the tables it reads or writes (in that order). */
export function stageFn(scope: Construct, deps: WorkflowDeps, id: string, props: RefundFunctionProps, tables: Bindings): RefundFunction {
  const fn = new RefundFunction(scope, id, props);
  for (const [key, access] of tables) fn.bindTable(deps.tables[key], key, access);
  return fn;
}

/** The environment of a stage that calls the PSP: where it is, and the secret holding its credentials. */
export function pspEnvironment(scope: Construct, deps: WorkflowDeps): Record<string, string> {
  return { MASS_REFUND_PSP_URL: pspUrlOf(scope), PSP_SECRET_ARN: deps.pspSecret.secretArn };
}

/** What opening (or finishing) a run passes its stage: the run, when and by whom it was started, its input. */
export function runPayload(runIdPath = '$.runId', inputPath = '$.input'): Record<string, string> {
  return { 'runId.$': runIdPath, 'startedAt.$': '$.startedAt', 'requestedBy.$': '$.requestedBy', 'input.$': inputPath };
}

/** A workflow construct whose state machine (and stages) one function builds in it. */
export function workflowClass(build: (scope: Construct, deps: WorkflowDeps) => WorkflowStateMachine): WorkflowClass {
  return class extends Construct implements WorkflowConstruct {
    readonly machine: WorkflowStateMachine;

    constructor(scope: Construct, id: string, deps: WorkflowDeps) {
      super(scope, id);
      this.machine = build(this, deps);
    }
  };
}

export interface SingleStepWorkflowProps {
  workflow: string;
  /** The stages' service tag. */
  service: string;
  /** The first state: validates the console input (a 30-second stage); writes nothing. */
  validate: { id: string; entry: string; tables: Bindings };
  /** The one step: its function's id, its state's id, its handler, tables and timeout. */
  step: { fnId: string; id: string; entry: string; tables: Bindings; timeout: Duration };
  timeout: Duration;
}

/**
 * A workflow of one step (SwitchRefundToManual, ReverseWriteOff, CancelTickets): validate (bad
 * input fails there, nothing written), then the step, whose failure is recorded on the run.
 */
export function singleStepWorkflow(props: SingleStepWorkflowProps): WorkflowClass {
  return workflowClass((scope, deps) => {
    const { service } = props;
    const validateFn = stageFn(scope, deps, 'ValidateFn', { entry: props.validate.entry, service, timeout: Duration.seconds(30) }, props.validate.tables);
    const stepFn = stageFn(scope, deps, props.step.fnId, { entry: props.step.entry, service, timeout: props.step.timeout }, props.step.tables);
    const validate = validateStep(scope, props.validate.id, validateFn);
    rejectInput(scope, validate);
    const step = lambdaStep(scope, props.step.id, stepFn);
    step.addCatch(failurePath(scope, deps, props.workflow), { errors: ['States.ALL'], resultPath: '$.error' });
    return new WorkflowStateMachine(scope, 'Machine', {
      workflow: props.workflow,
      definition: validate.next(step).next(new sfn.Succeed(scope, 'Done')),
      timeout: props.timeout,
    });
  });
}
