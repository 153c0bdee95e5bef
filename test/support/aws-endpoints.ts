import { inject } from 'vitest';
import { applyEnvironment } from '../../lib/local/env.ts';
import { StepFunctionsEndpoint, startStepFunctionsEndpoint, type RunningEndpoint } from '../../lib/local/stepfunctions/server.ts';
import { LocalStack } from '../../lib/local/stepfunctions/stack.ts';
import { tableNamesByLogicalId } from '../../lib/local/tables.ts';
import type { CfnTemplate } from '../../lib/local/template.ts';
import type { TestRuntime } from './local-runtime.ts';

export interface AwsEndpoints extends RunningEndpoint {
  /** The standard variables that point any AWS SDK client (and the AWS CLI) at the local endpoints. */
  env: Record<string, string>;
}

/**
 * The local Step Functions endpoint (which also answers CloudFormation's DescribeStacks) over the
 * test runtime's runner and tables, and the shared DynamoDB Local: the AWS target of the CLI and
 * the SDK clients of a test run against these unchanged.
 */
export async function startAwsEndpoints(rt: TestRuntime): Promise<AwsEndpoints> {
  const template = rt.template as unknown as CfnTemplate;
  const stack = new LocalStack({ template, tableNames: tableNamesByLogicalId(template, rt.prefix) });
  const running = await startStepFunctionsEndpoint(new StepFunctionsEndpoint(stack, rt.runner));
  const env = {
    AWS_REGION: stack.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SFN: running.url,
    AWS_ENDPOINT_URL_CLOUDFORMATION: running.url,
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamodbUrl'),
  };
  applyEnvironment(env);
  return { ...running, env };
}
