import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Agent } from 'node:http';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Sockets per client to a local engine, and how long connecting to it may take (see below). */
const LOCAL_ENGINE_MAX_SOCKETS = 16;
const LOCAL_ENGINE_CONNECTION_TIMEOUT_MS = 5_000;

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
    // A local engine (one JVM or dynalite process on the same machine, shared by every test file
    // on a loaded 2-core machine) can take seconds to accept a connection where DynamoDB takes
    // milliseconds: bursts queue in the agent instead of opening dozens of sockets at once
    // (queueing is not timed as connecting), and connecting may take longer. Nothing is sent
    // before the connection is up, so this does not move when a write lands once sent.
    requestHandler: new NodeHttpHandler(
      local
        ? { connectionTimeout: LOCAL_ENGINE_CONNECTION_TIMEOUT_MS, requestTimeout: 3_000, httpAgent: new Agent({ keepAlive: true, maxSockets: LOCAL_ENGINE_MAX_SOCKETS }) }
        : { connectionTimeout: 1_000, requestTimeout: 3_000 },
    ),
    maxAttempts: 3,
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
