/**
 * The embedded engines of the local stack: dynalite (DynamoDB) and s3rver (S3), each on port 0
 * of the loopback interface, with the sync table and the uploads bucket created.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { TABLE_KEYS } from '../lambdas/adapters/dynamo/keys.js';

export interface Engine {
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function startDynalite(dataDir?: string): Promise<Engine> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const server = dynalite({ path: dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An S3 notification as s3rver emits it (S3's event shape). */
export interface S3NotificationEvent {
  readonly Records: readonly { readonly eventName: string; readonly s3: { readonly bucket: { readonly name: string }; readonly object: { readonly key: string } } }[];
}

/**
 * `onEvent` receives s3rver's notifications, which it emits while handling the request, before
 * the response: by the time an upload's POST resolves, its event has been delivered.
 */
export async function startS3rver(bucket: string, dataDir?: string, onEvent?: (event: S3NotificationEvent) => void): Promise<Engine> {
  const directory = dataDir ?? mkdtempSync(join(tmpdir(), 'rc-s3-'));
  mkdirSync(directory, { recursive: true });
  const s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  if (onEvent) s3.on('event', (event) => onEvent(event as unknown as S3NotificationEvent));
  const address = (await s3.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close: async () => {
      await s3.close();
      if (!dataDir) rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Creates the sync table as the CDK Data construct defines it, unless it exists. */
export async function ensureSyncTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (e) {
    if ((e as Error).name !== 'ResourceNotFoundException') throw e;
  }
  const k = TABLE_KEYS;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: k.partitionKey, AttributeType: 'S' },
        { AttributeName: k.sortKey, AttributeType: 'S' },
        { AttributeName: k.index.sortKey, AttributeType: 'N' },
        { AttributeName: k.startedAtIndex.sortKey, AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: k.partitionKey, KeyType: 'HASH' },
        { AttributeName: k.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: k.index.name,
          KeySchema: [
            { AttributeName: k.index.partitionKey, KeyType: 'HASH' },
            { AttributeName: k.index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: k.startedAtIndex.name,
          KeySchema: [
            { AttributeName: k.startedAtIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: k.startedAtIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    }),
  );
}
