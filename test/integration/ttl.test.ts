/**
 * Conflict-log entries expire through the table's TTL attribute (`expires_at`, epoch seconds).
 * dynalite has no TTL, so this was never exercised; on Amazon DynamoDB Local the table has TTL
 * enabled on that attribute, and every conflict-log item carries it in seconds (an expiry written in
 * milliseconds would lie ~50,000 years ahead: nothing would ever expire). When AWS deletes
 * expired items is up to AWS (typically within days), so no test waits for it.
 */
import { DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { TABLE_KEYS, userPk } from '../../lambdas/adapters/dynamo/keys.js';
import { uniqueUser, useSyncTable } from '../support/dynamo.js';
import { testEngine } from '../support/engine.js';

const harness = useSyncTable();
const report = (id: string) => ({ id, table: 'activities' as const, record_id: 'r1', rule: 'delete-wins' as const, losing_action: 'update' as const, losing: { notes: 'x' }, winning: {} });

describe.runIf(testEngine() === 'dynamodb-local')('TTL on DynamoDB Local', () => {
  it('the table expires items by expires_at, and conflict-log items (claim and entry) carry it in epoch seconds, CONFLICT_TTL after logging', async () => {
    const { store, db, tableName, endpoint } = harness();
    const raw = new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const ttl = await raw.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
      expect(ttl.TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: TABLE_KEYS.ttlAttribute });
    } finally {
      raw.destroy();
    }
    const user = uniqueUser('ttl');
    const now = Date.now();
    const ttlMs = 90 * 86_400_000;
    await store.putConflicts(user, [report('c1')], { nowMs: now, resolvedBy: 'server', ttlMs });
    const res = await db.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': userPk(user) }, ConsistentRead: true }));
    expect(res.Items).toHaveLength(2);
    for (const item of res.Items ?? []) expect(item[TABLE_KEYS.ttlAttribute]).toBe(Math.ceil((now + ttlMs) / 1000));
  });
});
