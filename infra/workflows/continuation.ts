import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { CALLS_PER_SHARD_PER_EXECUTION } from '../../lib/core/continuation.ts';
import { RefundFunction } from '../constructs/refund-function.ts';
import { lambdaStep, type WorkflowDeps, type WorkflowStateMachine } from './common.ts';

/** What a Map's shards are called in the state: its items, its results, the shard number's field. */
export interface ShardFields {
  items: string;
  results: string;
  key: 'shard' | 'segment';
}

/**
 * A run that goes on in new executions of its own state machine (lib/core/continuation.ts):
 * 1 the first state tells a continued execution (input `{continueRun, part}`) from a new run;
 *   a continued one takes its checkpoint (Resume) and jumps to where the run paused;
 * 2 a new run starts its budget of page calls (`$.continuation`);
 * 3 after each Map a gate says whether every shard finished (go on here) or the run continues:
 *   its state is checkpointed, the Task `states:startExecution` starts the next part
 *   (`$$.StateMachine.Id`: the same state machine) and this execution ends as `RunContinues`
 *   (SUCCEEDED, so the run-ends rule leaves the run alone; the last part ends it).
 * JSONPath and the optimized integration only: the local runner runs it as AWS does.
 */
export class RunContinuation {
  readonly resume: tasks.LambdaInvoke;
  readonly #scope: Construct;
  readonly #workflow: string;
  readonly #checkpointFn: RefundFunction;
  readonly #failure: sfn.IChainable;
  #continueRun: sfn.CustomState | undefined;

  constructor(scope: Construct, deps: WorkflowDeps, props: { workflow: string; service: string; failure: sfn.IChainable }) {
    this.#scope = scope;
    this.#workflow = props.workflow;
    this.#failure = props.failure;
    const resumeFn = new RefundFunction(scope, 'ResumeRunFn', { entry: 'functions/runs/resume.ts', service: props.service, timeout: Duration.seconds(30) });
    resumeFn.bindTable(deps.tables.runs, 'runs', 'RW');
    this.#checkpointFn = new RefundFunction(scope, 'CheckpointRunFn', { entry: 'functions/runs/checkpoint.ts', service: props.service, timeout: Duration.seconds(60) });
    this.#checkpointFn.bindTable(deps.tables.runs, 'runs', 'RW');
    // Bad continuation input fails here, nothing written but the taking of the checkpoint.
    this.resume = lambdaStep(scope, 'ResumeRun', resumeFn, {
      payload: { workflow: props.workflow, 'request.$': '$', execution: { 'name.$': '$$.Execution.Name' } },
      comment: 'A continued execution of a run: takes the state its previous execution left',
    });
  }

  /** 2. The budget of a new run's first execution. */
  budget(): sfn.Pass {
    return new sfn.Pass(this.#scope, 'StartBudget', {
      comment: `Page calls a shard makes at most in this execution (then the run continues in a new one)`,
      result: sfn.Result.fromObject({ part: 1, callsLeft: CALLS_PER_SHARD_PER_EXECUTION, continue: false }),
      resultPath: '$.continuation',
    });
  }

  /** 1. The first state: a continued execution resumes where its run paused; anything else is a new run (`fresh`). */
  entry(fresh: sfn.IChainable, resumeAt: Record<string, sfn.State>): sfn.Choice {
    const at = new sfn.Choice(this.#scope, 'ResumeAt');
    for (const [name, state] of Object.entries(resumeAt)) at.when(sfn.Condition.stringEquals('$.resumeAt', name), state);
    this.resume.next(at);
    return new sfn.Choice(this.#scope, 'ContinuesRun').when(sfn.Condition.isPresent('$.continueRun'), this.resume).otherwise(fresh);
  }

  /**
   * 3. After a Map (or a SendEmails batch that paused): the gate, then either the next part of the
   * run or `then`. `resumeAt` is the state the next part starts at; `shards` names the Map's fields.
   */
  gate(id: string, opts: { resumeAt: string; shards?: ShardFields; failure?: sfn.IChainable }, then: sfn.IChainable): tasks.LambdaInvoke {
    const gate = lambdaStep(this.#scope, id, this.#checkpointFn, {
      payload: {
        workflow: this.#workflow,
        'state.$': '$',
        execution: { 'name.$': '$$.Execution.Name' },
        gate: { resumeAt: opts.resumeAt, ...(opts.shards ? { shards: opts.shards } : {}) },
      },
    });
    gate.addCatch(opts.failure ?? this.#failure, { errors: ['States.ALL'], resultPath: '$.error' });
    const goesOn = new sfn.Choice(this.#scope, `${id}GoesOn`).when(sfn.Condition.booleanEquals('$.continuation.continue', true), this.#continue()).otherwise(then);
    gate.next(goesOn);
    return gate;
  }

  /** The state machine may start its own executions (by name: its ARN would make the role depend on it). */
  grant(machine: WorkflowStateMachine): void {
    const arn = Stack.of(this.#scope).formatArn({ service: 'states', resource: 'stateMachine', resourceName: `MassRefund-${this.#workflow}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    machine.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [arn] }));
  }

  #continue(): sfn.CustomState {
    if (this.#continueRun) return this.#continueRun;
    const start = new sfn.CustomState(this.#scope, 'ContinueRun', {
      stateJson: {
        Type: 'Task',
        Comment: 'The run goes on in its next part: a new execution of this state machine',
        Resource: 'arn:aws:states:::states:startExecution',
        Parameters: {
          'StateMachineArn.$': '$$.StateMachine.Id',
          'Name.$': '$.continuation.next.name',
          Input: { 'continueRun.$': '$.runId', 'part.$': '$.continuation.next.part', 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id' },
        },
        ResultSelector: { 'executionArn.$': '$.ExecutionArn' },
        ResultPath: '$.continued',
      },
    });
    // The same name and input answer the execution already started (a retry after a lost answer).
    start.addRetry({ errors: ['StepFunctions.SdkClientException', 'StepFunctions.AWSStepFunctionsException'], interval: Duration.seconds(1), maxAttempts: 3, backoffRate: 2 });
    start.addCatch(this.#failure, { errors: ['States.ALL'], resultPath: '$.error' });
    const continues = new sfn.Pass(this.#scope, 'RunContinues', {
      comment: 'This execution ends; the run goes on (its report comes from the part that finishes it)',
      parameters: {
        'runId.$': '$.runId',
        workflow: this.#workflow,
        status: 'running',
        continuedIn: { 'executionArn.$': '$.continued.executionArn', 'name.$': '$.continuation.next.name', 'part.$': '$.continuation.next.part' },
      },
    });
    start.next(continues).next(new sfn.Succeed(this.#scope, 'Continued'));
    this.#continueRun = start;
    return start;
  }
}
