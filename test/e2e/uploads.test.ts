/**
 * End to end with the real WatermelonDB client: a device records an activity by hand, the
 * runner uploads the watch's FIT file through the upload API (presigned POST to s3rver), the
 * local stack runs the FIT processor on s3rver's object-created event, and the device's next
 * sync shows what the decoder read from the same bytes, merged into its activity.
 *
 * Expected values come from `decodeFitActivity` on the uploaded bytes, never typed by hand.
 */
import { describe, expect, it } from 'vitest';
import type { S3Event } from 'aws-lambda';
import { decodeFitActivity } from '../../lambdas/fit/index.js';
import { createFitProcessHandler } from '../../lambdas/handlers/fit-process.js';
import { activityIdForUpload } from '../../lambdas/processing/ingest-upload.js';
import { lambdaContext } from '../../local/lambda-event.js';
import { decoded, FIT_TYPE, fixture, sha256 } from '../fit/support/fixtures.js';
import { uniqueUser } from '../support/dynamo.js';
import { postUpload } from '../support/s3.js';
import { apiAs, useLocalStack } from '../support/stack.js';
import { failOnSyncDiagnostics } from './support/diagnostics.js';
import { openDevice, withoutBookkeeping, type Snapshot, type Values } from './support/devices.js';
import { serverSnapshot } from './support/server.js';

const find = (s: Snapshot, table: keyof Snapshot, id: string) => s[table].find((r) => r.id === id);

