import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, type StartedService } from '../../lib/local/services.ts';
import { synthesizeTemplate } from '../../lib/local/synth.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbUrl: string;
    templatePath: string;
  }
}

/**
 * One DynamoDB Local for the whole test run (the JVM takes seconds to start) and one synthesis
 * of the stack; each test file then creates its own tables under its own prefix.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let dynamodb: StartedService | undefined;
  if (process.env.MASS_REFUND_TEST_DYNAMODB_URL) {
    project.provide('dynamodbUrl', process.env.MASS_REFUND_TEST_DYNAMODB_URL);
  } else {
    dynamodb = await startDynamoDbLocal({ detached: false });
    project.provide('dynamodbUrl', dynamodb.url);
  }
  const { path } = await synthesizeTemplate();
  project.provide('templatePath', path);
  return async () => {
    dynamodb?.child.kill('SIGTERM');
  };
}
