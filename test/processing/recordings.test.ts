/**
 * One run, one activity: the FIT processor over real engines (dynalite with the table's
 * `by_started_at` index, s3rver), real FIT files (test/fixtures/fit) and synthetic ones. Uploads
 * are presigned by the upload service without `activity_id` and POSTed as a phone sends them;
 * the processor runs on the S3 event S3 would send.
 *
 * Concurrency is made deterministic by a barrier in front of the recording index: both
 * invocations have decided where their recording goes before either claims it, so the race the
 * conditional claim must settle always happens (no sleeps, no timing).
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoRecordingIndex } from '../../lambdas/adapters/dynamo/recordings-store.js';
import type { S3Event } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { S3UploadObjects } from '../../lambdas/adapters/s3/upload-objects.js';
import { loadConfig } from '../../lambdas/config.js';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { pullChanges } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import type { RecordingIndex } from '../../lambdas/core/recordings.js';
import { restoreConflict } from '../../lambdas/core/restore.js';
import { SCHEMA_VERSION, type RecordData } from '../../lambdas/core/schema.js';
import { createUpload } from '../../lambdas/core/upload-service.js';
import { uploadLimits, uploadObjectKey } from '../../lambdas/core/uploads.js';
import { decodeFitActivity } from '../../lambdas/fit/index.js';
import { createFitProcessHandler } from '../../lambdas/handlers/fit-process.js';
import { activityIdForUpload, ingestUploadedObject, type IngestDeps, type RecordingDecisionLog } from '../../lambdas/processing/ingest-upload.js';
import { createRuntime, SERVICE_NAME, type Runtime } from '../../lambdas/runtime.js';
import { lambdaContext } from '../../local/lambda-event.js';
import { decoded, FIT_TYPE, fixture, RUN, RUN_REEXPORTED, sha256 } from '../fit/support/fixtures.js';
import { syntheticRun } from '../fit/support/synthetic.js';
import { pullDeps, pushDeps, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { activityRaw, pushBody } from '../support/records.js';
import { postUpload, useS3rver } from '../support/s3.js';
import { mockInFrontOf, sdkError } from '../support/sdk-faults.js';

const dynamo = useSyncTable();
const s3 = useS3rver('recordings');

const MIN = 60_000;

/** Holds every `claim` until `parties` of them are waiting, then lets them all go at once. */
function claimBarrier(inner: RecordingIndex, parties: number): RecordingIndex {
  const waiting: (() => void)[] = [];
  let open = false;
  const arrive = () =>
    new Promise<void>((resolve) => {
      if (open) return resolve();
      waiting.push(resolve);
      if (waiting.length === parties) {
        open = true;
        waiting.forEach((r) => r());
      }
    });
  return {
    claim: async (...a) => (await arrive(), inner.claim(...a)),
    reassign: (...a) => inner.reassign(...a),
    activitiesStartedBetween: (...a) => inner.activitiesStartedBetween(...a),
  };
}

