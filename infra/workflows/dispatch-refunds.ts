import { Duration, TimeZone } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { NIGHTLY_PASSES, scheduledDispatchInput } from '../../lib/core/dispatch.ts';
import { stageMaker, type RefundFunction } from '../constructs/refund-function.ts';
import { autoApprovalLimitsOf, schedulesEnabledOf } from '../settings.ts';
import { failurePath, lambdaStep, pspEnvironment, validateStep, rejectInput, runPayload, WorkflowStateMachine, type WorkflowConstruct, type WorkflowDeps } from './common.ts';
import { RunContinuation } from './continuation.ts';
import { pagingMap } from './paging.ts';
import { reconcileSegmentsMap, reconcileStages } from './reconcile-refunds.ts';

const WORKFLOW = 'DispatchRefunds';
const ENTRY = 'functions/dispatch-refunds';

/** A pass's selection, as the pages, the check against the simulation and the nightly credit pass read it. */
const SELECTION = {
  'from.$': '$.from',
  'to.$': '$.to',
  'creditPolicy.$': '$.creditPolicy',
  'simulationRunId.$': '$.simulationRunId',
  'performanceId.$': '$.performanceId',
  'notifyCustomers.$': '$.notifyCustomers',
};

/**
 * DispatchRefunds: the three passes of the dispatch (simulate, psp, credit) in one state machine,
 * the mode in the input. A real run is bound to an approved simulation; a scheduled run reconciles
 * first, simulates itself and goes on only under the auto-approval limits; the nightly one (no
 * mode) then runs the psp pass and the credit pass, both bound to that simulation.
 */
export class DispatchRefundsWorkflow extends Construct implements WorkflowConstruct {
  readonly machine: WorkflowStateMachine;

