import { Duration, TimeZone } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { NIGHTLY_PASSES, scheduledDispatchInput } from '../../lib/core/dispatch.ts';
import { RefundFunction } from '../constructs/refund-function.ts';
import { autoApprovalLimitsOf, pspUrlOf, schedulesEnabledOf } from '../settings.ts';
import { failurePath, grantSendAs, lambdaStep, mailSenderOf, rejectInput, WorkflowStateMachine, type WorkflowConstruct, type WorkflowDeps } from './common.ts';

const WORKFLOW = 'DispatchRefunds';
const ENTRY = 'functions/dispatch-refunds';

/**
 * DispatchRefunds: the three passes of the dispatch (simulate, psp, credit) in one state machine,
 * the mode in the input. A real run is bound to an approved simulation; a scheduled run simulates
 * first itself and goes on only under the auto-approval limits.
 */
export class DispatchRefundsWorkflow extends Construct implements WorkflowConstruct {
  readonly machine: WorkflowStateMachine;

  constructor(scope: Construct, id: string, deps: WorkflowDeps) {
    super(scope, id);
    const t = deps.tables;
    const fn = (name: string, entry: string, timeout: Duration, environment: Record<string, string> = {}) =>
      new RefundFunction(this, name, { entry: `${ENTRY}/${entry}`, service: 'dispatch-refunds', timeout, environment });

    const validateFn = fn('ValidateFn', 'validate.ts', Duration.seconds(30));
    const checkFn = fn('CheckFn', 'check.ts', Duration.minutes(5)).bindTable(t.refunds, 'refunds', 'RO').bindTable(t.runs, 'runs', 'RO');
    const openRunFn = fn('OpenRunFn', 'open-run.ts', Duration.seconds(30)).bindTable(t.runs, 'runs', 'RW');
    const pspUrl = pspUrlOf(this);
    const pageFn = fn('PageFn', 'page.ts', Duration.minutes(5), { MASS_REFUND_PSP_URL: pspUrl, PSP_SECRET_ARN: deps.pspSecret.secretArn })
      .bindTable(t.refunds, 'refunds', 'RW')
      .bindTable(t.runs, 'runs', 'RW')
      .bindTable(t.creditAccounts, 'creditAccounts', 'RW')
      .bindTable(t.orders, 'orders', 'RO');
    deps.pspSecret.grantRead(pageFn);
    // Default {}: no currency is approved automatically, a person approves every pass that moves money.
    const limits = JSON.stringify(autoApprovalLimitsOf(this));
    const finishSimulationFn = fn('FinishSimulationFn', 'finish-simulation.ts', Duration.minutes(2), { AUTO_APPROVAL_LIMITS: limits }).bindTable(t.runs, 'runs', 'RW');
    const mailSender = mailSenderOf(this);
    const emailsFn = fn('SendEmailsFn', 'send-emails.ts', Duration.minutes(5), { MAIL_SENDER: mailSender })
      .bindTable(t.refunds, 'refunds', 'RW')
      .bindTable(t.runs, 'runs', 'RW')
      .bindTable(t.catalog, 'catalog', 'RO');
    grantSendAs(emailsFn, mailSender);
    const finishFn = fn('FinishRunFn', 'finish.ts', Duration.seconds(30)).bindTable(t.runs, 'runs', 'RW');

    const failed = failurePath(this, deps, WORKFLOW);

    // 1. Validate the console (or schedule) input; bad input fails here, nothing written.
    const validate = lambdaStep(this, 'ValidateDispatchInput', validateFn, {
      payload: { 'input.$': '$', 'execution': { 'executionName.$': '$$.Execution.Name', 'startedAt.$': '$$.Execution.StartTime' } },
    });

    // A paging loop over the shards of an index, one Lambda page at a time, tallies carried along.
    const shardMap = (name: string, pageFunction: RefundFunction, itemsPath: string, selector: Record<string, unknown>, resultPath: string) => {
      const page = lambdaStep(this, `${name}Page`, pageFunction);
      const done = new sfn.Pass(this, `${name}ShardDone`, { parameters: { 'tallies.$': '$.tallies' } });
      const more = new sfn.Choice(this, `${name}MorePages`).when(sfn.Condition.booleanEquals('$.done', true), done).otherwise(page);
      return new sfn.Map(this, `${name}Shards`, {
        itemsPath,
        maxConcurrency: 16,
        itemSelector: { ...selector, 'shard.$': '$$.Map.Item.Value', 'cursor': null, 'page': 0, 'tallies': {} },
        resultPath,
      }).itemProcessor(page.next(more));
    };
    const passSelector = (runIdPath: string, mode: string | null) => ({
      'runId.$': runIdPath,
      ...(mode ? { mode } : { 'mode.$': '$.mode' }),
      'from.$': '$.from',
      'to.$': '$.to',
      'creditPolicy.$': '$.creditPolicy',
      'simulationRunId.$': '$.simulationRunId',
    });

    // 2a. Simulate (the simulate mode, or a scheduled run's own simulation): select and log, write nothing else.
    const openSimulation = lambdaStep(this, 'OpenSimulation', openRunFn, {
      payload: { 'runId.$': '$.simulationRunId', 'startedAt.$': '$.startedAt', 'requestedBy.$': '$.requestedBy', 'input.$': '$.simulationInput' },
      resultPath: '$.openedSimulation',
    });
    const simulate = shardMap('Simulate', pageFn, '$.shards', passSelector('$.simulationRunId', 'simulate'), '$.simulatedShards');
    const finishSimulation = lambdaStep(this, 'FinishSimulation', finishSimulationFn, {
      payload: { 'simulationRunId.$': '$.simulationRunId', 'mode.$': '$.mode', 'shardResults.$': '$.simulatedShards' },
      resultPath: '$.simulation',
    });
    for (const step of [openSimulation, simulate, finishSimulation]) step.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });

    // 2b. Bind the real run to its approved simulation: refuse (nothing written) if the selection changed.
    const check = lambdaStep(this, 'CheckAgainstSimulation', checkFn, {
      payload: { 'mode.$': '$.mode', 'from.$': '$.from', 'to.$': '$.to', 'creditPolicy.$': '$.creditPolicy', 'simulationRunId.$': '$.simulationRunId' },
      resultPath: '$.check',
    });
    rejectInput(this, validate, check);
    const openRun = lambdaStep(this, 'OpenRun', openRunFn, {
      payload: { 'runId.$': '$.runId', 'startedAt.$': '$.startedAt', 'requestedBy.$': '$.requestedBy', 'input.$': '$.input' },
      resultPath: '$.opened',
    });

    // 3. The pass itself over the 16 open-refund shards: PSP refunds or credit-account fallback.
    const dispatch = shardMap('Dispatch', pageFn, '$.shards', passSelector('$.runId', null), '$.passShards');
    // 4. Emails owed by the outbox: one per order and kind, never two for one refund.
    const emails = shardMap('Emails', emailsFn, '$.outboxShards', { 'runId.$': '$.runId' }, '$.emailShards');
    // 5. The run report.
    const finishPayload = { 'runId.$': '$.runId', 'startedAt.$': '$.startedAt', 'requestedBy.$': '$.requestedBy', 'input.$': '$.input', 'simulationRunId.$': '$.simulationRunId' };
    const finish = lambdaStep(this, 'FinishRun', finishFn, { payload: { ...finishPayload, 'shardResults.$': '$.passShards', 'emailResults.$': '$.emailShards' } });
    const awaitApproval = lambdaStep(this, 'AwaitApproval', finishFn, { payload: { ...finishPayload, 'awaitingApproval.$': '$.simulation.value.over' } });
    for (const step of [openRun, dispatch, emails, finish, awaitApproval]) step.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });

    const done = new sfn.Succeed(this, 'Done');
    const realRun = check.next(openRun).next(dispatch).next(emails).next(finish).next(done);
    const simulationReport = new sfn.Pass(this, 'SimulationReport', { outputPath: '$.simulation.value.report' });
    const afterSimulation = new sfn.Choice(this, 'AfterSimulation')
      .when(sfn.Condition.stringEquals('$.mode', 'simulate'), simulationReport.next(new sfn.Succeed(this, 'Simulated')))
      .when(sfn.Condition.booleanEquals('$.simulation.value.approved', true), check)
      .otherwise(awaitApproval.next(new sfn.Succeed(this, 'WaitingForApproval')));
    const simulateFirst = new sfn.Choice(this, 'SimulateFirst')
      .when(sfn.Condition.or(sfn.Condition.stringEquals('$.mode', 'simulate'), sfn.Condition.booleanEquals('$.simulateFirst', true)), openSimulation.next(simulate).next(finishSimulation).next(afterSimulation))
      .otherwise(realRun);

    this.machine = new WorkflowStateMachine(this, 'Machine', { workflow: WORKFLOW, definition: validate.next(simulateFirst), timeout: Duration.hours(12) });

    // Scheduled runs: nightly simulate, psp, credit over yesterday (Europe/Zurich).
    for (const pass of NIGHTLY_PASSES) {
      new scheduler.Schedule(this, `Nightly${pass.mode[0]!.toUpperCase()}${pass.mode.slice(1)}`, {
        description: `mass-refund: nightly DispatchRefunds ${pass.mode} over yesterday`,
        // Deployed disabled until the operator turns them on (context mass-refund:schedulesEnabled).
        enabled: schedulesEnabledOf(this),
        schedule: scheduler.ScheduleExpression.cron({ hour: String(pass.hour), minute: String(pass.minute), timeZone: TimeZone.EUROPE_ZURICH }),
        target: new schedulerTargets.StepFunctionsStartExecution(this.machine.stateMachine, {
          input: scheduler.ScheduleTargetInput.fromObject(scheduledDispatchInput('nightly', { mode: pass.mode })),
          retryAttempts: 2,
        }),
      });
    }
  }
}
