/**
 * The local stack on a data directory from before the `by_started_at` index (FIT recording
 * matching): dynalite cannot add an index to a table, so starting says what to do instead of the
 * FIT processor failing later on a missing index. A table created now has it, idempotently.
 */
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { expect, it } from 'vitest';
import { TABLE_KEYS } from '../../lambdas/adapters/dynamo/keys.js';
import { ensureSyncTable, startDynalite } from '../../local/engines.js';

it('a table without the by_started_at index → a clear error naming the data directory; a new table gets the index (twice: no-op)', async () => {
  const engine = await startDynalite();
  const client = new DynamoDBClient({ endpoint: engine.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: 'before-index',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    await expect(ensureSyncTable(client, 'before-index')).rejects.toThrow(/predates the by_started_at index.*delete the data directory \(DATA_DIR/);

    await ensureSyncTable(client, 'fresh');
    await ensureSyncTable(client, 'fresh');
    const { Table } = await client.send(new DescribeTableCommand({ TableName: 'fresh' }));
    expect(Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.Projection?.ProjectionType]).sort()).toEqual(
      [
        [TABLE_KEYS.index.name, 'ALL'],
        [TABLE_KEYS.liveIndex.name, 'ALL'],
        [TABLE_KEYS.startedAtIndex.name, 'KEYS_ONLY'],
      ].sort(),
    );
  } finally {
    client.destroy();
    await engine.close();
  }
});
