/**
 * One run, one activity, end to end with real WatermelonDB devices: FIT files are presigned
 * through the API without `activity_id` and POSTed to s3rver, the local stack runs the FIT
 * processor on s3rver's object-created events, and every outcome (a merge into a manual run, a
 * duplicate, a re-export, two runs of one day, another user's run) reaches the devices through
 * sync. Also: a device still on schema v1 keeps syncing (it is never sent `duplicate_of`), and
 * the client's migrations ask for exactly the migration sync the server answers.
 *
 * Expected values come from `decodeFitActivity` on the uploaded bytes.
 */
import { appSchema, tableSchema } from '@nozbe/watermelondb';
import getSyncChangesModule from '@nozbe/watermelondb/Schema/migrations/getSyncChanges/index.js';
import { describe, expect, it } from 'vitest';
import { syncMigrations, syncSchema } from '../../client/index.js';
import { columnsAtVersion, SCHEMA_VERSION, TABLES } from '../../lambdas/core/schema.js';
import { activityIdForUpload } from '../../lambdas/processing/ingest-upload.js';
import { decoded, FIT_TYPE, fixture, RUN, RUN_REEXPORTED, sha256 } from '../fit/support/fixtures.js';
import { syntheticRun } from '../fit/support/synthetic.js';
import { uniqueUser } from '../support/dynamo.js';
import { postUpload } from '../support/s3.js';
import { apiAs, useLocalStack } from '../support/stack.js';
import { expectConvergedWithServer } from './support/converged.js';
import { failOnSyncDiagnostics } from './support/diagnostics.js';
import { openDevice, type Snapshot, type Values } from './support/devices.js';

// WatermelonDB ships CommonJS; from ESM its default export may arrive wrapped once more.
const getSyncChanges = ((getSyncChangesModule as unknown as { default?: typeof getSyncChangesModule }).default ?? getSyncChangesModule) as typeof getSyncChangesModule;

const MIN = 60_000;
const find = (s: Snapshot, table: keyof Snapshot, id: string) => s[table].find((r) => r.id === id);

/** The client's schema as it was at `version` (an app not yet upgraded). */
function schemaAt(version: number) {
  return appSchema({
    version,
    tables: TABLES.map((t) =>
      tableSchema({
        name: t.name,
        columns: [
          ...columnsAtVersion(t, version).map((c) => ({ name: c.name, type: c.type, ...(c.nullable ? { isOptional: true } : {}), ...(c.indexed ? { isIndexed: true } : {}) })),
          { name: 'created_at', type: 'number' as const },
          { name: 'updated_at', type: 'number' as const },
        ],
      }),
    ),
  });
}

