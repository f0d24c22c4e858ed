import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoSyncStore } from '../../lambdas/adapters/dynamo/sync-store.js';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { ThrottledError } from '../../lambdas/core/errors.js';
import { pullChanges } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import { pullDeps, pushDeps, serverState, uniqueUser, useDynalite } from '../support/dynamo.js';
import { FailKthWriteStore } from '../support/faulty-store.js';
import { mockInFrontOf, sdkError } from '../support/sdk-faults.js';
import { activityRaw, planRaw, pushBody, settingRaw } from '../support/records.js';

const harness = useDynalite();

function mixedPush(lastPulledAt: number | null) {
  return parsePushBody(
    pushBody(
      {
        activities: { created: [activityRaw('a1'), activityRaw('a2'), activityRaw('a3')], updated: [activityRaw('a4', { title: 'edited' })] },
        plans: { created: [planRaw('p1')] },
        settings: { created: [settingRaw('units', 'km'), settingRaw('hr_zones', [120, 140, 160])] },
      },
      lastPulledAt,
    ),
  );
}

describe('push (integration, dynalite)', () => {
  it('creates, updates and soft-deletes; a first sync sees live records only', async () => {
    const { store } = harness();
    const user = uniqueUser('basic');
    await pushChanges(user, mixedPush(null), pushDeps(store));
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
      await pushChanges(clean, mixedPush(null), pushDeps(store));

      // Both users start from a pulled state, so last_pulled_at is a real timestamp.
      const t0 = (await pullChanges(broken, { lastPulledAt: null, schemaVersion: 1, migration: null }, pullDeps(store))).timestamp;
      await expect(pushChanges(broken, mixedPush(t0), pushDeps(new FailKthWriteStore(store, k)))).rejects.toThrow(/injected failure/);
      const partial = await serverState(store, broken);
      const written = Object.values(partial).reduce((n, t) => n + Object.keys(t).length, 0);
      expect(written).toBeLessThan(7);

      const retry = await pushChanges(broken, mixedPush(t0), pushDeps(store));
      expect(retry.outcomes.filter((o) => o.conflict)).toEqual([]);
      expect(retry.outcomes.filter((o) => o.action === 'noop')).toHaveLength(written);
      expect(await serverState(store, broken)).toEqual(await serverState(store, clean));
      // And a third attempt writes nothing at all.
      const again = await pushChanges(broken, mixedPush(t0), pushDeps(store));
      expect(again.outcomes.every((o) => o.action === 'noop')).toBe(true);
    });
  }

  it('two racing pushes of one user editing different columns of one record both land', async () => {
    const { store } = harness();
    const user = uniqueUser('race');
    await pushChanges(user, parsePushBody(pushBody({ activities: { created: [activityRaw('r1')] } }, null)), pushDeps(store));
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

  it('pushes racing on distinct records lose none', async () => {
    const { store } = harness();
    const user = uniqueUser('many');
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        pushChanges(user, parsePushBody(pushBody({ activities: { created: [activityRaw(`m${i}a`), activityRaw(`m${i}b`)] } }, null)), pushDeps(store)),
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
      await expect(pushChanges(user, mixedPush(null), pushDeps(store, { writeConcurrency: 1 }))).rejects.toBeInstanceOf(ThrottledError);
      mock.restore();
      await pushChanges(user, mixedPush(null), pushDeps(new DynamoSyncStore(db, tableName)));
      expect(Object.keys((await serverState(new DynamoSyncStore(db, tableName), user)).activities ?? {}).sort()).toEqual(['a1', 'a2', 'a3', 'a4']);
    } finally {
      mock.restore();
    }
  });

  it('rejects last_pulled_at later than any issued timestamp, writing nothing', async () => {
    const { store } = harness();
    const user = uniqueUser('future');
    await expect(pushChanges(user, mixedPush(Date.now() + 3_600_000), pushDeps(store))).rejects.toThrow(/future/);
    expect(await serverState(store, user)).toEqual({});
  });
});
