import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

let cached: { key: string; doc: DynamoDBDocumentClient } | undefined;

/**
 * One document client per container. The endpoint comes from the SDK's own configuration
 * (AWS_ENDPOINT_URL_DYNAMODB points it at DynamoDB Local), so no code differs between targets.
 */
export function documentClient(): DynamoDBDocumentClient {
  const key = `${process.env.AWS_ENDPOINT_URL_DYNAMODB ?? ''}|${process.env.AWS_REGION ?? ''}`;
  if (!cached || cached.key !== key) {
    const client = new DynamoDBClient({ maxAttempts: 6 });
    cached = { key, doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }) };
  }
  return cached.doc;
}
