import { CfnOutput, Duration, Stack, type CfnResource, type StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { RefundFunction } from './constructs/refund-function.ts';
import { acknowledgeNagFindingsAtSynth } from './nag.ts';
import { RefundTables } from './tables.ts';
import type { WorkflowDeps } from './workflows/common.ts';
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
    this.tables = new RefundTables(this, 'Tables');

    // PSP credentials {merchantId, password}: set the value after the first deploy.
    const pspSecret = new secretsmanager.Secret(this, 'PspCredentials', {
      description: 'Datatrans merchant id and password for mass-refund (JSON: {"merchantId","password"})',
      generateSecretString: { secretStringTemplate: JSON.stringify({ merchantId: 'set-me' }), generateStringKey: 'password', excludePunctuation: true },
    });
    (pspSecret.node.defaultChild as CfnResource).addMetadata('mass-refund:secret', 'psp-credentials');

    const recordFailure = new RefundFunction(this, 'RecordFailureFn', { entry: 'functions/runs/record-failure.ts', service: 'runs', timeout: Duration.seconds(30) });
    recordFailure.bindTable(this.tables.runs, 'runs', 'RW');

    const deps: WorkflowDeps = { tables: this.tables, recordFailure, pspSecret };
    for (const [name, Workflow] of Object.entries(WORKFLOWS)) {
      this.workflows[name] = new Workflow(this, name, deps);
    }

    for (const [key, table] of Object.entries(this.tables.all())) {
      new CfnOutput(this, `${key}TableName`, { value: table.tableName });
    }
    acknowledgeNagFindingsAtSynth(this);
  }
}
