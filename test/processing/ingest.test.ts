/**
 * The S3-event handler (`fit-process`) over real engines: the sync store on dynalite and the
 * uploads bucket on s3rver, each private to this file. Uploads are presigned by the upload
 * service and POSTed as multipart forms, exactly as a phone sends them; the handler is invoked
 * with the S3 event S3 would send (s3rver's own events are not wired here, so every invocation,
 * duplicate and retry is the test's own).
 *
 * s3rver stores what it is sent without checking the POST policy (test/support/s3.ts): that is
 * how the tests get a file that differs from its declared size or SHA-256 into the bucket.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { createS3Client } from '../../lambdas/adapters/s3/client.js';
import { S3UploadObjects } from '../../lambdas/adapters/s3/upload-objects.js';
import { loadConfig } from '../../lambdas/config.js';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { ThrottledError } from '../../lambdas/core/errors.js';
import { pullChanges } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import type { StoredRecord } from '../../lambdas/core/records.js';
import { tableDef, type RecordData } from '../../lambdas/core/schema.js';
import { applyServerWrite } from '../../lambdas/core/server-write.js';
import type { SyncStore } from '../../lambdas/core/store.js';
import { createUpload } from '../../lambdas/core/upload-service.js';
import { uploadLimits, uploadObjectKey, type UploadKind } from '../../lambdas/core/uploads.js';
import { decodeFitActivity } from '../../lambdas/fit/index.js';
import { createFitProcessHandler } from '../../lambdas/handlers/fit-process.js';
import { activityIdForUpload, ingestUploadedObject, type IngestDeps } from '../../lambdas/processing/ingest-upload.js';
import { createRuntime, SERVICE_NAME, type Runtime } from '../../lambdas/runtime.js';
import { lambdaContext } from '../../local/lambda-event.js';
import { FIT_TYPE, fixture, RUN, sha256, SHARED_FIXTURES_DIR } from '../fit/support/fixtures.js';
import { pullDeps, pushDeps, serverState, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { DelegatingStore } from '../support/faulty-store.js';
import { activityRaw, pushBody } from '../support/records.js';
import { postUpload, useS3rver } from '../support/s3.js';

const dynamo = useSyncTable();
const s3 = useS3rver('ingest');

const TEMPORARY = 'Processing hit a temporary error; it is retried automatically (twice), and if it still fails, this status stays. Upload the file again to retry later.';

/** Delegates to the real store; counts record writes; throws a queued fault at a matching write. */
class FaultyStore extends DelegatingStore {
  readonly writes: StoredRecord[] = [];
  private readonly faults: { match: (r: StoredRecord) => boolean; error: Error }[] = [];
  /** The next write `match` accepts throws `error` instead (once). */
  failOnce(match: (r: StoredRecord) => boolean, error: Error) {
    this.faults.push({ match, error });
  }
  override async putRecord(u: string, r: StoredRecord, expected: number | null) {
    const i = this.faults.findIndex((f) => f.match(r));
    if (i >= 0) throw this.faults.splice(i, 1)[0]!.error;
    await super.putRecord(u, r, expected);
    this.writes.push(r);
  }
  writesOf(table: string, id: string) {
    return this.writes.filter((w) => w.table === table && w.id === id);
  }
}

interface Harness {
  readonly store: FaultyStore;
  readonly rt: Runtime;
  readonly handler: ReturnType<typeof createFitProcessHandler>;
}

