/**
 * The deployed stack as the local runtime stands in for it: its state machines with ARNs shaped
 * like AWS's, and its CloudFormation outputs resolved from the synthesized template (local table
 * names, local state machine ARNs), so the CLI finds a local stack exactly as a deployed one.
 */
import { STACK_NAME } from '../synth.ts';
import { listStateMachines, resolveIntrinsics, type CfnTemplate, type LocalStateMachine } from '../template.ts';

export const LOCAL_STACK_REGION = 'eu-central-1';
export const LOCAL_STACK_ACCOUNT = '000000000000';

export interface LocalStackOptions {
  template: CfnTemplate;
  /** DynamoDB table logical id -> local physical name. */
  tableNames: Record<string, string>;
  stackName?: string;
  region?: string;
  accountId?: string;
}

export interface LocalMachine {
  workflow: string;
  name: string;
  arn: string;
  logicalId: string;
  definition: Record<string, unknown>;
}

export interface StackOutput {
  OutputKey: string;
  OutputValue: string;
  Description?: string;
}

export class LocalStack {
  readonly name: string;
  readonly region: string;
  readonly accountId: string;
  readonly createdAt = new Date();
  readonly machines: LocalMachine[];
  readonly #opts: LocalStackOptions;

  constructor(opts: LocalStackOptions) {
    this.#opts = opts;
    this.name = opts.stackName ?? STACK_NAME;
    this.region = opts.region ?? LOCAL_STACK_REGION;
    this.accountId = opts.accountId ?? LOCAL_STACK_ACCOUNT;
    this.machines = listStateMachines(opts.template, { tableNames: opts.tableNames, stackName: this.name }).map((m: LocalStateMachine) => ({
      workflow: m.workflow,
      name: m.name,
      arn: this.stateMachineArn(m.name),
      logicalId: m.logicalId,
      definition: m.definition,
    }));
  }

  get stackId(): string {
    return `arn:aws:cloudformation:${this.region}:${this.accountId}:stack/${this.name}/00000000-0000-0000-0000-000000000000`;
  }

  get roleArn(): string {
    return `arn:aws:iam::${this.accountId}:role/${this.name}-local-states`;
  }

  stateMachineArn(name: string): string {
    return `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${name}`;
  }

  executionArn(machine: LocalMachine, executionName: string): string {
    return `arn:aws:states:${this.region}:${this.accountId}:execution:${machine.name}:${executionName}`;
  }

  machineByArn(arn: string): LocalMachine | undefined {
    return this.machines.find((m) => m.arn === arn);
  }

  /** The template's Outputs, resolved: a state machine by its local ARN, a table by its local name. */
  outputs(): StackOutput[] {
    const template = this.#opts.template;
    const declared = (template['Outputs'] ?? {}) as Record<string, { Value: unknown; Description?: string }>;
    const byLogicalId = new Map(this.machines.map((m) => [m.logicalId, m]));
    return Object.entries(declared).map(([key, output]) => {
      const ref = (output.Value as { Ref?: unknown } | null)?.Ref;
      const machine = typeof ref === 'string' ? byLogicalId.get(ref) : undefined;
      const value = machine ? machine.arn : resolveIntrinsics(output.Value, { template, tableNames: this.#opts.tableNames, stackName: this.name });
      return { OutputKey: key, OutputValue: typeof value === 'string' ? value : JSON.stringify(value), ...(output.Description ? { Description: output.Description } : {}) };
    });
  }
}
