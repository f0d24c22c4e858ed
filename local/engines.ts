/**
 * The embedded engines of the local stack: dynalite (DynamoDB) and s3rver (S3), each on port 0
 * of the loopback interface, with the sync table and the uploads bucket created.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, UpdateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
  const k = TABLE_KEYS;
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (!(Table?.GlobalSecondaryIndexes ?? []).some((i) => i.IndexName === k.startedAtIndex.name)) await addStartedAtIndex(client, tableName);
    return;
  } catch (e) {
    if ((e as Error).name !== 'ResourceNotFoundException') throw e;
  }
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

/**
 * A table made before the `by_started_at` index (FIT recording matching) existed gets it, where
 * the engine can add an index to a table (DynamoDB Local, LocalStack, AWS); dynalite cannot, so a
 * data directory from before it must be recreated, and this says so instead of failing later.
 */
async function addStartedAtIndex(client: DynamoDBClient, tableName: string): Promise<void> {
  const k = TABLE_KEYS.startedAtIndex;
  try {
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: k.partitionKey, AttributeType: 'S' },
          { AttributeName: k.sortKey, AttributeType: 'N' },
        ],
        GlobalSecondaryIndexUpdates: [
          { Create: { IndexName: k.name, KeySchema: [{ AttributeName: k.partitionKey, KeyType: 'HASH' }, { AttributeName: k.sortKey, KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } } },
        ],
      }),
    );
  } catch (e) {
    throw cannotAdd((e as Error).message, e);
  }
  // An engine building the index reports it CREATING, then ACTIVE (DynamoDB Local: at once);
  // dynalite accepts the request and ignores it.
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const index = Table?.GlobalSecondaryIndexes?.find((i) => i.IndexName === k.name);
    if (!index) throw cannotAdd('the engine ignored the request');
    if (index.IndexStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw cannotAdd(`still ${index.IndexStatus} after 120 s`);
    await new Promise((r) => setTimeout(r, 200));
  }

  function cannotAdd(why: string, cause?: unknown): Error {
    return new Error(`table ${tableName} predates the ${k.name} index and it could not be added (${why}); delete the data directory (DATA_DIR, default .local-data/) to recreate the table`, { cause });
  }
}