  constructor(scope: Construct, id: string, deps: WorkflowDeps) {
    super(scope, id);
    const { validateFn, checkFn, openRunFn, pageFn, finishSimulationFn, finishFn, reconcile } = dispatchStages(this, deps);

    const failed = failurePath(this, deps, WORKFLOW);
    // A pass longer than one execution's history allows goes on in the next execution (continuation.ts).
    const continuation = new RunContinuation(this, deps, { workflow: WORKFLOW, service: 'dispatch-refunds', failure: failed });

    // 1. Validate the console (or schedule) input; bad input fails here, nothing written.
    const validate = validateStep(this, 'ValidateDispatchInput', validateFn);

    // A paging loop over the shards of an index, pages for a minute a call, tallies carried along;
    // a shard that had its calls in this execution pauses (the run goes on in the next one).
    const shardMap = (name: string, pageFunction: RefundFunction, itemsPath: string, selector: Record<string, unknown>, resultPath: string) =>
      pagingMap(this, {
        mapId: `${name}Shards`,
        page: { id: `${name}Page`, fn: pageFunction },
        moreId: `${name}MorePages`,
        doneId: `${name}ShardDone`,
        keep: ['shard', 'cursor', 'page', 'done', 'calls', 'tallies'],
        itemsPath,
        itemSelector: { ...selector, 'shard.$': '$$.Map.Item.Value', 'cursor': null, 'page': 0, 'tallies': {}, 'calls': 0, 'callsLeft.$': '$.continuation.callsLeft' },
        resultPath,
      });
    const passSelector = (runIdPath: string, mode: string | null) => ({
      'runId.$': runIdPath,
      ...(mode ? { mode } : { 'mode.$': '$.mode', 'logPrefix.$': '$.logPrefix' }),
      ...SELECTION,
    });

    // 1b. A scheduled run reconciles first: unknown outcomes settled, late failures caught, before its simulation.
    const { openReconcile, reconcileSegments, finishReconcile, reconcileFailed } = reconcileFirstSteps(this, reconcile, failed);

    // 2a. Simulate (the simulate mode, or a scheduled run's own simulation): select and log, write nothing else.
    const openSimulation = lambdaStep(this, 'OpenSimulation', openRunFn, {
      payload: runPayload('$.simulationRunId', '$.simulationInput'),
      resultPath: '$.openedSimulation',
    });
    const simulate = shardMap('Simulate', pageFn, '$.shards', passSelector('$.simulationRunId', 'simulate'), '$.simulatedShards');
    const finishSimulation = lambdaStep(this, 'FinishSimulation', finishSimulationFn, {
      payload: { 'simulationRunId.$': '$.simulationRunId', 'mode.$': '$.mode', 'shardResults.$': '$.simulatedShards' },
      resultPath: '$.simulation',
    });
    for (const step of [openSimulation, simulate, finishSimulation]) step.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });

    // 2b. Bind the real run to its approved simulation: refuse (nothing written) if the selection changed.
    // What the check compares with the simulation: the pass's selection.
    const checkPayload = { 'mode.$': '$.mode', ...SELECTION };
    const check = lambdaStep(this, 'CheckAgainstSimulation', checkFn, {
      payload: checkPayload,
      resultPath: '$.check',
    });
    rejectInput(this, validate, check, continuation.resume);
    const openRun = lambdaStep(this, 'OpenRun', openRunFn, {
      payload: runPayload(),
      resultPath: '$.opened',
    });

    // 3. The pass itself over the 16 open-refund shards: PSP refunds or credit-account fallback.
    // The emails it owes go to the outbox with the money's moves; SendEmails sends them, off this path.
    const dispatch = shardMap('Dispatch', pageFn, '$.shards', passSelector('$.runId', null), '$.passShards');
    // 4. The run report.
    const finishPayload = {
      ...runPayload(),
      'simulationRunId.$': '$.simulationRunId',
      'reconcileFirst.$': '$.reconcileFirst',
      'reconcileRunId.$': '$.reconcileRunId',
    };
    const finish = lambdaStep(this, 'FinishRun', finishFn, {
      payload: { ...finishPayload, 'shardResults.$': '$.passShards', 'earlierShardResults.$': '$.earlierShardResults' },
    });
    const awaitApproval = lambdaStep(this, 'AwaitApproval', finishFn, { payload: { ...finishPayload, 'awaitingApproval.$': '$.simulation.value.over' } });
    for (const step of [openRun, dispatch, finish, awaitApproval]) step.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });

    const done = new sfn.Succeed(this, 'Done');
    // The nightly run: after the psp pass, the credit pass of the same run and simulation (its tallies kept for the one report).
    const thenCredit = new sfn.Pass(this, 'ThenCreditPass', {
      parameters: {
        ...runPayload(),
        'mode': 'credit',
        ...SELECTION,
        'thenCredit': false,
        'earlierShardResults.$': '$.passShards',
        'logPrefix': 'then-credit#',
        'reconcileFirst.$': '$.reconcileFirst',
        'reconcileRunId.$': '$.reconcileRunId',
        'shards.$': '$.shards',
        'continuation.$': '$.continuation',
      },
    });
    // Its own check: a refusal here fails the run (recorded), it is already open.
    const checkCredit = lambdaStep(this, 'CheckCreditAgainstSimulation', checkFn, {
      payload: checkPayload,
      resultPath: '$.check',
    });
    checkCredit.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
    const afterPass = new sfn.Choice(this, 'AfterPass').when(sfn.Condition.booleanEquals('$.thenCredit', true), thenCredit.next(checkCredit).next(openRun)).otherwise(finish.next(done));
    dispatch.next(continuation.gate('DispatchGate', { resumeAt: 'DispatchShards', shards: { items: 'shards', results: 'passShards', key: 'shard' } }, afterPass));
    const realRun = check.next(openRun).next(dispatch);
    const simulationReport = new sfn.Pass(this, 'SimulationReport', { outputPath: '$.simulation.value.report' });
    const afterSimulation = new sfn.Choice(this, 'AfterSimulation')
      .when(sfn.Condition.stringEquals('$.mode', 'simulate'), simulationReport.next(new sfn.Succeed(this, 'Simulated')))
      .when(sfn.Condition.booleanEquals('$.simulation.value.approved', true), check)
      .otherwise(awaitApproval.next(new sfn.Succeed(this, 'WaitingForApproval')));
    const simulateFirst = new sfn.Choice(this, 'SimulateFirst')
      .when(sfn.Condition.or(sfn.Condition.stringEquals('$.mode', 'simulate'), sfn.Condition.booleanEquals('$.simulateFirst', true)), openSimulation.next(simulate))
      .otherwise(realRun);
    simulate.next(continuation.gate('SimulateGate', { resumeAt: 'SimulateShards', shards: { items: 'shards', results: 'simulatedShards', key: 'shard' } }, finishSimulation));
    finishSimulation.next(afterSimulation);
    const reconcileFirst = new sfn.Choice(this, 'ReconcileFirst').when(sfn.Condition.booleanEquals('$.reconcileFirst', true), openReconcile.next(reconcileSegments)).otherwise(simulateFirst);
    reconcileSegments.next(
      continuation.gate('ReconcileFirstGate', { resumeAt: 'ReconcileFirstSegments', shards: { items: 'segments', results: 'reconcileSegments', key: 'segment' }, failure: reconcileFailed }, finishReconcile),
    );
    finishReconcile.next(simulateFirst);
    validate.next(continuation.budget()).next(reconcileFirst);

    const definition = continuation.entry(validate, { ReconcileFirstSegments: reconcileSegments, SimulateShards: simulate, DispatchShards: dispatch });
    this.machine = new WorkflowStateMachine(this, 'Machine', { workflow: WORKFLOW, definition, timeout: Duration.hours(12) });
    continuation.grant(this.machine);

    nightlySchedules(this, this.machine);
  }
}

