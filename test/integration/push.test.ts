import { BatchGetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoSyncStore } from '../../lambdas/adapters/dynamo/sync-store.js';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { ThrottledError } from '../../lambdas/core/errors.js';
import { pullChanges } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import { pullDeps, pushDeps, serverState, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { FailKthWriteStore } from '../support/faulty-store.js';
import { mockInFrontOf, sdkError } from '../support/sdk-faults.js';
import { activityRaw, planRaw, pushBody, settingRaw } from '../support/records.js';

const harness = useSyncTable();

/** Record ids are global (one owner each): every user of this file gets its own prefix. */
function mixedPush(lastPulledAt: number | null, p: string) {
  return parsePushBody(
    pushBody(
      {
        activities: { created: [activityRaw(`${p}a1`), activityRaw(`${p}a2`), activityRaw(`${p}a3`)], updated: [activityRaw(`${p}a4`, { title: 'edited' })] },
        plans: { created: [planRaw(`${p}p1`)] },
        settings: { created: [settingRaw('units', 'km'), settingRaw('hr_zones', [120, 140, 160])] },
      },
      lastPulledAt,
    ),
  );
}

/** A user's state with the id prefix removed, to compare two users' states. */
function unprefixed(state: Record<string, Record<string, Record<string, unknown>>>, p: string): unknown {
  return JSON.parse(JSON.stringify(state).split(p).join(''));
}

describe('push (integration)', () => {
  it('creates, updates and soft-deletes; a first sync sees live records only', async () => {
    const { store } = harness();
    const user = uniqueUser('basic');
    await pushChanges(user, mixedPush(null, ''), pushDeps(store));
    const pulled = await pullChanges(user, { lastPulledAt: null, schemaVersion: 1, migration: null }, pullDeps(store));
    await pushChanges(user, parsePushBody(pushBody({ activities: { deleted: ['a1'] } }, pulled.timestamp)), pushDeps(store));
    const state = await serverState(store, user);
    expect(Object.keys(state.activities ?? {}).sort()).toEqual(['a2', 'a3', 'a4']);
    expect(state.activities?.a4?.title).toBe('edited');
    expect(state.settings?.hr_zones?.value).toBe('[120,140,160]');
    const delta = await pullChanges(user, { lastPulledAt: pulled.timestamp, schemaVersion: 1, migration: null }, pullDeps(store));
    expect(delta.changes.activities.deleted).toEqual(['a1']);
  });

  // Push R8: a push that fails after k of n writes, retried, ends exactly as one clean push.
  for (const k of [1, 2, 4, 7]) {
    it(`a push failing at write ${k} of 7 and retried equals one uninterrupted push, with no conflict`, async () => {
      const { store } = harness();
      const clean = uniqueUser('clean');
      const broken = uniqueUser('broken');
      await pushChanges(clean, mixedPush(null, clean), pushDeps(store));

      // Both users start from a pulled state, so last_pulled_at is a real timestamp.
      const t0 = (await pullChanges(broken, { lastPulledAt: null, schemaVersion: 1, migration: null }, pullDeps(store))).timestamp;
      await expect(pushChanges(broken, mixedPush(t0, broken), pushDeps(new FailKthWriteStore(store, k)))).rejects.toThrow(/injected failure/);
      const partial = await serverState(store, broken);
      const written = Object.values(partial).reduce((n, t) => n + Object.keys(t).length, 0);
      expect(written).toBeLessThan(7);

      const retry = await pushChanges(broken, mixedPush(t0, broken), pushDeps(store));
      expect(retry.outcomes.filter((o) => o.conflict)).toEqual([]);
      expect(retry.outcomes.filter((o) => o.action === 'noop')).toHaveLength(written);
      expect(unprefixed(await serverState(store, broken), broken)).toEqual(unprefixed(await serverState(store, clean), clean));
      // And a third attempt writes nothing at all.
      const again = await pushChanges(broken, mixedPush(t0, broken), pushDeps(store));
      expect(again.outcomes.every((o) => o.action === 'noop')).toBe(true);
    });
  }

  it('two racing pushes of one user editing different columns of one record both land', async () => {
    const { store } = harness();
    const user = uniqueUser('race');
    await pushChanges(user, parsePushBody(pushBody({ activities: { created: [activityRaw('r1')] } }, null)), pushDeps(store)); // only user of 'r1'
    const t = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 1, migration: null }, pullDeps(store))).timestamp;
    const edit = (column: string, value: string) =>
      parsePushBody(pushBody({ activities: { updated: [{ ...activityRaw('r1', { [column]: value }), _status: 'updated', _changed: column }] } }, t));
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => pushChanges(user, edit(i % 2 === 0 ? 'title' : 'notes', `v${i}`), pushDeps(store))),
    );
    expect(results).toHaveLength(6);
    const final = (await serverState(store, user)).activities?.r1;
    // Every push won its own column at some point; the last writer per column holds it.
    expect(['v0', 'v2', 'v4']).toContain(final?.title);
    expect(['v1', 'v3', 'v5']).toContain(final?.notes);
    // The clock has no in-flight entries left behind.
    expect((await store.readClock(user, Date.now())).inflight).toEqual([]);
  });

  it("a create or delete naming another user's id → that record rejected with the record named, nothing of it written; the rest applies", async () => {
    const { store } = harness();
    const owner = uniqueUser('owner');
    const other = uniqueUser('other');
    await pushChanges(owner, parsePushBody(pushBody({ activities: { created: [activityRaw('owned1')] } }, null)), pushDeps(store));
    for (const body of [
      pushBody({ activities: { created: [activityRaw('owned1', { title: 'hijack' })] } }, null),
      pushBody({ activities: { updated: [activityRaw('owned1')] } }, null),
      pushBody({ activities: { deleted: ['owned1'] } }, null),
    ]) {
      const result = await pushChanges(other, parsePushBody(body), pushDeps(store));
      expect(result.rejected).toEqual([{ table: 'activities', id: 'owned1', details: [expect.objectContaining({ table: 'activities', record_id: 'owned1' })] }]);
      expect(result.outcomes).toEqual([]);
    }
    expect(await serverState(store, other)).toEqual({});
    expect((await serverState(store, owner)).activities?.owned1?.title).toBe('run owned1');
    // Settings ids are per-user keys: both users may have 'units'.
    await pushChanges(other, parsePushBody(pushBody({ settings: { created: [settingRaw('units', 'mi')] } }, null)), pushDeps(store));
    await pushChanges(owner, parsePushBody(pushBody({ settings: { created: [settingRaw('units', 'km')] } }, null)), pushDeps(store));
    expect((await serverState(store, other)).settings?.units?.value).toBe('"mi"');
  });

  it("a claim lost at write time (another user's id the check did not see) rejects that record alone; the rest of the push is written", async () => {
    const { store } = harness();
    const owner = uniqueUser('claim-owner');
    const late = uniqueUser('claim-late');
    await pushChanges(owner, parsePushBody(pushBody({ activities: { created: [activityRaw(`${owner}-x`)] } }, null)), pushDeps(store));
    // The eventually consistent check misses the claim (as in a close race): claimId's condition decides.
    const blind = Object.create(store) as typeof store;
    blind.findForeignIds = async () => [];
    const result = await pushChanges(late, parsePushBody(pushBody({ activities: { created: [activityRaw(`${owner}-x`), activityRaw(`${late}-y`)] } }, null)), pushDeps(blind));
    expect(result.rejected).toEqual([{ table: 'activities', id: `${owner}-x`, details: [expect.objectContaining({ record_id: `${owner}-x`, message: expect.stringMatching(/another user/) })] }]);
    expect(result.outcomes.map((o) => o.id)).toEqual([`${late}-y`]);
    expect(Object.keys((await serverState(store, late)).activities ?? {})).toEqual([`${late}-y`]);
    expect((await serverState(store, owner)).activities?.[`${owner}-x`]?.title).toBe(`run ${owner}-x`);
    expect((await store.readClock(late, Date.now())).inflight).toEqual([]);
  });

  it('two users racing to create the same id: exactly one owns it', async () => {
    const { store } = harness();
    const [a, b] = [uniqueUser('racer'), uniqueUser('racer')];
    const results = await Promise.allSettled(
      [a, b].map((u) => pushChanges(u, parsePushBody(pushBody({ activities: { created: [activityRaw('contested')] } }, null)), pushDeps(store))),
    );
    // Both pushes succeed; exactly one of them had the record rejected (at the claim check or, in a
    // closer race, at the claim write), and nothing else was refused.
    const rejected = results.map((r) => (r.status === 'fulfilled' ? r.value.rejected.map((x) => x.id) : ['failed']));
    expect(rejected.flat().sort()).toEqual(['contested']);
    const owners = await Promise.all([a, b].map(async (u) => (await serverState(store, u)).activities?.contested !== undefined));
    expect(owners.filter(Boolean)).toHaveLength(1);
  });

  it('pushes racing on distinct records lose none', async () => {
    const { store } = harness();
    const user = uniqueUser('many');
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        pushChanges(user, parsePushBody(pushBody({ activities: { created: [activityRaw(`m${i}a`), activityRaw(`m${i}b`)] } }, null)), pushDeps(store)), // only user of m*
      ),
    );
    expect(Object.keys((await serverState(store, user)).activities ?? {})).toHaveLength(16);
  });

  it('DynamoDB throttling mid-push (SDK fault) surfaces as a retryable ThrottledError; the retry completes the push', async () => {
    const { db, tableName } = harness();
    const user = uniqueUser('throttle');
    const { mock, realSend } = mockInFrontOf(db);
    let puts = 0;
    mock.on(PutCommand).callsFake(async (input) => {
      puts += 1;
      if (puts === 3) throw sdkError('ProvisionedThroughputExceededException', 'Rate exceeded');
      return realSend(new PutCommand(input));
    });
    try {
      const store = new DynamoSyncStore(db, tableName);
      await expect(pushChanges(user, mixedPush(null, 'thr-'), pushDeps(store, { writeConcurrency: 1 }))).rejects.toBeInstanceOf(ThrottledError);
      mock.restore();
      await pushChanges(user, mixedPush(null, 'thr-'), pushDeps(new DynamoSyncStore(db, tableName)));
      expect(Object.keys((await serverState(new DynamoSyncStore(db, tableName), user)).activities ?? {}).sort()).toEqual(['thr-a1', 'thr-a2', 'thr-a3', 'thr-a4']);
    } finally {
      mock.restore();
    }
  });

  it('rejects last_pulled_at later than any issued timestamp, writing nothing', async () => {
    const { store } = harness();
    const user = uniqueUser('future');
    await expect(pushChanges(user, mixedPush(Date.now() + 3_600_000, 'fut-'), pushDeps(store))).rejects.toThrow(/future/);
    expect(await serverState(store, user)).toEqual({});
  });
});

