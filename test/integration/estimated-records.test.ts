/**
 * The estimate of a first sync's size (`estimated_records`, first page only): a per-user count
 * every write keeps in the clock item (creates and resurrections minus deletes), read by the pull
 * with the clock it reads anyway. No extra request on either path.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { CLOCK_SK, userPk } from '../../lambdas/adapters/dynamo/keys.js';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { pullChanges } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import { applyServerWrite } from '../../lambdas/core/server-write.js';
import { pullDeps, pushDeps, TEST_PUSH_CONFIG, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { activityRaw, planRaw, pushBody } from '../support/records.js';

const harness = useSyncTable();
const firstSync = (user: string, cursor?: string, pageBytes = 3_000_000) =>
  pullChanges(user, { lastPulledAt: null, schemaVersion: 1, migration: null, cursor }, pullDeps(harness().store, { pageBytes }));

describe('estimated_records', () => {
  it('counts creates, deletes, resurrections and server writes; only the first page of a first sync carries it', async () => {
    const { store } = harness();
    const user = uniqueUser('estimate');
    expect((await firstSync(user)).estimated_records).toBe(0);
    const created = await pushChanges(user, parsePushBody(pushBody({ activities: { created: ['a1', 'a2', 'a3', 'a4', 'a5'].map((id) => activityRaw(id)) } }, null)), pushDeps(store));
    expect((await firstSync(user)).estimated_records).toBe(5);
    await pushChanges(user, parsePushBody(pushBody({ activities: { deleted: ['a1', 'a2', 'never-existed'] } }, created.timestamp)), pushDeps(store));
    expect((await firstSync(user)).estimated_records).toBe(3);
    // A retried push changes nothing (no-ops are not counted twice).
    await pushChanges(user, parsePushBody(pushBody({ activities: { deleted: ['a1', 'a2'] } }, created.timestamp)), pushDeps(store));
    await applyServerWrite(user, { source: 'plan-engine', table: 'plans', id: `${user}-p`, values: planRaw(`${user}-p`) }, { store, now: Date.now, config: TEST_PUSH_CONFIG });
    const first = await firstSync(user, undefined, 1_500);
    expect(first.estimated_records).toBe(4);
    const live = Object.values(first.changes).reduce((n, t) => n + t.updated.length, 0);
    expect(first.cursor).toBeDefined();
    // Later pages and delta pulls carry none.
    const second = await firstSync(user, first.cursor, 1_500);
    expect(second.estimated_records).toBeUndefined();
    const delta = await pullChanges(user, { lastPulledAt: first.timestamp, schemaVersion: 1, migration: null }, pullDeps(store));
    expect(delta.estimated_records).toBeUndefined();
    expect(live).toBeGreaterThan(0);
  });

  it('a clock from before the count reports none, and pushes still release their leases', async () => {
    const { store, db, tableName } = harness();
    const user = uniqueUser('legacy');
    // As clocks were written before the count existed (and before leases): no `live`, an `inflight` set.
    await db.send(new PutCommand({ TableName: tableName, Item: { pk: userPk(user), sk: CLOCK_SK, clock: Date.now() - 60_000, settling: {} } }));
    await pushChanges(user, parsePushBody(pushBody({ activities: { created: [activityRaw('l1')] } }, null)), pushDeps(store));
    const clock = await store.readClock(user, Date.now());
    expect(clock.inflight).toEqual([]);
    expect(clock.liveRecords).toBeUndefined();
    const pulled = await firstSync(user);
    expect(pulled.estimated_records).toBeUndefined();
    expect(pulled.changes.activities.updated.map((r) => r.id)).toEqual(['l1']);
  });
});