/** The stages of the dispatch, and ReconcileRefunds' own ones for the reconciliation a scheduled run makes first. */
function dispatchStages(scope: Construct, deps: WorkflowDeps) {
  const t = deps.tables;
  const fn = stageMaker(scope, ENTRY, 'dispatch-refunds');
  const validateFn = fn('ValidateFn', 'validate.ts', Duration.seconds(30)).bindTable(t.catalog, 'catalog', 'RO');
  const checkFn = fn('CheckFn', 'check.ts', Duration.minutes(5)).bindTable(t.refunds, 'refunds', 'RO').bindTable(t.runs, 'runs', 'RO');
  const openRunFn = fn('OpenRunFn', 'open-run.ts', Duration.seconds(30)).bindTable(t.runs, 'runs', 'RW');
  const pageFn = fn('PageFn', 'page.ts', Duration.minutes(5), { environment: pspEnvironment(scope, deps) })
    .bindTable(t.refunds, 'refunds', 'RW')
    .bindTable(t.runs, 'runs', 'RW')
    .bindTable(t.creditAccounts, 'creditAccounts', 'RW')
    .bindTable(t.orders, 'orders', 'RO');
  deps.pspSecret.grantRead(pageFn);
  // Default {}: no currency is approved automatically, a person approves every pass that moves money.
  const limits = JSON.stringify(autoApprovalLimitsOf(scope));
  const finishSimulationFn = fn('FinishSimulationFn', 'finish-simulation.ts', Duration.minutes(2), { environment: { AUTO_APPROVAL_LIMITS: limits } }).bindTable(t.runs, 'runs', 'RW');
  const finishFn = fn('FinishRunFn', 'finish.ts', Duration.seconds(30)).bindTable(t.runs, 'runs', 'RW');
  // A scheduled run reconciles first with ReconcileRefunds' own stages (Lambda tasks only: the same definition runs locally).
  const reconcile = reconcileStages(scope, deps, { open: 'ReconcileOpenRunFn', page: 'ReconcilePageFn', finish: 'ReconcileFinishFn' });
  return { validateFn, checkFn, openRunFn, pageFn, finishSimulationFn, finishFn, reconcile };
}

/**
 * The steps of the reconciliation a scheduled run makes first, as its own run (reconcileRunId):
 * open, the segments' paging loop, finish. Their failure marks that run failed.
 */
function reconcileFirstSteps(scope: Construct, reconcile: ReturnType<typeof reconcileStages>, failed: sfn.IChainable) {
  const reconcileRun = runPayload('$.reconcileRunId', '$.reconcileInput');
  const openReconcile = lambdaStep(scope, 'OpenReconcileFirst', reconcile.openFn, { payload: reconcileRun, resultPath: '$.openedReconcile' });
  const reconcileSegments = reconcileSegmentsMap(
    scope,
    reconcile.pageFn,
    { mapId: 'ReconcileFirstSegments', pageId: 'ReconcileFirstPage', moreId: 'ReconcileFirstMore', doneId: 'ReconcileFirstSegmentDone' },
    { runId: '$.reconcileRunId', scope: '$.reconcileScope', result: '$.reconcileSegments' },
  );
  const finishReconcile = lambdaStep(scope, 'FinishReconcileFirst', reconcile.finishFn, {
    payload: { ...reconcileRun, 'segmentResults.$': '$.reconcileSegments' },
    resultPath: '$.reconciled',
  });
  // Its failure marks the reconciliation's run failed (the dispatch run is not open yet).
  const reconcileFailed = new sfn.Pass(scope, 'ReconcileFirstFailed', { parameters: { 'runId.$': '$.reconcileRunId', 'error.$': '$.error' } }).next(failed);
  for (const step of [openReconcile, reconcileSegments, finishReconcile]) step.addCatch(reconcileFailed, { errors: ['States.ALL'], resultPath: '$.error' });
  return { openReconcile, reconcileSegments, finishReconcile, reconcileFailed };
}

/** The nightly schedule (Europe/Zurich): reconcile, simulate, psp, credit over every open refund created before today. */
function nightlySchedules(scope: Construct, machine: WorkflowStateMachine): void {
  for (const pass of NIGHTLY_PASSES) {
    new scheduler.Schedule(scope, pass.id, {
      description: `mass-refund: nightly DispatchRefunds${pass.mode ? ` ${pass.mode}` : ''}: reconcile first, then every open refund created before today`,
      // Deployed disabled until the operator turns them on (context mass-refund:schedulesEnabled).
      enabled: schedulesEnabledOf(scope),
      schedule: scheduler.ScheduleExpression.cron({ hour: String(pass.hour), minute: String(pass.minute), timeZone: TimeZone.EUROPE_ZURICH }),
      target: new schedulerTargets.StepFunctionsStartExecution(machine.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject(scheduledDispatchInput('nightly', pass.mode ? { mode: pass.mode } : {})),
        retryAttempts: 2,
      }),
    });
  }
}