describe('e2e: one run, one activity', () => {
  const stack = useLocalStack();
  failOnSyncDiagnostics();

  async function upload(user: string, bytes: Uint8Array) {
    const api = apiAs(stack(), await stack().token(user));
    const created = await api.request('POST', '/api/v1/uploads', { kind: 'fit', content_type: FIT_TYPE, size_bytes: bytes.length, activity_id: null, sha256: sha256(bytes) });
    expect(created.status).toBe(201);
    expect((await postUpload(created.body.url, created.body.fields, bytes)).status).toBe(204);
    return { api, uploadId: created.body.upload_id as string };
  }

  it('a manual run, then the watch syncs its FIT without activity_id → one activity with the Garmin data on every device; the manual values in the conflict log', async () => {
    const s = stack();
    const user = uniqueUser('manual-first');
    const phone = await openDevice(s, user, 'phone');
    const tablet = await openDevice(s, user, 'tablet');
    const bytes = fixture(RUN);
    const fit = decoded(bytes);
    const manual: Values = {
      sport: 'running',
      started_at: fit.started_at - 3 * MIN,
      duration_s: 3000,
      distance_m: 9000,
      elevation_gain_m: null,
      avg_heart_rate: null,
      route_polyline: null,
      gps_source: 'manual',
      title: 'Before work',
      notes: 'forgot the watch… or did I',
      perceived_effort: 5,
      upload_id: null,
    };
    const activityId = await phone.create('activities', manual);
    await phone.sync();

    const { api, uploadId } = await upload(user, bytes);
    expect(await s.uploadsSettled()).toEqual([{ outcome: 'processed', uploadId, activityId, activity: 'update' }]);

    await phone.sync();
    await tablet.sync();
    const snap = await expectConvergedWithServer(s, user, [phone, tablet]);
    expect(snap.activities).toEqual([
      expect.objectContaining({ id: activityId, ...fit, title: 'Before work', notes: 'forgot the watch… or did I', perceived_effort: 5, upload_id: uploadId }),
    ]);
    expect(find(snap, 'uploads', uploadId)).toMatchObject({ status: 'processed', activity_id: activityId, duplicate_of: null });
    expect(await api.conflicts()).toEqual([
      expect.objectContaining({ record_id: activityId, rule: 'activity-recorded-source-priority', losing: expect.objectContaining({ distance_m: 9000, duration_s: 3000, gps_source: 'manual' }) }),
    ]);
  });

  it('the same FIT from two devices at once, then a re-export of it → one activity; both later uploads `duplicate_of` it, on every device', async () => {
    const s = stack();
    const user = uniqueUser('same-run');
    const phone = await openDevice(s, user, 'phone');
    const watchApp = await openDevice(s, user, 'watch-app');
    const bytes = fixture(RUN);

    const [a, b] = await Promise.all([upload(user, bytes), upload(user, bytes)]);
    const outcomes = await s.uploadsSettled();
    expect(outcomes).toHaveLength(2);
    const imported = outcomes.filter((o) => 'activityId' in o && o.activityId !== undefined) as { uploadId: string; activityId: string }[];
    const duplicates = outcomes.filter((o) => 'duplicateOf' in o && o.duplicateOf !== undefined) as { uploadId: string; duplicateOf: string }[];
    expect(imported, JSON.stringify(outcomes)).toHaveLength(1);
    expect(duplicates, JSON.stringify(outcomes)).toHaveLength(1);
    const activityId = imported[0]!.activityId;
    expect([a.uploadId, b.uploadId].map(activityIdForUpload)).toContain(activityId);
    expect(duplicates[0]!.duplicateOf).toBe(activityId);

    const re = await upload(user, fixture(RUN_REEXPORTED));
    expect(await s.uploadsSettled()).toEqual([{ outcome: 'processed', uploadId: re.uploadId, duplicateOf: activityId }]);

    await phone.sync();
    await watchApp.sync();
    const snap = await expectConvergedWithServer(s, user, [phone, watchApp]);
    expect(snap.activities.map((r) => r.id)).toEqual([activityId]);
    expect(snap.uploads.map((u) => [u.id, u.status, u.activity_id, u.duplicate_of]).sort()).toEqual(
      [
        [imported[0]!.uploadId, 'processed', activityId, null],
        [duplicates[0]!.uploadId, 'processed', null, activityId],
        [re.uploadId, 'processed', null, activityId],
      ].sort(),
    );
  });

  it('two sources for one run (watch, then the phone app): one activity with the watch data; the phone upload `duplicate_of` it on the device', async () => {
    const s = stack();
    const user = uniqueUser('two-sources');
    const phone = await openDevice(s, user, 'phone');
    const watch = syntheticRun({ seconds: 3300, start: new Date('2024-06-06T06:10:00Z'), serialNumber: 7001 });
    const app = syntheticRun({ seconds: 3240, start: new Date('2024-06-06T06:10:30Z'), serialNumber: 7002 });
    const w = await upload(user, watch);
    expect(await s.uploadsSettled()).toEqual([{ outcome: 'processed', uploadId: w.uploadId, activityId: activityIdForUpload(w.uploadId), activity: 'create' }]);
    const p = await upload(user, app);
    expect(await s.uploadsSettled()).toEqual([{ outcome: 'processed', uploadId: p.uploadId, duplicateOf: activityIdForUpload(w.uploadId) }]);

    await phone.sync();
    const snap = await expectConvergedWithServer(s, user, [phone]);
    expect(snap.activities).toEqual([expect.objectContaining({ id: activityIdForUpload(w.uploadId), ...decoded(watch), upload_id: w.uploadId })]);
    expect(find(snap, 'uploads', p.uploadId)).toMatchObject({ status: 'processed', activity_id: null, duplicate_of: activityIdForUpload(w.uploadId) });
  });

  it("two different runs on one day → two activities; another user's run at the same time is never touched", async () => {
    const s = stack();
    const user = uniqueUser('two-runs');
    const other = uniqueUser('neighbour');
    const phone = await openDevice(s, user, 'phone');
    const theirPhone = await openDevice(s, other, 'their-phone');
    const morning = syntheticRun({ seconds: 3000, start: new Date('2024-06-05T06:00:00Z') });
    const evening = syntheticRun({ seconds: 2000, start: new Date('2024-06-05T19:00:00Z') });
    // The other user typed in a run at exactly the morning run's time.
    const theirs = await theirPhone.create('activities', { sport: 'running', started_at: Date.parse('2024-06-05T06:00:00Z'), duration_s: 3000, distance_m: 9000, gps_source: 'manual' });
    await theirPhone.sync();

    const m = await upload(user, morning);
    const e = await upload(user, evening);
    const outcomes = await s.uploadsSettled();
    expect(outcomes).toEqual(
      expect.arrayContaining([
        { outcome: 'processed', uploadId: m.uploadId, activityId: activityIdForUpload(m.uploadId), activity: 'create' },
        { outcome: 'processed', uploadId: e.uploadId, activityId: activityIdForUpload(e.uploadId), activity: 'create' },
      ]),
    );
    await phone.sync();
    const snap = await expectConvergedWithServer(s, user, [phone]);
    expect(snap.activities.map((r) => r.id)).toEqual([activityIdForUpload(e.uploadId), activityIdForUpload(m.uploadId)].sort());

    await theirPhone.sync();
    const theirSnap = await expectConvergedWithServer(s, other, [theirPhone]);
    expect(theirSnap.activities).toEqual([expect.objectContaining({ id: theirs, gps_source: 'manual', distance_m: 9000, upload_id: null })]);
    expect(theirSnap.uploads).toEqual([]);
  });
});