function harness(options: { s3Client?: S3Client; env?: Record<string, string> } = {}): Harness {
  const { db, tableName, store: inner } = dynamo();
  const store = new FaultyStore(inner);
  const config = loadConfig({ TABLE_NAME: tableName, CURSOR_SECRET: 'c'.repeat(32), UPLOADS_BUCKET: s3().bucket, S3_ENDPOINT: s3().endpoint, ...options.env });
  const metrics = new Metrics({ namespace: 'RunningCoachSync', serviceName: SERVICE_NAME });
  metrics.setThrowOnEmptyMetrics(false);
  const uploads = new S3UploadObjects(options.s3Client ?? s3().client, s3().bucket);
  const rt = createRuntime(config, { db, store, uploads, logger: new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' }), metrics });
  return { store, rt, handler: createFitProcessHandler(rt) };
}

let shared: Harness | undefined;
const h = () => (shared ??= harness());

/** The S3 event S3 sends for new objects (keys URL-encoded as S3 does; ours need no encoding). */
const s3Event = (...keys: string[]) =>
  ({ Records: keys.map((key) => ({ eventSource: 'aws:s3', eventName: 'ObjectCreated:Post', s3: { bucket: { name: s3().bucket }, object: { key, size: 0 } } })) }) as unknown as S3Event;
const run = (hx: Harness, ...keys: string[]) => hx.handler(s3Event(...keys), lambdaContext('fit-process', 60_000));

/** Presigns through the upload service (a real `uploads` record) and POSTs `sent` with the form. */
async function presignAndPost(hx: Harness, user: string, declared: Uint8Array, o: { sent?: Uint8Array | null; kind?: UploadKind; contentType?: string; activityId?: string } = {}) {
  const kind = o.kind ?? 'fit';
  const body = {
    kind,
    content_type: o.contentType ?? FIT_TYPE,
    size_bytes: declared.length,
    sha256: sha256(declared),
    ...(o.activityId ? { activity_id: o.activityId } : {}),
  };
  const deps = { store: hx.rt.store, objects: hx.rt.uploads!, now: Date.now, config: hx.rt.config.push, limits: uploadLimits(hx.rt.config.uploads.maxBytes) };
  const created = await createUpload(user, body, deps);
  const uploadId = created.body.upload_id;
  const key = uploadObjectKey({ userId: user, kind, uploadId });
  if (o.sent !== null) expect((await postUpload(created.body.url, created.body.fields, o.sent ?? declared)).status).toBe(204);
  return { uploadId, key, form: created.body };
}

/** An `uploads` record written directly (for what the API refuses to presign, e.g. 0 bytes). */
async function stageDirectly(hx: Harness, user: string, bytes: Uint8Array, o: { put?: boolean; kind?: UploadKind } = {}) {
  const kind = o.kind ?? 'fit';
  const uploadId = `direct${randomUUID().slice(0, 8)}`;
  const values = { kind, content_type: kind === 'fit' ? FIT_TYPE : 'image/png', size_bytes: bytes.length, activity_id: null, status: 'pending', error: null };
  await applyServerWrite(user, { source: 'upload-service', table: 'uploads', id: uploadId, values }, { store: hx.rt.store, now: Date.now, config: hx.rt.config.push });
  const key = uploadObjectKey({ userId: user, kind, uploadId });
  if (o.put !== false) await putObject(key, bytes, sha256(bytes));
  return { uploadId, key };
}

async function putObject(key: string, bytes: Uint8Array, declaredSha?: string) {
  await s3().client.send(new PutObjectCommand({ Bucket: s3().bucket, Key: key, Body: bytes, ContentType: FIT_TYPE, ...(declaredSha ? { Metadata: { sha256: declaredSha } } : {}) }));
}

const get = async (user: string, table: 'uploads' | 'activities', id: string) => (await dynamo().store.getRecords(user, [{ table, id }]))[0];

/** Problems of a stored activity against every `activities` column schema (required ones included). */
function columnProblems(data: RecordData): string[] {
  const def = tableDef('activities')!;
  const problems = Object.keys(data).filter((k) => !def.columns.some((c) => c.name === k)).map((k) => `${k}: not a column`);
  for (const c of def.columns) {
    const r = c.schema.safeParse(data[c.name]);
    if (!r.success) problems.push(`${c.name}=${JSON.stringify(data[c.name])}: ${r.error.issues.map((i) => i.message).join(', ')}`);
  }
  return problems;
}

/** A reason a runner can read: one sentence, no exception names, no internals. */
function expectReadable(reason: unknown) {
  expect(typeof reason).toBe('string');
  expect(reason as string).toMatch(/^[A-Z][^\n]{10,300}[.]$/);
  expect(reason as string).not.toMatch(/TypeError|RangeError|ReferenceError|undefined|\[object|\bat \S+ \(|@garmin|fit-file-parser/);
}

// ---------------------------------------------------------------------------------------------
// Every fixture

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
function fitFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return fitFiles(path);
      return name.endsWith('.fit') ? [path] : [];
    })
    .sort();
}
const LOCAL_DIR = join(repoRoot, 'test/fixtures/fit');
const sharedPresent = existsSync(SHARED_FIXTURES_DIR);
const cases = [
  ...fitFiles(LOCAL_DIR).map((p) => [`test/fixtures/fit/${relative(LOCAL_DIR, p)}`, p] as const),
  ...(sharedPresent ? fitFiles(SHARED_FIXTURES_DIR).map((p) => [`shared/${relative(SHARED_FIXTURES_DIR, p)}`, p] as const) : []),
];
const split = { processed: [] as string[], failed: [] as string[] };

describe('the handler on every FIT fixture: processed with a valid activity, or failed with a readable reason, as decodeFitActivity says', () => {
  it('finds the fixtures (local always; the shared set when present)', () => {
    expect(cases.filter(([name]) => name.startsWith('test/')).length).toBeGreaterThanOrEqual(28);
    if (sharedPresent) expect(cases.filter(([name]) => name.startsWith('shared/')).length).toBeGreaterThanOrEqual(59);
    else console.warn(`shared FIT fixtures not found at ${SHARED_FIXTURES_DIR}: only test/fixtures/fit runs`);
  });

  it.each(cases)('%s', async (name, path) => {
    const hx = h();
    const bytes = new Uint8Array(readFileSync(path));
    const expected = decodeFitActivity(bytes);
    const user = uniqueUser('fx');
    // The API never presigns 0 bytes (content-length-range ≥ 1); the processor still must cope.
    const { uploadId, key } = bytes.length > 0 ? await presignAndPost(hx, user, bytes) : await stageDirectly(hx, user, bytes);
    const activityId = activityIdForUpload(uploadId);

    const { results } = await run(hx, key); // never throws for any file
    const upload = await get(user, 'uploads', uploadId);
    const activity = await get(user, 'activities', activityId);
    if (expected.ok) {
      split.processed.push(name);
      expect(results).toEqual([{ outcome: 'processed', uploadId, activityId, activity: 'create' }]);
      expect(upload?.data).toMatchObject({ status: 'processed', error: null, activity_id: activityId });
      expect(activity?.data).toEqual({ ...expected.activity, title: null, notes: null, perceived_effort: null, upload_id: uploadId });
      expect(columnProblems(activity!.data)).toEqual([]);
    } else {
      split.failed.push(name);
      expect(results).toEqual([{ outcome: 'failed', uploadId, reason: expected.error.message }]);
      expect(upload?.data).toMatchObject({ status: 'failed', error: expected.error.message });
      expectReadable(upload?.data.error);
      expect(activity).toBeUndefined();
    }
  });

  it('the split is the one the fixtures are chosen for: real activities and broken files both', () => {
    const local = (xs: string[]) => xs.filter((n) => n.startsWith('test/'));
    expect(local(split.processed)).toContain(`test/fixtures/fit/${RUN}`);
    expect(local(split.processed)).toContain('test/fixtures/fit/python-fitparse/compressed-speed-distance.fit'); // the fallback decoder's case
    for (const broken of ['empty', 'not-a-fit-file', 'truncated-50pct', 'bitflip-in-record-payload', 'bad-header-crc', 'header-only']) {
      expect(local(split.failed)).toContain(`test/fixtures/fit/derived/${broken}.fit`);
    }
    expect(split.processed.length + split.failed.length).toBe(cases.length);
  });
});

// ---------------------------------------------------------------------------------------------
// At-least-once delivery

describe('duplicate and concurrent events', () => {
  it('a duplicate event → `duplicate`, nothing written, one activity', async () => {
    const hx = h();
    const user = uniqueUser('dup');
    const bytes = fixture(RUN);
    const { uploadId, key } = await presignAndPost(hx, user, bytes);
    expect((await run(hx, key)).results).toEqual([expect.objectContaining({ outcome: 'processed', activity: 'create' })]);
    const before = { upload: await get(user, 'uploads', uploadId), activity: await get(user, 'activities', activityIdForUpload(uploadId)), state: await serverState(dynamo().store, user) };
    const writes = hx.store.writes.length;

    expect((await run(hx, key)).results).toEqual([{ outcome: 'duplicate', uploadId }]);
    expect(hx.store.writes.length).toBe(writes);
    expect(await get(user, 'uploads', uploadId)).toEqual(before.upload);
    expect(await get(user, 'activities', activityIdForUpload(uploadId))).toEqual(before.activity);
    expect(await serverState(dynamo().store, user)).toEqual(before.state);
    expect(Object.keys(before.state.activities ?? {})).toEqual([activityIdForUpload(uploadId)]);
  });

  it('the same key twice in one event, beside another upload → processed, duplicate, processed', async () => {
    const hx = h();
    const user = uniqueUser('batch');
    const a = await presignAndPost(hx, user, fixture(RUN));
    const b = await presignAndPost(hx, user, fixture('python-fitparse/Activity.fit'));
    const { results } = await run(hx, a.key, a.key, b.key);
    expect(results.map((r) => r.outcome)).toEqual(['processed', 'duplicate', 'processed']);
    expect(Object.keys((await serverState(dynamo().store, user)).activities ?? {}).sort()).toEqual([activityIdForUpload(a.uploadId), activityIdForUpload(b.uploadId)].sort());
  });

  it('two invocations for the same object at once → one activity created, the upload processed', async () => {
    const hx = h();
    const user = uniqueUser('race');
    const bytes = fixture(RUN);
    const { uploadId, key } = await presignAndPost(hx, user, bytes);
    const outcomes = (await Promise.all([run(hx, key), run(hx, key)])).flatMap((r) => r.results);
    for (const o of outcomes) expect(['processed', 'duplicate']).toContain(o.outcome);
    expect(outcomes.filter((o) => o.outcome === 'processed' && o.activity === 'create')).toHaveLength(1);
    const state = await serverState(dynamo().store, user);
    expect(Object.keys(state.activities ?? {})).toEqual([activityIdForUpload(uploadId)]);
    expect(state.uploads?.[uploadId]).toMatchObject({ status: 'processed', error: null });
    const decoded = decodeFitActivity(bytes);
    if (!decoded.ok) throw new Error(decoded.error.message);
    expect(state.activities?.[activityIdForUpload(uploadId)]).toMatchObject({ ...decoded.activity, upload_id: uploadId });
  });
});

// ---------------------------------------------------------------------------------------------
// Events to ignore

describe('events that are not for a known upload → ignored, nothing written', () => {
  it('keys outside the layout (another prefix, kind, suffix, `..`, a space, an undecodable encoding)', async () => {
    const hx = h();
    const writes = hx.store.writes.length;
    const keys = ['other/u1/fit/abc.fit', 'users/u1/gpx/abc.gpx', 'users/u1/fit/abc.image', 'users/u1/fit/../abc.fit', 'users/u1/fit/a+b.fit', 'users/u1/fit/abc.fit/extra', 'users/%E0%A4%A/fit/abc.fit'];
    const { results } = await run(hx, ...keys);
    expect(results.map((r) => r.outcome)).toEqual(keys.map(() => 'ignored'));
    expect(results.at(-1)).toEqual({ outcome: 'ignored', reason: 'undecodable key' });
    expect(hx.store.writes.length).toBe(writes);
  });

  it('an object at a layout key with no uploads record (never presigned, or another user’s id)', async () => {
    const hx = h();
    const user = uniqueUser('norec');
    const key = uploadObjectKey({ userId: user, kind: 'fit', uploadId: 'neverPresigned1' });
    await putObject(key, fixture(RUN));
    expect((await run(hx, key)).results).toEqual([{ outcome: 'ignored', reason: 'no upload record neverPresigned1' }]);
    expect(await serverState(dynamo().store, user)).toEqual({});

    // Bob's upload id under Alice's prefix: Alice has no such record.
    const bob = uniqueUser('bob');
    const bobs = await presignAndPost(hx, bob, fixture(RUN), { sent: null });
    const forged = uploadObjectKey({ userId: user, kind: 'fit', uploadId: bobs.uploadId });
    await putObject(forged, fixture(RUN));
    expect((await run(hx, forged)).results).toEqual([{ outcome: 'ignored', reason: `no upload record ${bobs.uploadId}` }]);
    expect((await get(bob, 'uploads', bobs.uploadId))?.data.status).toBe('pending');
  });

  it('an event whose object is missing (deleted, or an event for a key never written) → ignored; the upload stays pending', async () => {
    const hx = h();
    const user = uniqueUser('noobj');
    const { uploadId, key } = await presignAndPost(hx, user, fixture(RUN), { sent: null });
    const before = await get(user, 'uploads', uploadId);
    expect((await run(hx, key)).results).toEqual([{ outcome: 'ignored', reason: `object ${key} is gone` }]);
    expect(await get(user, 'uploads', uploadId)).toEqual(before);
    expect(before?.data.status).toBe('pending');
  });

  it('a FIT key whose record is an image upload (kind mismatch) → ignored', async () => {
    const hx = h();
    const user = uniqueUser('kind');
    const { uploadId } = await stageDirectly(hx, user, fixture('python-fitparse/Activity.fit'), { kind: 'image', put: false });
    const fitKey = `users/${user}/fit/${uploadId}.fit`;
    await putObject(fitKey, fixture('python-fitparse/Activity.fit'));
    expect((await run(hx, fitKey)).results).toEqual([{ outcome: 'ignored', reason: `upload ${uploadId} is a image, not a fit` }]);
    expect((await get(user, 'uploads', uploadId))?.data.status).toBe('pending');
  });
});

// ---------------------------------------------------------------------------------------------
// Integrity and ownership failures

describe('files that do not match their upload → failed with the reason, no activity', () => {
  it('a file whose SHA-256 differs from the declared one (a valid FIT, but not the declared file; s3rver does not check x-amz-checksum-sha256)', async () => {
    const hx = h();
    const user = uniqueUser('sha');
    const declared = fixture('derived/bitflip-in-record-payload.fit');
    const sent = fixture(RUN);
    expect(sent.length).toBe(declared.length);
    const { uploadId, key, form } = await presignAndPost(hx, user, declared, { sent });
    const reason = "The file's SHA-256 does not match the one declared when the upload started; it was changed or damaged. Upload it again.";
    expect((await run(hx, key)).results).toEqual([{ outcome: 'failed', uploadId, reason }]);
    expect((await get(user, 'uploads', uploadId))?.data).toMatchObject({ status: 'failed', error: reason });
    expect(await get(user, 'activities', activityIdForUpload(uploadId))).toBeUndefined();

    // A failure is not terminal for the key: the declared file sent again with the same form is processed (here: as the bad-CRC file it is).
    expect((await postUpload(form.url, form.fields, declared)).status).toBe(204);
    const expected = decodeFitActivity(declared);
    if (expected.ok) throw new Error('the bit-flipped fixture decodes');
    expect((await run(hx, key)).results).toEqual([{ outcome: 'failed', uploadId, reason: expected.error.message }]);
  });

  it('a failed upload is processed when the right bytes arrive at its key', async () => {
    const hx = h();
    const user = uniqueUser('redo');
    const right = fixture(RUN);
    const wrong = fixture('derived/bitflip-in-record-payload.fit');
    const { uploadId, key, form } = await presignAndPost(hx, user, right, { sent: wrong });
    expect((await run(hx, key)).results).toEqual([expect.objectContaining({ outcome: 'failed' })]);
    expect((await postUpload(form.url, form.fields, right)).status).toBe(204);
    expect((await run(hx, key)).results).toEqual([{ outcome: 'processed', uploadId, activityId: activityIdForUpload(uploadId), activity: 'create' }]);
    expect((await get(user, 'uploads', uploadId))?.data).toMatchObject({ status: 'processed', error: null });
  });

  it('a file larger or smaller than its declared size (s3rver does not enforce content-length-range) → failed, the file not decoded', async () => {
    const hx = h();
    const user = uniqueUser('size');
    const bytes = fixture(RUN);
    for (const sent of [bytes.subarray(0, bytes.length - 1), new Uint8Array([...bytes, 0, 0, 0])]) {
      const { uploadId, key } = await presignAndPost(hx, user, bytes, { sent });
      const reason = `The file has ${sent.length} bytes but ${bytes.length} were declared; upload it again.`;
      expect((await run(hx, key)).results).toEqual([{ outcome: 'failed', uploadId, reason }]);
      // Refused on HeadObject alone: it never went to `processing`.
      expect(hx.store.writesOf('uploads', uploadId).map((w) => w.data.status)).toEqual(['pending', 'failed']);
      expect(await get(user, 'activities', activityIdForUpload(uploadId))).toBeUndefined();
    }
  });

  it('an object over the processor’s FIT limit → failed on HeadObject, never read into memory', async () => {
    const hx = h();
    const user = uniqueUser('huge');
    const bytes = fixture(RUN);
    const { uploadId, key } = await stageDirectly(hx, user, bytes);
    let reads = 0;
    const objects = hx.rt.uploads!;
    const deps: IngestDeps = {
      store: hx.rt.store,
      objects: { presignUpload: (i) => objects.presignUpload(i), presignDownload: (i) => objects.presignDownload(i), head: (k) => objects.head(k), read: (k, m) => (reads++, objects.read(k, m)) },
      now: Date.now,
      config: hx.rt.config.push,
      maxBytes: { fit: 100 * 1024, image: 1024 },
      decodeFit: () => {
        throw new Error('must not decode');
      },
      sha256Hex: sha256,
      recordings: hx.rt.recordings,
    };
    const reason = 'The file is larger than the 102,400-byte limit.';
    expect(await ingestUploadedObject(key, deps)).toEqual({ outcome: 'failed', uploadId, reason });
    expect(reads).toBe(0);
    expect((await get(user, 'uploads', uploadId))?.data).toMatchObject({ status: 'failed', error: reason });
    // With a limit in megabytes the reason says so (the limit is configurable: FIT_MAX_BYTES).
    const big = new Uint8Array(1.5 * 1024 * 1024);
    const staged = await stageDirectly(hx, user, big);
    const mb = { ...deps, maxBytes: { fit: 1024 * 1024, image: 1024 } };
    expect(await ingestUploadedObject(staged.key, mb)).toEqual({ outcome: 'failed', uploadId: staged.uploadId, reason: 'The file is larger than the 1 MB limit.' });
    expect(reads).toBe(0);
  });

  it('an upload naming an activity that was deleted before the file arrived → failed; the activity stays deleted', async () => {
    const hx = h();
    const user = uniqueUser('deleted');
    const activityId = `act-${randomUUID().slice(0, 8)}`;
    const push = async (changes: Parameters<typeof pushBody>[0], lastPulledAt: number | null) =>
      pushChanges(user, parsePushBody(pushBody(changes, lastPulledAt)), pushDeps(hx.rt.store));
    await push({ activities: { created: [activityRaw(activityId, { notes: 'manual' })] } }, null);
    const { uploadId, key } = await presignAndPost(hx, user, fixture(RUN), { activityId, sent: null });
    const { timestamp } = await pullChanges(user, { lastPulledAt: null, schemaVersion: 1, migration: null }, pullDeps(hx.rt.store));
    await push({ activities: { deleted: [activityId] } }, timestamp);
    const tombstone = await get(user, 'activities', activityId);
    expect(tombstone?.deleted_at).not.toBeNull();

    const form = await createUpload(user, { kind: 'fit', content_type: FIT_TYPE, size_bytes: fixture(RUN).length, sha256: sha256(fixture(RUN)), activity_id: activityId, upload_id: uploadId }, {
      store: hx.rt.store,
      objects: hx.rt.uploads!,
      now: Date.now,
      config: hx.rt.config.push,
      limits: uploadLimits(hx.rt.config.uploads.maxBytes),
    }).catch((e: Error) => e);
    // Presigning again now refuses the deleted activity…
    expect(form).toMatchObject({ name: 'NotFoundError' });
    // …but the form handed out before the delete still uploads.
    await putObject(key, fixture(RUN), sha256(fixture(RUN)));
    const reason = 'The activity was deleted before the file was processed; nothing was imported.';
    expect((await run(hx, key)).results).toEqual([{ outcome: 'failed', uploadId, reason }]);
    expect(await get(user, 'activities', activityId)).toEqual(tombstone);
    expect((await get(user, 'uploads', uploadId))?.data).toMatchObject({ status: 'failed', error: reason, activity_id: activityId });
    expect(await get(user, 'activities', activityIdForUpload(uploadId))).toBeUndefined();
  });

  it('an upload naming a live manual activity → Garmin data merged into it (user columns kept, manual values to the conflict log)', async () => {
    const hx = h();
    const user = uniqueUser('merge');
    const activityId = `act-${randomUUID().slice(0, 8)}`;
    const manual = activityRaw(activityId, { title: 'Long run', notes: 'legs heavy', perceived_effort: 7, route_polyline: '_p~iF~ps|U' });
    await pushChanges(user, parsePushBody(pushBody({ activities: { created: [manual] } }, null)), pushDeps(hx.rt.store));
    const bytes = fixture(RUN);
    const { uploadId, key } = await presignAndPost(hx, user, bytes, { activityId });
    expect((await run(hx, key)).results).toEqual([{ outcome: 'processed', uploadId, activityId, activity: 'update' }]);
    const decoded = decodeFitActivity(bytes);
    if (!decoded.ok) throw new Error(decoded.error.message);
    const { id: _id, ...manualValues } = manual;
    expect((await get(user, 'activities', activityId))?.data).toEqual({ ...manualValues, ...decoded.activity, sport: manual.sport, upload_id: uploadId });
    expect((await get(user, 'uploads', uploadId))?.data).toMatchObject({ status: 'processed', activity_id: activityId });
    const { entries } = await hx.rt.store.listConflicts(user, { since: 0, limit: 10 });
    expect(entries).toEqual([
      expect.objectContaining({ table: 'activities', record_id: activityId, rule: 'activity-recorded-source-priority', losing: expect.objectContaining({ distance_m: manual.distance_m, gps_source: 'manual' }) }),
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Transient faults: the handler throws (Lambda retries, then the DLQ), the record says so

describe('transient faults → the handler throws, the upload says failed/temporary, a re-run succeeds', () => {
  it('DynamoDB throttles the activity write once', async () => {
    const hx = h();
    const user = uniqueUser('thr');
    const { uploadId, key } = await presignAndPost(hx, user, fixture(RUN));
    hx.store.failOnce((r) => r.table === 'activities' && r.id === activityIdForUpload(uploadId), new ThrottledError('Rate of requests exceeds the allowed throughput'));
    await expect(run(hx, key)).rejects.toBeInstanceOf(ThrottledError);
    expect((await get(user, 'uploads', uploadId))?.data).toMatchObject({ status: 'failed', error: TEMPORARY });
    expect(await get(user, 'activities', activityIdForUpload(uploadId))).toBeUndefined();

    expect((await run(hx, key)).results).toEqual([{ outcome: 'processed', uploadId, activityId: activityIdForUpload(uploadId), activity: 'create' }]);
    expect((await get(user, 'uploads', uploadId))?.data).toMatchObject({ status: 'processed', error: null });
  });

  it('DynamoDB throttles the write that records a failure: the record is not left in `processing`', async () => {
    const hx = h();
    const user = uniqueUser('thrfail');
    const corrupt = fixture('derived/truncated-50pct.fit');
    const { uploadId, key } = await presignAndPost(hx, user, corrupt);
    hx.store.failOnce((r) => r.table === 'uploads' && r.id === uploadId && r.data.status === 'failed', new ThrottledError('throttled'));
    await expect(run(hx, key)).rejects.toBeInstanceOf(ThrottledError);
    expect((await get(user, 'uploads', uploadId))?.data).toMatchObject({ status: 'failed', error: TEMPORARY });

    const expected = decodeFitActivity(corrupt);
    if (expected.ok) throw new Error('the truncated fixture decodes');
    expect((await run(hx, key)).results).toEqual([{ outcome: 'failed', uploadId, reason: expected.error.message }]);
    expect((await get(user, 'uploads', uploadId))?.data).toMatchObject({ status: 'failed', error: expected.error.message });
  });

  it('an unexpected store error (not a SyncError) is treated as transient too', async () => {
    const hx = h();
    const user = uniqueUser('boom');
    const { uploadId, key } = await presignAndPost(hx, user, fixture(RUN));
    hx.store.failOnce((r) => r.table === 'uploads' && r.id === uploadId && r.data.status === 'processing', new TypeError('socket hang up'));
    await expect(run(hx, key)).rejects.toThrow('socket hang up');
    expect((await get(user, 'uploads', uploadId))?.data).toMatchObject({ status: 'failed', error: TEMPORARY });
    expect((await run(hx, key)).results).toEqual([expect.objectContaining({ outcome: 'processed', uploadId })]);
  });

  it('S3 answers GetObject with 503 SlowDown once (aws-sdk-client-mock in front of s3rver)', async () => {
    const client = createS3Client({ endpoint: s3().endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const realSend = client.send.bind(client) as (c: unknown) => Promise<unknown>;
    const mock = mockClient(client);
    try {
      mock.on(HeadObjectCommand).callsFake((input) => realSend(new HeadObjectCommand(input)));
      mock
        .on(GetObjectCommand)
        .rejectsOnce(Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }))
        .callsFake((input) => realSend(new GetObjectCommand(input)));
      const hx = harness({ s3Client: client });
      const user = uniqueUser('slow');
      const { uploadId, key } = await presignAndPost(hx, user, fixture(RUN));
      await expect(run(hx, key)).rejects.toBeInstanceOf(ThrottledError);
      expect((await get(user, 'uploads', uploadId))?.data).toMatchObject({ status: 'failed', error: TEMPORARY });
      expect((await run(hx, key)).results).toEqual([{ outcome: 'processed', uploadId, activityId: activityIdForUpload(uploadId), activity: 'create' }]);
      expect(mock.commandCalls(GetObjectCommand)).toHaveLength(2);
    } finally {
      mock.restore();
      client.destroy();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Images

describe('images', () => {
  it('an image upload → processed once its object exists (no transformation, no activity); before that, ignored', async () => {
    const hx = h();
    const user = uniqueUser('img');
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
    const { uploadId, key, form } = await presignAndPost(hx, user, png, { kind: 'image', contentType: 'image/png', sent: null });
    expect(key).toBe(`users/${user}/image/${uploadId}.image`);
    expect((await run(hx, key)).results).toEqual([{ outcome: 'ignored', reason: `object ${key} is gone` }]);
    expect((await postUpload(form.url, form.fields, png)).status).toBe(204);
    expect((await run(hx, key)).results).toEqual([{ outcome: 'processed', uploadId }]);
    expect((await get(user, 'uploads', uploadId))?.data).toMatchObject({ kind: 'image', status: 'processed', error: null, activity_id: null });
    expect((await serverState(dynamo().store, user)).activities).toBeUndefined();
    const stored = await s3().client.send(new GetObjectCommand({ Bucket: s3().bucket, Key: key }));
    expect(await stored.Body!.transformToByteArray()).toEqual(png);
    expect((await run(hx, key)).results).toEqual([{ outcome: 'duplicate', uploadId }]);
  });
});
