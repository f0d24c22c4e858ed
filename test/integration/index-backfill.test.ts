/**
 * The backfill of the sparse index attributes (lambdas/adapters/dynamo/index-backfill.ts,
 * `npm run backfill:indexes`) on DynamoDB Local: items in the layout written before the
 * `live_by_updated_at` and `by_started_at` indexes (no `live_at`, `started_at`, `expires_at`) are
 * missing from first syncs and FIT matching; after the backfill a first sync returns every live
 * record and every item is exactly what today's write path would have written. A second run
 * changes nothing; a push racing the backfill is never overwritten.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { backfillIndexAttributes } from '../../lambdas/adapters/dynamo/index-backfill.js';
import { DynamoRecordingIndex } from '../../lambdas/adapters/dynamo/recordings-store.js';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { pullChanges } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import { SCHEMA_VERSION } from '../../lambdas/core/schema.js';
import { parseBackfillArgs, resumeToken } from '../../scripts/backfill-index-attributes.js';
import { pullDeps, pushDeps, serverState, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { activityRaw, planRaw, pushBody, settingRaw } from '../support/records.js';

const harness = useSyncTable();
const RETENTION_MS = 30 * 86_400_000;
const OLD_LAYOUT_REMOVES = ['live_at', 'started_at', 'expires_at'] as const;
const START = 1_700_000_000_000;

/** A user with 12 live activities (distinct start times), 3 deleted ones, a plan and a setting. */
async function seed(label: string) {
  const { store } = harness();
  const user = uniqueUser(label);
  const deps = pushDeps(store, { tombstoneRetentionMs: RETENTION_MS });
  const ids = Array.from({ length: 15 }, (_, i) => `${user}-a${i}`);
  await pushChanges(user, parsePushBody(pushBody({ activities: { created: ids.map((id, i) => activityRaw(id, { started_at: START + i * 3_600_000 })) }, plans: { created: [planRaw(`${user}-p`)] }, settings: { created: [settingRaw('units', 'km')] } }, null)), deps);
  const t = (await pullChanges(user, { lastPulledAt: null, schemaVersion: SCHEMA_VERSION, migration: null }, pullDeps(store))).timestamp;
  await pushChanges(user, parsePushBody(pushBody({ activities: { deleted: ids.slice(12) } }, t)), deps);
  return { user, ids, deps };
}

async function scanRecords(db: DynamoDBDocumentClient, tableName: string) {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await db.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }));
    items.push(...((res.Items ?? []) as Record<string, unknown>[]).filter((i) => String(i.sk).startsWith('R#')));
    start = res.LastEvaluatedKey;
  } while (start);
  return items.sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
}

/** Puts items back in the layout of the code before the indexes: the three attributes removed. */
async function toOldLayout(db: DynamoDBDocumentClient, tableName: string, items: readonly Record<string, unknown>[]) {
  for (const item of items) {
    await db.send(new UpdateCommand({ TableName: tableName, Key: { pk: item.pk, sk: item.sk }, UpdateExpression: `REMOVE ${OLD_LAYOUT_REMOVES.join(', ')}` }));
  }
}

/**
 * Pulls after INDEX_LAG_MS, when they read the indexes only (right after a write, the write's
 * journal would find its records in the base table whatever the index holds).
 */
const afterLag = () => Date.now() + 60_000;

const liveCount = (state: Record<string, Record<string, unknown>>) => Object.values(state).reduce((n, t) => n + Object.keys(t).length, 0);

