/**
 * What must hold on every engine the project runs on (dynalite: the `npm start` default;
 * Amazon DynamoDB Local: AWS's semantics), at the core with the real store:
 * - no record vanishes from pulls, however many share a push (dynalite's index once dropped one of
 *   two items with equal sort values whose key hashes collided: ~1 in 9 for a 2,000-record push);
 * - the per-user clock under contention: dozens of concurrent pushes and server-side writes of one
 *   user all land, each with stamps of its own, and nothing is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockInFrontOf } from '../support/sdk-faults.js';
import { DynamoSyncStore } from '../../lambdas/adapters/dynamo/sync-store.js';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { pullChanges } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import { applyServerWrite } from '../../lambdas/core/server-write.js';
import { createDocumentClient } from '../../lambdas/adapters/dynamo/client.js';
import { pullDeps, pushDeps, serverState, TEST_PUSH_CONFIG, uniqueUser } from '../support/dynamo.js';
import { availableEngines, createTableOn, type TestTable } from '../support/engine.js';
import { activityRaw, planRaw, pushBody } from '../support/records.js';

/** A store whose UpdateItem calls are counted on their way to the engine. */
function countingStore(table: TestTable) {
  const db = createDocumentClient({ endpoint: table.endpoint });
  const { mock, realSend } = mockInFrontOf(db);
  let updates = 0;
  mock.on(UpdateCommand).callsFake((input) => {
    updates += 1;
    return realSend(new UpdateCommand(input));
  });
  return { store: new DynamoSyncStore(db, table.tableName), updates: () => updates };
}