describe('e2e: schema v1 devices and the v2 migration', () => {
  // No index lag: a pull's timestamp is the clock, so a delta pull after it is empty and what a
  // migration pull adds is exactly what the migration asked for.
  const lagless = useLocalStack({ env: { INDEX_LAG_MS: '0' } });
  failOnSyncDiagnostics();

  async function upload(user: string, bytes: Uint8Array) {
    const api = apiAs(lagless(), await lagless().token(user));
    const created = await api.request('POST', '/api/v1/uploads', { kind: 'fit', content_type: FIT_TYPE, size_bytes: bytes.length, activity_id: null, sha256: sha256(bytes) });
    expect(created.status).toBe(201);
    expect((await postUpload(created.body.url, created.body.fields, bytes)).status).toBe(204);
    return { api, uploadId: created.body.upload_id as string };
  }

  it('a device still on schema v1 keeps syncing a duplicate upload (never sent duplicate_of); the client migrations ask for the migration sync the server answers', async () => {
    const s = lagless();
    const user = uniqueUser('old-app');
    const oldPhone = await openDevice(s, user, 'old-phone', { schema: schemaAt(1) });
    const bytes = fixture(RUN);
    await upload(user, bytes);
    await s.uploadsSettled();
    const dup = await upload(user, bytes);
    expect(await s.uploadsSettled()).toEqual([expect.objectContaining({ uploadId: dup.uploadId, duplicateOf: expect.any(String) })]);

    // Over HTTP, a v1 pull carries no `duplicate_of`; a v2 pull does.
    const api = apiAs(s, await s.token(user));
    const v1 = await api.pull({ last_pulled_at: null, schema_version: 1 });
    expect(v1.status).toBe(200);
    for (const raw of v1.body.changes.uploads.updated) expect(Object.keys(raw)).not.toContain('duplicate_of');
    const v2 = await api.pull({ last_pulled_at: null, schema_version: 2 });
    expect(v2.body.changes.uploads.updated.find((u: { id: string }) => u.id === dup.uploadId)).toMatchObject({ duplicate_of: expect.any(String) });

    await oldPhone.sync();
    const old = await oldPhone.snapshot();
    expect(old.uploads).toHaveLength(2);
    expect(find(old, 'uploads', dup.uploadId)).toMatchObject({ status: 'processed', _status: 'synced' });
    expect(Object.keys(find(old, 'uploads', dup.uploadId)!)).not.toContain('duplicate_of');
    expect(await oldPhone.hasUnsyncedChanges()).toBe(false);

    // The upgrade: WatermelonDB turns the client's migrations into the migration sync of P8…
    expect(syncSchema.version).toBe(SCHEMA_VERSION);
    const migration = getSyncChanges(syncMigrations, 1, SCHEMA_VERSION);
    expect(migration).toEqual({ from: 1, tables: [], columns: [{ table: 'uploads', columns: ['duplicate_of'] }] });
    // …and a pull with it after the old device's last sync sends the duplicate upload again, with its new column.
    const { timestamp } = v1.body as { timestamp: number };
    const migrated = await api.pull({ last_pulled_at: timestamp, schema_version: SCHEMA_VERSION, migration: JSON.stringify(migration) });
    expect(migrated.status).toBe(200);
    expect(migrated.body.changes.uploads.updated.map((u: { id: string; duplicate_of: string | null }) => [u.id, u.duplicate_of])).toEqual([[dup.uploadId, expect.any(String)]]);
    const delta = await api.pull({ last_pulled_at: timestamp, schema_version: SCHEMA_VERSION });
    expect(delta.body.changes.uploads.updated).toEqual([]);
  });
});