function runtime(recordings?: (inner: RecordingIndex) => RecordingIndex): Runtime {
  const { db, tableName, store } = dynamo();
  const config = loadConfig({ TABLE_NAME: tableName, CURSOR_SECRET: 'c'.repeat(32), UPLOADS_BUCKET: s3().bucket, S3_ENDPOINT: s3().endpoint });
  const metrics = new Metrics({ namespace: 'RunningCoachSync', serviceName: SERVICE_NAME });
  metrics.setThrowOnEmptyMetrics(false);
  const base = createRuntime(config, { db, store, uploads: new S3UploadObjects(s3().client, s3().bucket), logger: new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' }), metrics });
  return recordings ? { ...base, recordings: recordings(base.recordings) } : base;
}

let shared: Runtime | undefined;
const rt = () => (shared ??= runtime());

/** Presigns (no activity_id) through the upload service and POSTs the bytes; returns the upload id and key. */
async function upload(r: Runtime, user: string, bytes: Uint8Array, activityId?: string) {
  const deps = { store: r.store, objects: r.uploads!, now: Date.now, config: r.config.push, limits: uploadLimits(r.config.uploads.maxBytes) };
  const created = await createUpload(user, { kind: 'fit', content_type: FIT_TYPE, size_bytes: bytes.length, sha256: sha256(bytes), ...(activityId ? { activity_id: activityId } : {}) }, deps);
  const uploadId = created.body.upload_id;
  expect((await postUpload(created.body.url, created.body.fields, bytes)).status).toBe(204);
  return { uploadId, key: uploadObjectKey({ userId: user, kind: 'fit', uploadId }) };
}

const s3Event = (key: string) => ({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Post', s3: { bucket: { name: s3().bucket }, object: { key, size: 0 } } }] }) as unknown as S3Event;
async function process(r: Runtime, key: string) {
  const { results } = await createFitProcessHandler(r)(s3Event(key), lambdaContext('fit-process', 60_000));
  return results[0]!;
}

/** The processor's dependencies as the handler builds them, with decisions collected. */
function ingestDeps(r: Runtime, decisions: RecordingDecisionLog[]): IngestDeps {
  return {
    store: r.store,
    objects: r.uploads!,
    now: Date.now,
    config: r.config.push,
    maxBytes: r.config.uploads.maxBytes,
    decodeFit: (bytes) => {
      const d = decodeFitActivity(bytes);
      return d.ok ? { ok: true, activity: { ...d.activity }, fileId: d.fileId } : { ok: false, reason: d.error.message };
    },
    sha256Hex: sha256,
    recordings: r.recordings,
    onDecision: (d) => decisions.push(d),
  };
}

async function pushActivities(user: string, ...raws: Record<string, unknown>[]) {
  await pushChanges(user, parsePushBody(pushBody({ activities: { created: raws } }, null)), pushDeps(rt().store));
}

/** What a device at the current schema version pulls on a first sync: `{ table: { id: raw } }`. */
async function pulled(user: string): Promise<Record<string, Record<string, RecordData>>> {
  const out: Record<string, Record<string, RecordData>> = {};
  let cursor: string | undefined;
  do {
    const page = await pullChanges(user, { lastPulledAt: null, schemaVersion: SCHEMA_VERSION, migration: null, cursor }, pullDeps(rt().store));
    for (const [table, set] of Object.entries(page.changes)) for (const raw of set.updated) (out[table] ??= {})[raw.id as string] = raw as RecordData;
    cursor = page.cursor;
  } while (cursor);
  return out;
}
const ids = (o: Record<string, unknown> | undefined) => Object.keys(o ?? {}).sort();

describe('FIT recordings: one run, one activity', () => {
  it('a manual run, then its FIT without activity_id → one activity with the Garmin data; the manual values in the conflict log, restorable', async () => {
    const user = uniqueUser('manual-then-fit');
    const bytes = fixture(RUN);
    const fit = decoded(bytes);
    // Typed in after a watch-less morning: the start rounded down by 5 minutes, the duration guessed.
    const manual = activityRaw(`man${randomUUID().slice(0, 8)}`, { started_at: fit.started_at - 5 * MIN, duration_s: 2700, distance_m: 8000, title: 'Morning loop', notes: 'legs heavy' });
    await pushActivities(user, manual);

    const { uploadId, key } = await upload(rt(), user, bytes);
    expect(await process(rt(), key)).toEqual({ outcome: 'processed', uploadId, activityId: manual.id, activity: 'update' });

    const state = await pulled(user);
    expect(ids(state.activities)).toEqual([manual.id]);
    expect(state.activities![manual.id]).toMatchObject({ ...fit, title: 'Morning loop', notes: 'legs heavy', upload_id: uploadId, gps_source: 'garmin' });
    expect(state.uploads![uploadId]).toMatchObject({ status: 'processed', activity_id: manual.id, duplicate_of: null, error: null });

    const { entries } = await rt().store.listConflicts(user, { since: 0, limit: 10 });
    expect(entries).toEqual([
      expect.objectContaining({ table: 'activities', record_id: manual.id, rule: 'activity-recorded-source-priority', losing: expect.objectContaining({ started_at: manual.started_at, duration_s: 2700, distance_m: 8000, gps_source: 'manual' }) }),
    ]);
    // Restorable: the runner's numbers come back as a change that syncs.
    await restoreConflict(user, entries[0]!.id, { store: rt().store, now: Date.now, config: rt().config.push });
    expect((await pulled(user)).activities![manual.id]).toMatchObject({ started_at: manual.started_at, duration_s: 2700, distance_m: 8000, gps_source: 'manual', title: 'Morning loop' });
  });

  it('the same FIT from two devices at once → one activity; the other upload processed with duplicate_of, in either order', async () => {
    for (let round = 0; round < 2; round++) {
      const r = runtime((inner) => claimBarrier(inner, 2));
      const user = uniqueUser('same-file');
      const bytes = fixture(RUN);
      const a = await upload(r, user, bytes);
      const b = await upload(r, user, bytes);
      const [ra, rb] = await Promise.all(round === 0 ? [process(r, a.key), process(r, b.key)] : [process(r, b.key), process(r, a.key)].reverse());

      const results = [ra, rb] as { uploadId: string; activityId?: string; duplicateOf?: string }[];
      const winner = results.find((x) => x.activityId !== undefined)!;
      const loser = results.find((x) => x.duplicateOf !== undefined)!;
      expect(winner, JSON.stringify(results)).toBeDefined();
      expect(loser, JSON.stringify(results)).toBeDefined();
      expect(loser.duplicateOf).toBe(winner.activityId);
      expect(winner.activityId).toBe(activityIdForUpload(winner.uploadId));

      const state = await pulled(user);
      expect(ids(state.activities)).toEqual([winner.activityId]);
      expect(state.uploads![loser.uploadId]).toMatchObject({ status: 'processed', duplicate_of: winner.activityId, activity_id: null, error: null });
      expect(state.uploads![winner.uploadId]).toMatchObject({ status: 'processed', duplicate_of: null, activity_id: winner.activityId });
    }
  });

  it('a re-exported file (same recording, different bytes) → duplicate of the first import; and its own bytes again → the same', async () => {
    const user = uniqueUser('reexport');
    const original = fixture(RUN);
    const reexported = fixture(RUN_REEXPORTED);
    expect(sha256(reexported)).not.toBe(sha256(original));
    expect(decodeFitActivity(reexported)).toMatchObject({ ok: true, fileId: (decodeFitActivity(original) as { fileId: unknown }).fileId });

    const first = await upload(rt(), user, original);
    const imported = await process(rt(), first.key);
    const activityId = activityIdForUpload(first.uploadId);
    expect(imported).toMatchObject({ outcome: 'processed', activityId, activity: 'create' });
    const again = await upload(rt(), user, reexported);
    expect(await process(rt(), again.key)).toEqual({ outcome: 'processed', uploadId: again.uploadId, duplicateOf: activityId });
    const third = await upload(rt(), user, reexported);
    expect(await process(rt(), third.key)).toEqual({ outcome: 'processed', uploadId: third.uploadId, duplicateOf: activityId });

    const state = await pulled(user);
    expect(ids(state.activities)).toEqual([activityId]);
    expect(state.uploads![again.uploadId]).toMatchObject({ status: 'processed', duplicate_of: activityId });
  });

  it('two different runs on the same day → two activities; a manual entry between them matches neither', async () => {
    const user = uniqueUser('two-runs');
    const day = '2024-06-02';
    const morning = syntheticRun({ seconds: 3600, start: new Date(`${day}T06:30:00Z`) });
    const evening = syntheticRun({ seconds: 2400, start: new Date(`${day}T18:00:00Z`) });
    const lunch = activityRaw(`lunch${randomUUID().slice(0, 6)}`, { started_at: Date.parse(`${day}T12:15:00Z`), duration_s: 1800 });
    await pushActivities(user, lunch);

    const m = await upload(rt(), user, morning);
    const e = await upload(rt(), user, evening);
    expect(await process(rt(), m.key)).toMatchObject({ activityId: activityIdForUpload(m.uploadId), activity: 'create' });
    expect(await process(rt(), e.key)).toMatchObject({ activityId: activityIdForUpload(e.uploadId), activity: 'create' });
    const state = await pulled(user);
    expect(ids(state.activities)).toEqual([activityIdForUpload(e.uploadId), activityIdForUpload(m.uploadId), lunch.id].sort());
    expect(state.activities![lunch.id]).toMatchObject({ gps_source: 'manual', distance_m: lunch.distance_m });
  });

  it("another user's activity at the same time is never matched", async () => {
    const bytes = fixture(RUN);
    const fit = decoded(bytes);
    const other = uniqueUser('other');
    const theirs = activityRaw(`theirs${randomUUID().slice(0, 6)}`, { started_at: fit.started_at, duration_s: fit.duration_s });
    await pushActivities(other, theirs);
    // …and the other user's recording index already holds this very file.
    const theirUpload = await upload(rt(), other, bytes);
    expect(await process(rt(), theirUpload.key)).toMatchObject({ activityId: theirs.id });

    const user = uniqueUser('mine');
    const mine = await upload(rt(), user, bytes);
    expect(await process(rt(), mine.key)).toEqual({ outcome: 'processed', uploadId: mine.uploadId, activityId: activityIdForUpload(mine.uploadId), activity: 'create' });
    expect(ids((await pulled(user)).activities)).toEqual([activityIdForUpload(mine.uploadId)]);
    const theirState = await pulled(other);
    expect(ids(theirState.activities)).toEqual([theirs.id]);
    expect(theirState.activities![theirs.id]).toMatchObject({ upload_id: theirUpload.uploadId });
  });

  it('two sources for one run (watch and phone): the second recording is a duplicate source; the first import stays', async () => {
    const user = uniqueUser('two-sources');
    const watch = syntheticRun({ seconds: 3000, start: new Date('2024-06-03T07:00:00Z'), serialNumber: 111 });
    // The phone app started 40 s later and stopped 2 minutes earlier: another file, another device.
    const phone = syntheticRun({ seconds: 2840, start: new Date('2024-06-03T07:00:40Z'), serialNumber: 222 });
    const w = await upload(rt(), user, watch);
    const p = await upload(rt(), user, phone);
    const first = await process(rt(), w.key);
    expect(first).toMatchObject({ activityId: activityIdForUpload(w.uploadId), activity: 'create' });
    expect(await process(rt(), p.key)).toEqual({ outcome: 'processed', uploadId: p.uploadId, duplicateOf: activityIdForUpload(w.uploadId) });

    const state = await pulled(user);
    expect(ids(state.activities)).toEqual([activityIdForUpload(w.uploadId)]);
    expect(state.activities![activityIdForUpload(w.uploadId)]).toMatchObject({ ...decoded(watch), upload_id: w.uploadId });
    // The phone's file again resolves the same way (its keys were claimed for the run's activity).
    const again = await upload(rt(), user, phone);
    expect(await process(rt(), again.key)).toEqual({ outcome: 'processed', uploadId: again.uploadId, duplicateOf: activityIdForUpload(w.uploadId) });
  });

  it('two candidate manual activities → the larger overlap wins, deterministically, and the decision is logged with both', async () => {
    const bytes = syntheticRun({ seconds: 3600, start: new Date('2024-06-04T06:00:00Z') });
    const fit = decoded(bytes);
    for (const order of ['ab', 'ba']) {
      const user = uniqueUser(`two-candidates-${order}`);
      const close = activityRaw(`close${order}`, { started_at: fit.started_at + 2 * MIN, duration_s: 3500 });
      const partial = activityRaw(`partial${order}`, { started_at: fit.started_at + 25 * MIN, duration_s: 3600 });
      await pushActivities(user, ...(order === 'ab' ? [close, partial] : [partial, close]));
      const { uploadId, key } = await upload(rt(), user, bytes);
      const decisions: RecordingDecisionLog[] = [];
      expect(await ingestUploadedObject(key, ingestDeps(rt(), decisions))).toMatchObject({ outcome: 'processed', activityId: close.id });
      expect(decisions).toEqual([
        expect.objectContaining({
          userId: user,
          uploadId,
          decision: 'merge',
          activityId: close.id,
          considered: expect.arrayContaining([expect.objectContaining({ id: close.id }), expect.objectContaining({ id: partial.id })]),
        }),
      ]);
      expect((await pulled(user)).activities![partial.id]).toMatchObject({ gps_source: 'manual', upload_id: null });
    }
  });

  it('a sport that differs (a ride at the time of a manual run) is not matched', async () => {
    const user = uniqueUser('sport');
    const ride = fixture('FITfileR/tomtom-runner3-ride.fit');
    const fit = decoded(ride);
    expect(fit.sport).toBe('cycling');
    const run = activityRaw(`run${randomUUID().slice(0, 6)}`, { sport: 'running', started_at: fit.started_at, duration_s: fit.duration_s });
    await pushActivities(user, run);
    const { uploadId, key } = await upload(rt(), user, ride);
    expect(await process(rt(), key)).toMatchObject({ activityId: activityIdForUpload(uploadId), activity: 'create' });
  });

  it('the run deleted after its import, then the same file again → imported anew (a deleted activity is no duplicate target)', async () => {
    const user = uniqueUser('deleted');
    const bytes = fixture(RUN);
    const first = await upload(rt(), user, bytes);
    await process(rt(), first.key);
    const firstActivity = activityIdForUpload(first.uploadId);
    const { timestamp } = await pullChanges(user, { lastPulledAt: null, schemaVersion: SCHEMA_VERSION, migration: null }, pullDeps(rt().store));
    await pushChanges(user, parsePushBody(pushBody({ activities: { deleted: [firstActivity] } }, timestamp)), pushDeps(rt().store));
    const second = await upload(rt(), user, bytes);
    expect(await process(rt(), second.key)).toEqual({ outcome: 'processed', uploadId: second.uploadId, activityId: activityIdForUpload(second.uploadId), activity: 'create' });
    expect(ids((await pulled(user)).activities)).toEqual([activityIdForUpload(second.uploadId)]);
  });

  it('a retry after a crash between the claim and the activity write follows the first decision: still one activity', async () => {
    const user = uniqueUser('retry');
    const bytes = fixture(RUN);
    const fit = decoded(bytes);
    const { uploadId, key } = await upload(rt(), user, bytes);
    // First attempt: the claim lands, then the activity write fails transiently.
    const crashing: Runtime = { ...rt(), store: Object.assign(Object.create(rt().store), { putRecord: (...a: Parameters<Runtime['store']['putRecord']>) => (a[1].table === 'activities' ? Promise.reject(Object.assign(new Error('boom'), { name: 'InternalServerError' })) : rt().store.putRecord(...a)) }) };
    await expect(process(crashing, key)).rejects.toThrow('boom');
    // Meanwhile the runner typed the run in: a fresh decision would merge into it, but the claim says `fit-<id>`.
    const manual = activityRaw(`late${randomUUID().slice(0, 6)}`, { started_at: fit.started_at, duration_s: fit.duration_s });
    await pushActivities(user, manual);
    expect(await process(rt(), key)).toEqual({ outcome: 'processed', uploadId, activityId: activityIdForUpload(uploadId), activity: 'create' });
    // The same file again is a duplicate of what the claim recorded.
    const again = await upload(rt(), user, bytes);
    expect(await process(rt(), again.key)).toEqual({ outcome: 'processed', uploadId: again.uploadId, duplicateOf: activityIdForUpload(uploadId) });
  });

  it('a claim whose upload failed for good before writing its activity is taken over by the next upload of the file; the late retry is then its duplicate', async () => {
    const user = uniqueUser('abandoned');
    const bytes = fixture(RUN);
    const first = await upload(rt(), user, bytes);
    const crashing: Runtime = { ...rt(), store: Object.assign(Object.create(rt().store), { putRecord: (...a: Parameters<Runtime['store']['putRecord']>) => (a[1].table === 'activities' ? Promise.reject(Object.assign(new Error('boom'), { name: 'InternalServerError' })) : rt().store.putRecord(...a)) }) };
    await expect(process(crashing, first.key)).rejects.toThrow('boom');
    expect((await pulled(user)).uploads![first.uploadId]).toMatchObject({ status: 'failed' });
    // Its retries went to the DLQ; the runner uploads the file again.
    const second = await upload(rt(), user, bytes);
    expect(await process(rt(), second.key)).toEqual({ outcome: 'processed', uploadId: second.uploadId, activityId: activityIdForUpload(second.uploadId), activity: 'create' });
    // An operator redrives the first event from the DLQ: no second activity.
    expect(await process(rt(), first.key)).toEqual({ outcome: 'processed', uploadId: first.uploadId, duplicateOf: activityIdForUpload(second.uploadId) });
    expect(ids((await pulled(user)).activities)).toEqual([activityIdForUpload(second.uploadId)]);
  });

  it('identity comes before an upload’s own activity_id: a recording already imported, uploaded again for another activity → duplicate; that activity untouched', async () => {
    const user = uniqueUser('explicit');
    const bytes = fixture(RUN);
    const first = await upload(rt(), user, bytes);
    expect(await process(rt(), first.key)).toMatchObject({ activityId: activityIdForUpload(first.uploadId) });
    const other = activityRaw(`other${randomUUID().slice(0, 6)}`, { started_at: Date.parse('2020-01-01T00:00:00Z') });
    await pushActivities(user, other);
    const again = await upload(rt(), user, bytes, other.id);
    expect(await process(rt(), again.key)).toEqual({ outcome: 'processed', uploadId: again.uploadId, duplicateOf: activityIdForUpload(first.uploadId) });
    const state = await pulled(user);
    expect(state.activities![other.id]).toMatchObject({ gps_source: 'manual', upload_id: null, started_at: other.started_at });
    expect(state.uploads![again.uploadId]).toMatchObject({ status: 'processed', activity_id: other.id, duplicate_of: activityIdForUpload(first.uploadId) });
  });

  it('recording claims never reach a pull, and the time index holds only live activities', async () => {
    const user = uniqueUser('internal');
    const bytes = fixture(RUN);
    const { uploadId, key } = await upload(rt(), user, bytes);
    await process(rt(), key);
    const { db, tableName } = dynamo();
    const items = await db.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :rec)', ExpressionAttributeValues: { ':pk': `U#${user}`, ':rec': 'REC#' } }));
    expect((items.Items ?? []).map((i) => String(i.sk).split('#')[1]).sort()).toEqual(['F', 'H']);
    expect(items.Items!.every((i) => i.updated_at === undefined && i.started_at === undefined)).toBe(true);
    const state = await pulled(user);
    expect(Object.fromEntries(Object.entries(state).map(([t, r]) => [t, ids(r)]))).toEqual({ activities: [activityIdForUpload(uploadId)], uploads: [uploadId] });
    const fit = decoded(bytes);
    expect(await rt().recordings.activitiesStartedBetween(user, fit.started_at, fit.started_at, 10)).toEqual([activityIdForUpload(uploadId)]);
  });

  it('a lost claim on DynamoDB (the winner returned in wire form on the failed condition) → the winner, unmarshalled, without another read', async () => {
    const { db, tableName } = dynamo();
    const user = uniqueUser('wire');
    const index = new DynamoRecordingIndex(db, tableName);
    const { mock, realSend } = mockInFrontOf(db);
    let gets = 0;
    mock.on(GetCommand).callsFake((input) => (gets++, realSend(new GetCommand(input))));
    mock.on(PutCommand).callsFake(async (input) => {
      // Real DynamoDB and DynamoDB Local: `ReturnValuesOnConditionCheckFailure: ALL_OLD` puts the item on the exception, marshalled.
      expect(input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
      throw Object.assign(sdkError('ConditionalCheckFailedException'), { Item: { pk: { S: `U#${user}` }, sk: { S: 'REC#H#x' }, upload_id: { S: 'first' }, activity_id: { S: 'fit-first' }, at: { N: '5' } } });
    });
    try {
      expect(await index.claim(user, 'H#x', { uploadId: 'second', activityId: 'fit-second' })).toEqual({ uploadId: 'first', activityId: 'fit-first' });
      expect(gets).toBe(0);
    } finally {
      mock.restore();
    }
    // dynalite returns no item: the adapter reads the winner consistently instead.
    await index.claim(user, 'H#y', { uploadId: 'first', activityId: 'fit-first' });
    expect(await index.claim(user, 'H#y', { uploadId: 'second', activityId: 'fit-second' })).toEqual({ uploadId: 'first', activityId: 'fit-first' });
    expect(await index.claim(user, 'H#y', { uploadId: 'first', activityId: 'other' })).toEqual({ uploadId: 'first', activityId: 'fit-first' });
  });
});