describe('e2e: FIT uploads reach WatermelonDB devices', () => {
  const stack = useLocalStack();
  failOnSyncDiagnostics();

  /** Presigns through the API as `user` and POSTs the bytes with the form, as the app would. */
  async function upload(user: string, bytes: Uint8Array, extra: Record<string, unknown> = {}) {
    const api = apiAs(stack(), await stack().token(user));
    const created = await api.request('POST', '/api/v1/uploads', { kind: 'fit', content_type: FIT_TYPE, size_bytes: bytes.length, sha256: sha256(bytes), ...extra });
    expect(created.status).toBe(201);
    expect((await postUpload(created.body.url, created.body.fields, bytes)).status).toBe(204);
    return { api, uploadId: created.body.upload_id as string, form: created.body as { url: string; fields: Record<string, string> } };
  }

  it('a manual activity + the matching FIT uploaded with its activity_id → next sync shows the Garmin data merged, title and notes kept; a duplicate event changes nothing', async () => {
    const s = stack();
    const user = uniqueUser('runner');
    const phone = await openDevice(s, user, 'phone');
    const bytes = fixture('python-fitparse/activity-small-fenix2-run.fit');
    const fit = decoded(bytes);

    // Typed in by hand after the run: rough numbers, a hand-drawn route, how it felt.
    const manual: Values = {
      sport: 'running',
      started_at: fit.started_at + 120_000,
      duration_s: 2700,
      distance_m: 8800,
      elevation_gain_m: null,
      avg_heart_rate: null,
      route_polyline: '_p~iF~ps|U_ulLnnqC',
      gps_source: 'manual',
      title: 'Sunday long run',
      notes: 'Felt strong after the hill',
      perceived_effort: 6,
      upload_id: null,
    };
    const activityId = await phone.create('activities', manual);
    await phone.sync();

    const { api, uploadId, form } = await upload(user, bytes, { activity_id: activityId });
    expect(await s.uploadsSettled()).toEqual([{ outcome: 'processed', uploadId, activityId, activity: 'update' }]);

    // The device edits nothing; its next sync brings the merge.
    await phone.sync();
    const after = await phone.snapshot();
    const merged = find(after, 'activities', activityId);
    expect(merged).toMatchObject({
      ...manual,
      // Garmin's recorded group replaces the manual one as a unit (what the decoder read from the bytes)…
      started_at: fit.started_at,
      duration_s: fit.duration_s,
      distance_m: fit.distance_m,
      elevation_gain_m: fit.elevation_gain_m,
      avg_heart_rate: fit.avg_heart_rate,
      route_polyline: fit.route_polyline,
      gps_source: 'garmin',
      // …the runner's own words stay, and the activity now points at its file.
      title: 'Sunday long run',
      notes: 'Felt strong after the hill',
      perceived_effort: 6,
      upload_id: uploadId,
      _status: 'synced',
    });
    expect(fit.distance_m).not.toBe(manual.distance_m);
    expect(fit.route_polyline).toEqual(expect.any(String));
    expect(after.activities).toHaveLength(1);
    expect(after.uploads).toEqual([
      expect.objectContaining({ id: uploadId, kind: 'fit', content_type: FIT_TYPE, size_bytes: bytes.length, activity_id: activityId, status: 'processed', error: null, _status: 'synced' }),
    ]);
    expect(await phone.hasUnsyncedChanges()).toBe(false);
    expect(withoutBookkeeping(after)).toEqual(await serverSnapshot(s, user));

    // The manual values Garmin replaced are in the conflict log, not lost.
    expect(await api.conflicts()).toEqual([
      expect.objectContaining({
        table: 'activities',
        record_id: activityId,
        rule: 'activity-recorded-source-priority',
        losing: expect.objectContaining({ distance_m: 8800, duration_s: 2700, gps_source: 'manual', route_polyline: manual.route_polyline }),
      }),
    ]);

    // At least once: S3 delivers the event again (the same bytes POSTed again, then a replayed event).
    expect((await postUpload(form.url, form.fields, bytes)).status).toBe(204);
    expect(await s.uploadsSettled()).toEqual([{ outcome: 'duplicate', uploadId }]);
    const key = `users/${user}/fit/${uploadId}.fit`;
    const replay = { Records: [{ eventName: 'ObjectCreated:Post', s3: { bucket: { name: s.uploadsBucket }, object: { key } } }] } as unknown as S3Event;
    expect((await createFitProcessHandler(s.runtime)(replay, lambdaContext('fit-process', 60_000))).results).toEqual([{ outcome: 'duplicate', uploadId }]);

    await phone.sync();
    expect(await phone.snapshot()).toEqual(after);
    const server = await serverSnapshot(s, user);
    expect(server.activities.map((a) => a.id)).toEqual([activityId]);
    expect(server.uploads.map((u) => u.id)).toEqual([uploadId]);

    // A second device of the runner, offline until now, gets the same state on its first sync.
    const tablet = await openDevice(s, user, 'tablet');
    await tablet.sync();
    expect(withoutBookkeeping(await tablet.snapshot())).toEqual(withoutBookkeeping(after));
  });

  it('a FIT uploaded without activity_id → a new activity `fit-<upload_id>` appears on the device', async () => {
    const s = stack();
    const user = uniqueUser('ride');
    const phone = await openDevice(s, user, 'phone');
    await phone.sync();
    const bytes = fixture('FITfileR/tomtom-runner3-ride.fit');
    const fit = decoded(bytes);

    const { uploadId } = await upload(user, bytes);
    const activityId = activityIdForUpload(uploadId);
    expect(activityId).toBe(`fit-${uploadId}`);
    expect(await s.uploadsSettled()).toEqual([{ outcome: 'processed', uploadId, activityId, activity: 'create' }]);

    await phone.sync();
    const snap = await phone.snapshot();
    expect(snap.activities).toEqual([
      { id: activityId, ...fit, title: null, notes: null, perceived_effort: null, upload_id: uploadId, created_at: expect.any(Number), updated_at: expect.any(Number), _status: 'synced', _changed: '' },
    ]);
    expect(find(snap, 'uploads', uploadId)).toMatchObject({ status: 'processed', error: null, activity_id: activityId });
    expect(withoutBookkeeping(snap)).toEqual(await serverSnapshot(s, user));
  });

  it('download: the owner gets the bytes back; another user gets 404 and sees nothing on sync', async () => {
    const s = stack();
    const alice = uniqueUser('alice');
    const bytes = fixture('python-fitparse/Activity.fit');
    const { api, uploadId } = await upload(alice, bytes);
    await s.uploadsSettled();

    const own = await api.request('GET', `/api/v1/uploads/${uploadId}/url`);
    expect(own.status).toBe(200);
    expect(new Uint8Array(await (await fetch(own.body.url)).arrayBuffer())).toEqual(bytes);

    const bob = uniqueUser('bob');
    const bobApi = apiAs(s, await s.token(bob));
    const foreign = await bobApi.request('GET', `/api/v1/uploads/${uploadId}/url`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    const bobDevice = await openDevice(s, bob, 'bob-phone');
    await bobDevice.sync();
    const bobSnap = await bobDevice.snapshot();
    expect(bobSnap.uploads).toEqual([]);
    expect(bobSnap.activities).toEqual([]);
  });

  it('a corrupt file → the device sees its upload go from pending to failed, with the reason', async () => {
    const s = stack();
    const user = uniqueUser('corrupt');
    const phone = await openDevice(s, user, 'phone');
    const bytes = fixture('derived/bitflip-in-record-payload.fit');
    const expected = decodeFitActivity(bytes);
    if (expected.ok) throw new Error('fixture decodes');

    const api = apiAs(s, await s.token(user));
    const created = await api.request('POST', '/api/v1/uploads', { kind: 'fit', content_type: FIT_TYPE, size_bytes: bytes.length, sha256: sha256(bytes) });
    expect(created.status).toBe(201);
    const uploadId = created.body.upload_id as string;
    await phone.sync();
    expect(find(await phone.snapshot(), 'uploads', uploadId)).toMatchObject({ status: 'pending', error: null });

    expect((await postUpload(created.body.url, created.body.fields, bytes)).status).toBe(204);
    expect(await s.uploadsSettled()).toEqual([{ outcome: 'failed', uploadId, reason: expected.error.message }]);
    await phone.sync();
    const snap = await phone.snapshot();
    expect(find(snap, 'uploads', uploadId)).toMatchObject({ status: 'failed', error: expected.error.message, activity_id: null, _status: 'synced' });
    expect(expected.error.message).toMatch(/^[A-Z].{10,}\.$/);
    expect(snap.activities).toEqual([]);
  });
});