describe('DynamoDB call paths, wire-accurate SDK faults in front of the engine', () => {
  it('BatchGetItem UnprocessedKeys are retried until every record is read', async () => {
    const { db, tableName, store } = harness();
    const user = uniqueUser('unprocessed');
    await pushChanges(user, mixedPush(null, 'u-'), pushDeps(store));
    const { mock, realSend } = mockInFrontOf(db);
    let calls = 0;
    mock.on(BatchGetCommand).callsFake(async (input: { RequestItems: Record<string, { Keys: unknown[] }> }) => {
      calls += 1;
      const res = (await realSend(new BatchGetCommand(input as never))) as { Responses: Record<string, unknown[]>; UnprocessedKeys?: unknown };
      if (calls > 1) return res;
      // First answer: only one item, the rest "unprocessed", as DynamoDB does under load.
      const keys = input.RequestItems[tableName]!.Keys as { sk: string }[];
      const first = (res.Responses[tableName] as { sk: string }[]).filter((i) => i.sk === keys[0]!.sk);
      return { Responses: { [tableName]: first }, UnprocessedKeys: { [tableName]: { Keys: keys.slice(1), ConsistentRead: true } } };
    });
    try {
      const records = await new DynamoSyncStore(db, tableName).getRecords(user, ['a1', 'a2', 'a3', 'a4'].map((id) => ({ table: 'activities' as const, id: `u-${id}` })));
      expect(records.map((r) => r.id).sort()).toEqual(['u-a1', 'u-a2', 'u-a3', 'u-a4']);
      expect(calls).toBeGreaterThan(1);
    } finally {
      mock.restore();
    }
  });

  it('a lost conditional write uses the item DynamoDB returns (ALL_OLD) instead of reading it again', async () => {
    const { db, tableName, store } = harness();
    const user = uniqueUser('allold');
    await pushChanges(user, parsePushBody(pushBody({ activities: { created: [activityRaw(`${user}-r`)] } }, null)), pushDeps(store));
    const t = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 1, migration: null }, pullDeps(store))).timestamp;
    const [stored] = await store.getRecords(user, [{ table: 'activities', id: `${user}-r` }]);
    const { mock, realSend } = mockInFrontOf(db);
    let puts = 0;
    let batchGets = 0;
    mock.on(BatchGetCommand).callsFake((input) => {
      batchGets += 1;
      return realSend(new BatchGetCommand(input));
    });
    mock.on(PutCommand).callsFake(async (input) => {
      // Conflict-log items pass through; only record writes are counted and raced.
      if (!String(input.Item?.sk).startsWith('R#')) return realSend(new PutCommand(input));
      puts += 1;
      if (puts > 1) return realSend(new PutCommand(input));
      // A concurrent writer got there first: DynamoDB fails the condition and returns the item it has.
      const item = { pk: `U#${user}`, sk: `R#activities#${user}-r`, tbl: 'activities', rid: `${user}-r`, data: { ...stored!.data, notes: 'theirs' }, created_at: stored!.created_at, updated_at: stored!.updated_at + 1 };
      await realSend(new PutCommand({ TableName: tableName, Item: item }));
      // As the SDK hands it over: the item in wire form (the document client does not unmarshall exception payloads).
      throw Object.assign(sdkError('ConditionalCheckFailedException'), { Item: marshall(item) });
    });
    try {
      const body = parsePushBody(pushBody({ activities: { updated: [{ ...activityRaw(`${user}-r`, { title: 'mine' }), _status: 'updated', _changed: 'title' }] } }, t));
      await pushChanges(user, body, pushDeps(new DynamoSyncStore(db, tableName)));
      expect(puts).toBe(2);
      expect(batchGets).toBe(1); // the initial read only: the retry re-planned against the returned item
      const [final] = await store.getRecords(user, [{ table: 'activities', id: `${user}-r` }]);
      expect(final?.data).toMatchObject({ title: 'mine', notes: 'theirs' });
    } finally {
      mock.restore();
    }
  });
});
