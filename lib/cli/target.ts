/**
 * One code path for both targets: the CLI finds the stack through CloudFormation's DescribeStacks
 * (its outputs name each state machine and table) and then talks to Step Functions and DynamoDB
 * with the AWS SDK. `--target local` only points those clients at the local runtime's endpoints
 * first (the standard AWS_ENDPOINT_URL_* variables), where the Step Functions endpoint answers
 * DescribeStacks from the synthesized template.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { TABLE_ENV, type TableKey } from '../adapters/dynamodb/table-names.ts';
import { STACK_NAME } from '../local/synth.ts';
import * as runtime from '../local/runtime.ts';
import { didYouMean } from './args.ts';
import { UsageError } from './io.ts';

export type Target = 'local' | 'aws';

export interface StackConnection {
  target: Target;
  name: string;
  /** Workflow -> state machine ARN. */
  stateMachines: Record<string, string>;
  /** Table key -> physical table name. */
  tables: Partial<Record<TableKey, string>>;
  outputs: Record<string, string>;
  sfn: SFNClient;
  /** Set for the local target: the runtime's services (SES store, PSP sandbox ledger). */
  local?: runtime.RuntimeState;
  /** Loopback endpoints answer at once: poll them faster than AWS. */
  pollMaxMs: number;
  /** Said on stderr before the command's own output. */
  warnings: string[];
}

/** The stack is not there (wrong name, region or account): bad input, nothing written. */
export class StackNotFoundError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StackNotFoundError';
  }
}

const STATE_MACHINE_OUTPUT = /^(.+)StateMachineArn$/;
const TABLE_OUTPUT = /^(.+)TableName$/;

/** Reads the outputs the CLI needs: `<Workflow>StateMachineArn` and `<table>TableName`. */
export function stackOutputs(outputs: Record<string, string>): Pick<StackConnection, 'stateMachines' | 'tables'> {
  const stateMachines: Record<string, string> = {};
  const tables: Partial<Record<TableKey, string>> = {};
  for (const [key, value] of Object.entries(outputs)) {
    const sm = STATE_MACHINE_OUTPUT.exec(key);
    if (sm) stateMachines[sm[1] as string] = value;
    const t = TABLE_OUTPUT.exec(key);
    if (t && (t[1] as string) in TABLE_ENV) tables[t[1] as TableKey] = value;
  }
  return { stateMachines, tables };
}

function isLoopback(url: string | undefined): boolean {
  if (!url) return false;
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
  } catch {
    return false;
  }
}

export interface ConnectOptions {
  target: Target;
  stack?: string;
  region?: string;
}

export async function connect(opts: ConnectOptions): Promise<StackConnection> {
  let local: runtime.RuntimeState | undefined;
  if (opts.target === 'local') local = await runtime.attach();
  if (opts.region) process.env.AWS_REGION = opts.region;
  const name = opts.stack ?? STACK_NAME;
  const cfn = new CloudFormationClient({});
  let outputs: Record<string, string>;
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: name }));
    const stack = out.Stacks?.[0];
    if (!stack) throw new StackNotFoundError(`no stack ${name}`);
    outputs = Object.fromEntries((stack.Outputs ?? []).filter((o) => o.OutputKey && o.OutputValue !== undefined).map((o) => [o.OutputKey as string, o.OutputValue as string]));
  } catch (error) {
    if (error instanceof StackNotFoundError) throw error;
    const e = error as Error;
    if (e.name === 'ValidationError' && /does not exist/.test(e.message)) {
      throw new StackNotFoundError(
        opts.target === 'local' ? `the local runtime serves the stack ${STACK_NAME}, not ${name}` : `no stack ${name} in this account and region (${await cfn.config.region().catch(() => '?')}): deploy it with \`npx cdk deploy\`, or name it with --stack`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    cfn.destroy();
  }
  const { stateMachines, tables } = stackOutputs(outputs);
  const sfn = new SFNClient({});
  // A stack deployed before the state machines were outputs: they are named MassRefund-<Workflow>.
  if (Object.keys(stateMachines).length === 0) Object.assign(stateMachines, await stateMachinesByName(sfn));
  const missing = (Object.keys(TABLE_ENV) as TableKey[]).filter((k) => !tables[k]);
  if (Object.keys(stateMachines).length === 0 || missing.length > 0) {
    throw new StackNotFoundError(`the stack ${name} lacks the outputs the CLI needs (<Workflow>StateMachineArn, <table>TableName${missing.length ? `; missing: ${missing.join(', ')}` : ''}): deploy the current version`);
  }
  // The DynamoDB adapters read their table names from these variables, as the Lambda handlers do.
  for (const [key, table] of Object.entries(tables)) process.env[TABLE_ENV[key as TableKey]] = table;
  return {
    target: opts.target,
    name,
    stateMachines,
    tables,
    outputs,
    sfn,
    ...(local ? { local } : {}),
    warnings: local && runtime.endpointIsStale(local) ? ['the code or PSP settings changed since `mass-refund local up`: run it again to restart the Step Functions endpoint with them'] : [],
    pollMaxMs: isLoopback(process.env.AWS_ENDPOINT_URL_SFN ?? process.env.AWS_ENDPOINT_URL) ? 1_000 : 15_000,
  };
}

async function stateMachinesByName(sfn: SFNClient): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  let nextToken: string | undefined;
  do {
    const out = await sfn.send(new ListStateMachinesCommand({ nextToken }));
    for (const m of out.stateMachines ?? []) {
      const workflow = /^MassRefund-(\w+)$/.exec(m.name ?? '')?.[1];
      if (workflow && m.stateMachineArn) found[workflow] = m.stateMachineArn;
    }
    nextToken = out.nextToken;
  } while (nextToken);
  return found;
}

/** The ARN of a workflow's state machine in the connected stack. */
export function stateMachineOf(stack: StackConnection, workflow: string): string {
  const arn = stack.stateMachines[workflow];
  if (!arn) throw new UsageError(`unknown workflow "${workflow}"${didYouMean(workflow, Object.keys(stack.stateMachines))}`);
  return arn;
}

/** The workflow of a state machine ARN (by the stack's outputs). */
export function workflowOfArn(stack: StackConnection, stateMachineArn: string): string | undefined {
  return Object.entries(stack.stateMachines).find(([, arn]) => arn === stateMachineArn)?.[0];
}
