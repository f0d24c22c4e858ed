import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * The document client, created once per cold start. A bounded request timeout matters for
 * correctness, not only latency: a push's writes must land inside its write window (docs).
 */
export function createDocumentClient(
  options: { endpoint?: string; region?: string; credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } } = {},
): DynamoDBDocumentClient {
  const local = options.endpoint !== undefined;
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'local' : undefined),
    // Local engines accept any credentials; in AWS the Lambda role's come from the environment.
    credentials: options.credentials ? { ...options.credentials } : local && !process.env.AWS_ACCESS_KEY_ID ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: 3_000 }),
    maxAttempts: 3,
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
