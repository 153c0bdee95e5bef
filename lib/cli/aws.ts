import { DescribeExecutionCommand, ListStateMachinesCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

export class AwsTargetError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AwsTargetError';
  }
}

export interface AwsExecutionResult {
  executionArn: string;
  status: string;
  output?: unknown;
  error?: string;
  cause?: string;
}

/** The deployed state machine of a workflow, by the name the stack gives it. */
export async function findStateMachineArn(client: SFNClient, workflow: string): Promise<string> {
  const wanted = `MassRefund-${workflow}`;
  let nextToken: string | undefined;
  do {
    const out = await client.send(new ListStateMachinesCommand({ nextToken }));
    const hit = out.stateMachines?.find((m) => m.name === wanted);
    if (hit?.stateMachineArn) return hit.stateMachineArn;
    nextToken = out.nextToken;
  } while (nextToken);
  throw new AwsTargetError(`no state machine named ${wanted} in this account/region: deploy the stack with \`npx cdk deploy\``);
}

/** Starts the deployed workflow and waits for its end, like the console does. */
export async function startOnAws(
  workflow: string,
  input: unknown,
  opts: { name?: string; client?: SFNClient; pollMs?: number; onPoll?: (status: string) => void } = {},
): Promise<AwsExecutionResult> {
  const client = opts.client ?? new SFNClient({});
  const stateMachineArn = await findStateMachineArn(client, workflow);
  const started = await client.send(new StartExecutionCommand({ stateMachineArn, name: opts.name, input: JSON.stringify(input) }));
  const executionArn = started.executionArn;
  if (!executionArn) throw new AwsTargetError('StartExecution returned no executionArn');
  for (;;) {
    const d = await client.send(new DescribeExecutionCommand({ executionArn }));
    opts.onPoll?.(d.status ?? 'UNKNOWN');
    if (d.status && d.status !== 'RUNNING' && d.status !== 'PENDING_REDRIVE') {
      return {
        executionArn,
        status: d.status,
        output: d.output ? (JSON.parse(d.output) as unknown) : undefined,
        error: d.error,
        cause: d.cause,
      };
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 2000));
  }
}