describe.each(availableEngines())('on %s', (engine) => {
  // Virtual time: write windows never close on a slow machine (contention is counted in tries).
  const FROZEN = Date.now();
  const now = () => FROZEN;
  let table: TestTable;
  let store: DynamoSyncStore;
  let close: () => void;
  beforeAll(async () => {
    table = await createTableOn(engine);
    const db = createDocumentClient({ endpoint: table.endpoint });
    store = new DynamoSyncStore(db, table.tableName);
    close = () => db.destroy();
  });
  afterAll(async () => {
    close();
    await table.close();
  });

  it('a 2,000-record push comes back whole from paged pulls: every record, once, each with a stamp of its own', async () => {
    const user = uniqueUser('bulk');
    const ids = Array.from({ length: 2_000 }, (_, i) => `bulk-${i}`);
    const pushed = await pushChanges(user, parsePushBody(pushBody({ activities: { created: ids.map((id) => activityRaw(id)) } }, null)), pushDeps(store, { writeConcurrency: 32 }, now));
    expect(pushed.outcomes.filter((o) => o.action === 'create')).toHaveLength(2_000);
    const seen = new Map<string, number>();
    let cursor: string | undefined;
    do {
      const page = await pullChanges(user, { lastPulledAt: null, schemaVersion: 1, migration: null, cursor }, pullDeps(store, { pageBytes: 200_000, queryLimit: 250 }, now));
      for (const raw of page.changes.activities.updated) {
        expect(seen.has(raw.id as string), `${raw.id as string} twice`).toBe(false);
        seen.set(raw.id as string, raw.updated_at as number);
      }
      cursor = page.cursor;
    } while (cursor);
    expect([...seen.keys()].sort()).toEqual([...ids].sort());
    expect(new Set(seen.values()).size).toBe(2_000);
    // ~10 s on a quiet machine; generous so that a loaded one is slower, not failing.
  }, 240_000);

  it('48 concurrent pushes (disjoint records) and 16 server-side writes of one user: all land, stamps never shared', async () => {
    const user = uniqueUser('crowd');
    const pushes = Array.from({ length: 48 }, (_, i) =>
      pushChanges(user, parsePushBody(pushBody({ activities: { created: [activityRaw(`p${i}-a`), activityRaw(`p${i}-b`)] } }, null)), pushDeps(store, {}, now)),
    );
    const serverWrites = Array.from({ length: 16 }, (_, i) =>
      applyServerWrite(user, { source: 'plan-engine', table: 'plans', id: `plan-${i}`, values: planRaw(`plan-${i}`) }, { store, now, config: TEST_PUSH_CONFIG }),
    );
    const results = await Promise.allSettled([...pushes, ...serverWrites]);
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    const state = await serverState(store, user);
    expect(Object.keys(state.activities ?? {})).toHaveLength(96);
    expect(Object.keys(state.plans ?? {})).toHaveLength(16);
    const stamps = [...Object.values(state.activities ?? {}), ...Object.values(state.plans ?? {})].length;
    expect(stamps).toBe(112);
    const pulled = await pullChanges(user, { lastPulledAt: null, schemaVersion: 1, migration: null }, pullDeps(store));
    const versions = Object.values(pulled.changes).flatMap((t) => t.updated.map((r) => r.updated_at));
    expect(new Set(versions).size).toBe(versions.length);
  });

  it('24 concurrent pushes of one record from one base and 8 plan-engine writes: all land, the engine stands, every device edit is logged', async () => {
    const user = uniqueUser('one');
    const base = await pushChanges(user, parsePushBody(pushBody({ plans: { created: [planRaw('shared')] } }, null)), pushDeps(store, {}, now));
    const edits = Array.from({ length: 24 }, (_, i) =>
      pushChanges(user, parsePushBody(pushBody({ plans: { updated: [{ ...planRaw('shared', { goal: `device-${i}` }), _status: 'updated', _changed: 'goal' }] } }, base.timestamp)), pushDeps(store, {}, now)),
    );
    const engineWrites = Array.from({ length: 8 }, (_, i) =>
      applyServerWrite(user, { source: 'plan-engine', table: 'plans', id: 'shared', values: { goal: `engine-${i}` } }, { store, now, config: TEST_PUSH_CONFIG }),
    );
    const results = await Promise.allSettled([...edits, ...engineWrites]);
    expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    const goal = (await serverState(store, user)).plans?.shared?.goal as string;
    const { entries } = await store.listConflicts(user, { since: 0, limit: 1000 });
    const logged = new Set(entries.flatMap((e) => [e.losing.goal]).filter((g): g is string => typeof g === 'string'));
    // The device edits raced from one base: at most the first received applied (nothing had changed
    // yet); every other one met a changed record and lost to plan-server-wins, in the log. An engine
    // write replacing an applied value is an ordinary later write (no conflict).
    const applied = Array.from({ length: 24 }, (_, i) => `device-${i}`).filter((v) => !logged.has(v));
    expect(applied.length).toBeLessThanOrEqual(1);
    expect([...applied, ...Array.from({ length: 8 }, (_, i) => `engine-${i}`)]).toContain(goal);
  });

  it('64 concurrent stamp allocations of one user: disjoint ranges, none retried, every lease in flight until released', async () => {
    const user = uniqueUser('alloc');
    await store.readClock(user, Date.now());
    const counting = countingStore(table);
    const now = Date.now();
    // Everyone at the same millisecond, from the same stale view: the worst case for a compare-and-set.
    const seen = await store.readClock(user, now);
    const leases = await Promise.all(Array.from({ length: 64 }, (_, i) => counting.store.beginWrite(user, now, TEST_PUSH_CONFIG, seen, 1 + (i % 3))));
    const ranges = leases.map((l, i) => [l.stamp, l.stamp + (i % 3)] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThan(ranges[i - 1]![1]);
    expect(ranges[0]![0]).toBeGreaterThanOrEqual(now);
    // At most two updates each (the jump to now, then the counter), never a loop.
    expect(counting.updates()).toBeLessThanOrEqual(128);
    const clock = await store.readClock(user, now);
    expect(clock.clock).toBe(ranges.at(-1)![1]);
    expect(clock.inflight).toHaveLength(64);
    // Each lease holds pulls back below its own range.
    for (const l of leases) expect(Math.min(...clock.inflight)).toBeLessThanOrEqual(l.stamp);
    await store.endWrite(user, leases, Date.now());
    const after = await store.readClock(user, Date.now());
    expect(after.inflight).toEqual([]);
    expect(after.settling).toHaveLength(64);
  });
});
