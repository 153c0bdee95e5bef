import { CfnOutput, Duration, Stack, type CfnResource, type StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { RefundFunction } from './constructs/refund-function.ts';
import { acknowledgeNagFindingsAtSynth } from './nag.ts';
import { RunEnds } from './run-ends.ts';
import { RefundTables } from './tables.ts';
import { addOperationsDashboard } from './dashboard.ts';
import { Operations } from './constructs/operations.ts';
import { assertDeployable } from './settings.ts';
import type { WorkflowConstruct, WorkflowDeps } from './workflows/common.ts';
import { WORKFLOWS } from './workflows/index.ts';

/**
 * The whole product in one stack: the tables, one state machine per workflow of the contract,
 * the shared failure recorder and the PSP credentials.
 */
export class MassRefundStack extends Stack {
  readonly tables: RefundTables;
  readonly workflows: Record<string, Construct> = {};

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    // S3 log delivery through bucket policies, not ACLs (Control Tower CT.S3.PR.5 prohibits bucket ACLs).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    // A production stage with trial settings (example sender, Datatrans' test URL) stops here.
    assertDeployable(this);
    this.tables = new RefundTables(this, 'Tables');
    const operations = Operations.of(this);

    // PSP credentials {merchantId, password}: set the value after the first deploy.
    const pspSecret = new secretsmanager.Secret(this, 'PspCredentials', {
      description: 'Datatrans merchant id and password for mass-refund (JSON: {"merchantId","password"})',
      generateSecretString: { secretStringTemplate: JSON.stringify({ merchantId: 'set-me' }), generateStringKey: 'password', excludePunctuation: true },
    });
    (pspSecret.node.defaultChild as CfnResource).addMetadata('mass-refund:secret', 'psp-credentials');

    const recordFailure = new RefundFunction(this, 'RecordFailureFn', { entry: 'functions/runs/record-failure.ts', service: 'runs', timeout: Duration.seconds(30) });
    recordFailure.bindTable(this.tables.runs, 'runs', 'RW');

    const deps: WorkflowDeps = { tables: this.tables, recordFailure, pspSecret };
    const machines: { workflow: string; stateMachine: sfn.IStateMachine }[] = [];
    for (const [name, Workflow] of Object.entries(WORKFLOWS)) {
      const workflow = new Workflow(this, name, deps);
      this.workflows[name] = workflow;
      machines.push({ workflow: name, stateMachine: workflow.machine.stateMachine });
      // The CLI finds each workflow's state machine by this output (`mass-refund … --target aws`).
      new CfnOutput(this, `${name}StateMachineArn`, { value: workflow.machine.stateMachine.stateMachineArn, description: `mass-refund workflow ${name}` });
    }
    // An execution that times out, is stopped or cannot record its own failure still ends its run.
    new RunEnds(this, 'RunEnds', { tables: this.tables, machines });

    for (const [key, table] of Object.entries(this.tables.all())) {
      new CfnOutput(this, `${key}TableName`, { value: table.tableName });
    }
    new CfnOutput(this, 'PspSecretName', { value: pspSecret.secretName, description: 'Set the Datatrans credentials here: JSON {"merchantId","password"}' });
    new CfnOutput(this, 'AlarmTopicArn', { value: operations.alarmTopic.topicArn, description: 'Every alarm notifies this topic (context mass-refund:alarmEmail subscribes an address)' });
    new CfnOutput(this, 'DashboardName', { value: operations.dashboard.dashboardName });
    addOperationsDashboard(operations, Object.values(this.workflows) as WorkflowConstruct[]);
    acknowledgeNagFindingsAtSynth(this);
  }
}