describe('index attribute backfill', () => {
  it('old-layout items are missing from first syncs and FIT matching; after the backfill every live record is back, each item exactly as the write path writes it; a second run changes nothing', async () => {
    const { db, tableName, store } = harness();
    const a = await seed('bf-a');
    const b = await seed('bf-b');
    const wanted = await scanRecords(db, tableName);
    const before = { a: await serverState(store, a.user, afterLag), b: await serverState(store, b.user, afterLag) };
    expect(liveCount(before.a)).toBe(14);
    await toOldLayout(db, tableName, wanted);

    // The upgrade's symptom: the live index holds none of them.
    expect(liveCount(await serverState(store, a.user, afterLag))).toBe(0);
    const recordings = new DynamoRecordingIndex(db, tableName);
    expect(await recordings.activitiesStartedBetween(a.user, START, START + 100 * 3_600_000, 100)).toEqual([]);

    const dry = await backfillIndexAttributes(db, { tableName, dryRun: true, tombstoneRetentionMs: RETENTION_MS });
    // 2 users × (12 live activities: live_at + started_at; 3 tombstones: expires_at; plan, setting: live_at).
    expect(dry).toMatchObject({ records: 34, missing: 34, updated: 34, changedConcurrently: 0, set: { live_at: 28, started_at: 24, expires_at: 6 }, tombstonesWithoutExpiry: 0 });
    expect(liveCount(await serverState(store, a.user, afterLag))).toBe(0);

    // Three parallel segments, as three workers would run.
    const runs = await Promise.all([0, 1, 2].map((segment) => backfillIndexAttributes(db, { tableName, segment, totalSegments: 3, tombstoneRetentionMs: RETENTION_MS, pageSize: 7 })));
    expect(runs.reduce((n, r) => n + r.updated, 0)).toBe(34);
    expect(runs.reduce((n, r) => n + r.set.live_at, 0)).toBe(28);
    expect(await scanRecords(db, tableName)).toEqual(wanted);
    expect(await serverState(store, a.user, afterLag)).toEqual(before.a);
    expect(await serverState(store, b.user, afterLag)).toEqual(before.b);
    expect(await recordings.activitiesStartedBetween(a.user, START, START + 100 * 3_600_000, 100)).toEqual(a.ids.slice(0, 12));

    const again = await backfillIndexAttributes(db, { tableName, tombstoneRetentionMs: RETENTION_MS });
    expect(again).toMatchObject({ records: 34, missing: 0, updated: 0, changedConcurrently: 0 });
    expect(await scanRecords(db, tableName)).toEqual(wanted);
  });

  it('without a retention, tombstones are left without expiry and counted; live records are still backfilled', async () => {
    const { db, tableName, store } = harness();
    const c = await seed('bf-c');
    const items = (await scanRecords(db, tableName)).filter((i) => i.pk === `U#${c.user}`);
    await toOldLayout(db, tableName, items);
    const counts = await backfillIndexAttributes(db, { tableName });
    expect(counts.tombstonesWithoutExpiry).toBe(3);
    expect(counts.set.expires_at).toBe(0);
    expect(liveCount(await serverState(store, c.user, afterLag))).toBe(14);
    const tombs = (await scanRecords(db, tableName)).filter((i) => i.pk === `U#${c.user}` && i.deleted_at !== undefined);
    expect(tombs.map((t) => t.expires_at)).toEqual([undefined, undefined, undefined]);
  });

  it('a push racing the backfill wins: its write is kept, the backfill counts the lost condition; an old-code write in between is found by the next run', async () => {
    const { db, tableName, store } = harness();
    const d = await seed('bf-d');
    const mine = (await scanRecords(db, tableName)).filter((i) => i.pk === `U#${d.user}`);
    await toOldLayout(db, tableName, mine);
    const racedId = d.ids[0] as string;
    const oldCodeId = d.ids[1] as string;
    const t = (await pullChanges(d.user, { lastPulledAt: null, schemaVersion: SCHEMA_VERSION, migration: null }, pullDeps(store))).timestamp;

    // The backfill's update of each raced item runs only after a write landed between its scan and its update.
    const raced = new Set([racedId, oldCodeId]);
    const racing: DynamoDBDocumentClient = Object.create(db) as DynamoDBDocumentClient;
    racing.send = (async (command: unknown) => {
      if (command instanceof UpdateCommand) {
        const sk = String(command.input.Key?.sk);
        const id = [...raced].find((r) => sk === `R#activities#${r}`);
        if (id) {
          raced.delete(id);
          await pushChanges(d.user, parsePushBody(pushBody({ activities: { updated: [{ ...activityRaw(id, { started_at: START + 500 * 3_600_000 }), title: `edited ${id}` }] } }, t)), d.deps);
          // The old code (before the indexes) writes the item without the attributes.
          if (id === oldCodeId) await toOldLayout(db, tableName, [{ pk: `U#${d.user}`, sk }]);
        }
      }
      return db.send(command as never);
    }) as typeof db.send;

    const counts = await backfillIndexAttributes(racing, { tableName, tombstoneRetentionMs: RETENTION_MS });
    expect(raced.size).toBe(0);
    expect(counts.changedConcurrently).toBe(2);
    expect(counts.updated).toBe(counts.missing - 2);

    const item = async (id: string) => (await scanRecords(db, tableName)).find((i) => i.sk === `R#activities#${id}`) as Record<string, unknown>;
    const won = await item(racedId);
    expect((won.data as Record<string, unknown>).title).toBe(`edited ${racedId}`);
    expect(won.live_at).toBe(won.updated_at);
    expect(won.started_at).toBe(START + 500 * 3_600_000);

    const oldWrite = await item(oldCodeId);
    expect((oldWrite.data as Record<string, unknown>).title).toBe(`edited ${oldCodeId}`);
    expect(oldWrite.live_at).toBeUndefined();
    const next = await backfillIndexAttributes(db, { tableName, tombstoneRetentionMs: RETENTION_MS });
    expect(next).toMatchObject({ missing: 1, updated: 1, changedConcurrently: 0, set: { live_at: 1, started_at: 1, expires_at: 0 } });
    const fixed = await item(oldCodeId);
    expect(fixed).toMatchObject({ live_at: fixed.updated_at, started_at: START + 500 * 3_600_000 });
    const state = await serverState(store, d.user, afterLag);
    expect(liveCount(state)).toBe(14);
    expect(state.activities?.[oldCodeId]?.title).toBe(`edited ${oldCodeId}`);
  });

  it('npm run backfill:indexes: the script on the table, dry run then real, prints its counts; bad arguments are refused', async () => {
    const { db, tableName, endpoint, store } = harness();
    const e = await seed('bf-cli');
    await toOldLayout(db, tableName, (await scanRecords(db, tableName)).filter((i) => i.pk === `U#${e.user}`));
    const run = async (...args: string[]) => {
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/backfill-index-attributes.ts', '--table', tableName, '--endpoint', endpoint, ...args], { env: { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' } });
      return JSON.parse(stdout) as Record<string, unknown>;
    };
    expect(await run('--dry-run', '--tombstone-retention-days', '30')).toMatchObject({ table: tableName, dry_run: true, missing: 17, updated: 17 });
    expect(liveCount(await serverState(store, e.user, afterLag))).toBe(0);
    expect(await run('--tombstone-retention-days', '30')).toMatchObject({ dry_run: false, missing: 17, updated: 17, set: { live_at: 14, started_at: 12, expires_at: 3 } });
    expect(liveCount(await serverState(store, e.user, afterLag))).toBe(14);

    expect(() => parseBackfillArgs([])).toThrow('--table is required');
    expect(() => parseBackfillArgs(['--table', 't', '--segment', '1'])).toThrow('go together');
    expect(() => parseBackfillArgs(['--table', 't', '--segment', '3', '--total-segments', '3'])).toThrow('below');
    expect(() => parseBackfillArgs(['--table', 't', '--tombstone-retention-days', '0'])).toThrow('≥ 1');
    expect(() => parseBackfillArgs(['--table', 't', '--start-after', 'not json'])).toThrow('token');
    expect(() => parseBackfillArgs(['--table', 't', '--bogus'])).toThrow();
    const token = resumeToken({ pk: 'U#x', sk: 'R#activities#y' });
    expect(parseBackfillArgs(['--table', 't', '--start-after', token, '--tombstone-retention-days', '2']).options).toMatchObject({ startAfter: { pk: 'U#x', sk: 'R#activities#y' }, tombstoneRetentionMs: 2 * 86_400_000 });
  });
});
