import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Agent } from 'node:http';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Sockets per client to a local engine (see below). */
const LOCAL_ENGINE_MAX_SOCKETS = 16;

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
    // A local engine (one JVM or dynalite process on the same machine, shared by every test file)
    // accepts connections far slower than DynamoDB under a burst: bursts queue in the agent
    // instead of opening dozens of sockets at once (queueing is not timed as connecting).
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: 3_000, ...(local ? { httpAgent: new Agent({ keepAlive: true, maxSockets: LOCAL_ENGINE_MAX_SOCKETS }) } : {}) }),
    maxAttempts: 3,
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
