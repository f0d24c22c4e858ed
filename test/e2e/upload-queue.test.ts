/**
 * End to end: the client's upload queue (`createUploadQueue`) over a real WatermelonDB database,
 * against the local stack (API + s3rver + the FIT processor on s3rver's events). Faults are
 * injected by wrapping `fetch`; an app "killed" mid-flight is a queue that is stopped (it writes
 * nothing more) and a new queue over the same database.
 *
 * "Exactly once" is checked where it shows: one `uploads` record and one activity per file on
 * the server and on the device, and one object-created event per file (each send to S3 fires
 * one, so a file sent twice would be processed twice).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createUploadQueue, type UploadFetch, type UploadJob, type UploadQueueEvent, type UploadQueueOptions } from '../../client/index.js';
import { activityIdForUpload } from '../../lambdas/core/uploads.js';
import { decodeFitActivity, type FitActivitySummary } from '../../lambdas/fit/index.js';
import type { IngestOutcome } from '../../lambdas/processing/ingest-upload.js';
import { fixture } from '../fit/support/fixtures.js';
import { syntheticRun } from '../fit/support/synthetic.js';
import { uniqueUser } from '../support/dynamo.js';
import { apiAs, useLocalStack } from '../support/stack.js';
import { failOnSyncDiagnostics } from './support/diagnostics.js';
import { openDevice, type Device } from './support/devices.js';
import { serverSnapshot } from './support/server.js';

const FIT_TYPE = 'application/vnd.ant.fit';
/** The stack's FIT limit here: small, so that a file over it is cheap to make. */
const FIT_LIMIT = 1024 * 1024;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
function decoded(bytes: Uint8Array): FitActivitySummary {
  const r = decodeFitActivity(bytes);
  if (!r.ok) throw new Error(`fixture does not decode: ${r.error.message}`);
  return r.activity;
}

/** What the wrapping fetch saw: upload ids presigned, and upload ids whose file went to S3. */
interface Traffic {
  readonly presigned: string[];
  readonly sent: string[];
}
type Request = { readonly url: string; readonly init: Parameters<UploadFetch>[1]; readonly kind: 'presign' | 'storage' | 'other'; readonly uploadId: string | undefined };
/** Returns a response to answer with instead of the network, or undefined to pass the request on. */
type Fault = (req: Request, n: { presign: number; storage: number }) => Promise<Response | undefined> | Response | undefined;

function wrappedFetch(fault?: Fault): { fetch: UploadFetch; traffic: Traffic } {
  const traffic: Traffic = { presigned: [], sent: [] };
  const counts = { presign: 0, storage: 0 };
  const wrapped: UploadFetch = async (url, init) => {
    const storage = typeof FormData !== 'undefined' && init.body instanceof FormData;
    const kind = storage ? 'storage' : new URL(url).pathname === '/api/v1/uploads' ? 'presign' : 'other';
    const uploadId =
      kind === 'presign'
        ? (JSON.parse(init.body as string) as { upload_id: string }).upload_id
        : kind === 'storage'
          ? /\/([^/]+)\.(fit|image)$/.exec(String((init.body as FormData).get('key')))?.[1]
          : undefined;
    if (kind === 'presign') counts.presign++;
    if (kind === 'storage') counts.storage++;
    const injected = await fault?.({ url, init, kind, uploadId }, { ...counts });
    if (injected) return injected;
    if (kind === 'presign') traffic.presigned.push(uploadId!);
    if (kind === 'storage') traffic.sent.push(uploadId!);
    return globalThis.fetch(url, init as RequestInit);
  };
  return { fetch: wrapped, traffic };
}

const offline: UploadFetch = () => Promise.reject(new TypeError('Network request failed'));
/** A request that never gets an answer (until the queue cancels it). */
const hang = (init: Parameters<UploadFetch>[1]) =>
  new Promise<Response>((_, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
const s3Error = (status: number, code: string, message: string) =>
  new Response(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`, { status, headers: { 'content-type': 'application/xml' } });
const apiError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ error: { code, message } }), { status, headers: { 'content-type': 'application/json', ...headers } });

/** `node:fs` as the app's file reader (a missing file rejects with ENOENT). */
const readFromDisk = (uri: string) => readFile(uri);

/** Resolves with the first value `pick` returns for an event (no polling, no sleeps). */
function nextEvent<T>(subscribe: (l: (e: UploadQueueEvent) => void) => () => void, pick: (e: UploadQueueEvent) => T | undefined): Promise<T> {
  return new Promise((resolve) => {
    const off = subscribe((e) => {
      const v = pick(e);
      if (v !== undefined) {
        off();
        resolve(v);
      }
    });
  });
}

describe('e2e: the client upload queue', () => {
  const stack = useLocalStack({ env: { FIT_MAX_BYTES: String(FIT_LIMIT) } });
  failOnSyncDiagnostics();
  const dir = mkdtempSync(join(tmpdir(), 'upload-queue-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Each test starts with no S3 event of an earlier test in its outcomes.
  beforeEach(async () => {
    await stack().uploadsSettled();
  });

  let fileCounter = 0;
  /** Writes `bytes` to the "app's document directory" and returns its URI. */
  function saveFile(bytes: Uint8Array, name = `run-${++fileCounter}.fit`): string {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  }

  async function device(label: string): Promise<{ user: string; phone: Device }> {
    const user = uniqueUser(label);
    return { user, phone: await openDevice(stack(), user, label) };
  }

  function queueOn(phone: Device, user: string, options: Partial<UploadQueueOptions> = {}) {
    return createUploadQueue({
      database: phone.database,
      baseUrl: stack().url,
      getToken: () => stack().token(user),
      readFile: readFromDisk,
      autoStart: false,
      ...options,
    });
  }

  /** The S3 events processed since the last call, per upload id. */
  async function eventsPerUpload(): Promise<Map<string, IngestOutcome[]>> {
    const byUpload = new Map<string, IngestOutcome[]>();
    for (const o of await stack().uploadsSettled()) {
      if (!('uploadId' in o)) throw new Error(`unexpected S3 event outcome ${JSON.stringify(o)}`);
      byUpload.set(o.uploadId, [...(byUpload.get(o.uploadId) ?? []), o]);
    }
    return byUpload;
  }

  /** The job uploaded, its file stored and processed once, its record and activity there once. */
  async function expectUploadedOnce(user: string, job: UploadJob, bytes: Uint8Array) {
    expect(job).toMatchObject({ status: 'uploaded', error: null, nextAttemptAt: null, sizeBytes: bytes.length });
    const server = await serverSnapshot(stack(), user);
    expect(server.uploads.filter((u) => u.id === job.uploadId)).toEqual([expect.objectContaining({ status: 'processed', error: null, size_bytes: bytes.length })]);
    const fit = decoded(bytes);
    expect(server.activities.filter((a) => a.upload_id === job.uploadId)).toEqual([
      expect.objectContaining({ id: activityIdForUpload(job.uploadId), gps_source: 'garmin', started_at: fit.started_at, duration_s: fit.duration_s, distance_m: fit.distance_m }),
    ]);
  }

  it('offline: five FIT files wait with a reason; a new queue over the same database uploads each exactly once; sync brings five processed uploads and their Garmin activities', async () => {
    const { user, phone } = await device('offline');
    const files = [fixture('python-fitparse/activity-small-fenix2-run.fit'), ...[1, 2, 3, 4].map((i) => syntheticRun({ seconds: 1200 + i * 300, start: new Date(Date.UTC(2024, 4, i, 6)) }))]; // four runs, four days: distinct recordings
    const uris = files.map((b) => saveFile(b));

    const first = queueOn(phone, user, { fetch: offline });
    const ids: string[] = [];
    for (const uri of uris) ids.push(await first.enqueue({ uri, kind: 'fit', contentType: FIT_TYPE }));
    await first.resume();
    const waiting = await first.jobs();
    expect(waiting.map((j) => j.id)).toEqual(ids);
    for (const job of waiting) {
      expect(job).toMatchObject({ status: 'pending', kind: 'fit', activityId: null });
      expect(job.attempts).toBeGreaterThanOrEqual(1);
      expect(job.error).toMatch(/no connection to the server.*Network request failed/);
      expect(job.nextAttemptAt).toBeGreaterThan(job.updatedAt);
    }
    first.stop(); // the app is killed

    // The app starts again with the network back; the default queue starts on its own too.
    const { fetch, traffic } = wrappedFetch();
    const second = queueOn(phone, user, { fetch, autoStart: true });
    await second.resume();
    const done = await second.jobs();
    expect(done.map((j) => j.status)).toEqual(Array(5).fill('uploaded'));
    const uploadIds = done.map((j) => j.uploadId);
    expect(new Set(uploadIds).size).toBe(5);
    expect(traffic.sent.sort()).toEqual([...uploadIds].sort());
    second.stop();

    const events = await eventsPerUpload();
    expect([...events.keys()].sort()).toEqual([...uploadIds].sort());
    for (const outcomes of events.values()) expect(outcomes).toEqual([expect.objectContaining({ outcome: 'processed' })]);
    for (const [i, job] of done.entries()) await expectUploadedOnce(user, job, files[i]!);

    // The device learns everything from sync alone.
    await phone.sync();
    const local = await phone.snapshot();
    expect(local.uploads.map((u) => u.id).sort()).toEqual([...uploadIds].sort());
    for (const u of local.uploads) expect(u).toMatchObject({ status: 'processed', error: null, kind: 'fit' });
    expect(local.activities).toHaveLength(5);
    for (const [i, job] of done.entries()) {
      const fit = decoded(files[i]!);
      expect(local.activities.find((a) => a.upload_id === job.uploadId)).toMatchObject({
        id: activityIdForUpload(job.uploadId),
        gps_source: 'garmin',
        started_at: fit.started_at,
        duration_s: fit.duration_s,
        distance_m: fit.distance_m,
        route_polyline: fit.route_polyline,
      });
    }

    // What S3 holds is the file, byte for byte.
    const api = apiAs(stack(), await stack().token(user));
    const link = await api.request('GET', `/api/v1/uploads/${done[0]!.uploadId}/url`);
    expect(link.status).toBe(200);
    expect(sha256(new Uint8Array(await (await globalThis.fetch(link.body.url)).arrayBuffer()))).toBe(sha256(files[0]!));
  });

  describe('faults injected into fetch: each job ends uploaded exactly once', () => {
    it('a 500 on presign: pending with the server’s reason, then uploaded on the next resume', async () => {
      const { user, phone } = await device('presign-500');
      const bytes = syntheticRun({ seconds: 900 });
      const { fetch, traffic } = wrappedFetch((req, n) => (req.kind === 'presign' && n.presign === 1 ? apiError(500, 'internal_error', 'Internal server error') : undefined));
      const queue = queueOn(phone, user, { fetch });
      await queue.enqueue({ uri: saveFile(bytes), kind: 'fit', contentType: FIT_TYPE });
      await queue.resume();
      const [failedOnce] = await queue.jobs();
      expect(failedOnce).toMatchObject({ status: 'pending', attempts: 1, error: expect.stringMatching(/HTTP 500.*Internal server error/) });
      await queue.resume();
      const [job] = await queue.jobs();
      expect(job!.attempts).toBe(2);
      expect(traffic.sent).toEqual([job!.uploadId]);
      expect((await eventsPerUpload()).get(job!.uploadId)).toHaveLength(1);
      await expectUploadedOnce(user, job!, bytes);
    });

    it('a 429 with Retry-After: the next attempt waits at least that long, resume() does not', async () => {
      const { user, phone } = await device('presign-429');
      const bytes = syntheticRun({ seconds: 960 });
      const { fetch, traffic } = wrappedFetch((req, n) => (req.kind === 'presign' && n.presign === 1 ? apiError(429, 'throttled', 'Too many requests', { 'retry-after': '120' }) : undefined));
      const queue = queueOn(phone, user, { fetch });
      await queue.enqueue({ uri: saveFile(bytes), kind: 'fit', contentType: FIT_TYPE });
      await queue.resume();
      const [throttled] = await queue.jobs();
      expect(throttled).toMatchObject({ status: 'pending', error: expect.stringMatching(/HTTP 429/) });
      expect(throttled!.nextAttemptAt! - throttled!.updatedAt).toBeGreaterThanOrEqual(120_000);
      await queue.resume();
      const [job] = await queue.jobs();
      expect(traffic.sent).toEqual([job!.uploadId]);
      expect((await eventsPerUpload()).get(job!.uploadId)).toHaveLength(1);
      await expectUploadedOnce(user, job!, bytes);
    });

    it('the connection dropped during the upload: retried, the file stored once', async () => {
      const { user, phone } = await device('dropped');
      const bytes = syntheticRun({ seconds: 1020 });
      const { fetch, traffic } = wrappedFetch((req, n) => (req.kind === 'storage' && n.storage === 1 ? Promise.reject(new TypeError('terminated: other side closed')) : undefined));
      const queue = queueOn(phone, user, { fetch });
      await queue.enqueue({ uri: saveFile(bytes), kind: 'fit', contentType: FIT_TYPE });
      await queue.resume();
      const [interrupted] = await queue.jobs();
      expect(interrupted).toMatchObject({ status: 'pending', error: expect.stringMatching(/interrupted.*other side closed/) });
      await queue.resume();
      const [job] = await queue.jobs();
      expect(traffic.presigned).toEqual([job!.uploadId, job!.uploadId]);
      expect(traffic.sent).toEqual([job!.uploadId]);
      expect((await eventsPerUpload()).get(job!.uploadId)).toHaveLength(1);
      await expectUploadedOnce(user, job!, bytes);
    });

    it('an expired upload URL: presigned again at once, within the same attempt', async () => {
      const { user, phone } = await device('expired');
      const bytes = syntheticRun({ seconds: 1080 });
      const { fetch, traffic } = wrappedFetch((req, n) =>
        req.kind === 'storage' && n.storage === 1 ? s3Error(403, 'AccessDenied', 'Invalid according to Policy: Policy expired.') : undefined,
      );
      const queue = queueOn(phone, user, { fetch });
      await queue.enqueue({ uri: saveFile(bytes), kind: 'fit', contentType: FIT_TYPE });
      await queue.resume();
      const [job] = await queue.jobs();
      expect(job).toMatchObject({ status: 'uploaded', attempts: 1 });
      expect(traffic.presigned).toEqual([job!.uploadId, job!.uploadId]);
      expect(traffic.sent).toEqual([job!.uploadId]);
      expect((await eventsPerUpload()).get(job!.uploadId)).toHaveLength(1);
      await expectUploadedOnce(user, job!, bytes);
    });

    it('killed between presign and upload: the next queue finishes the job', async () => {
      const { user, phone } = await device('killed-presigned');
      const bytes = syntheticRun({ seconds: 1140 });
      let sending!: () => void;
      const reachedSend = new Promise<void>((resolve) => (sending = resolve));
      const first = queueOn(phone, user, {
        fetch: wrappedFetch((req, n) => {
          if (req.kind !== 'storage' || n.storage !== 1) return undefined;
          sending();
          return hang(req.init);
        }).fetch,
      });
      await first.enqueue({ uri: saveFile(bytes), kind: 'fit', contentType: FIT_TYPE });
      const abandoned = first.resume();
      await reachedSend;
      first.stop();
      await abandoned; // the cancelled send writes nothing: the job stays as the kill left it
      const [left] = await first.jobs();
      expect(left).toMatchObject({ status: 'uploading', attempts: 1 });
      expect(await eventsPerUpload()).toEqual(new Map());

      const { fetch, traffic } = wrappedFetch();
      const second = queueOn(phone, user, { fetch });
      await second.resume();
      const [job] = await second.jobs();
      expect(job).toMatchObject({ status: 'uploaded', attempts: 2, uploadId: left!.uploadId });
      expect(traffic.sent).toEqual([job!.uploadId]);
      expect((await eventsPerUpload()).get(job!.uploadId)).toHaveLength(1);
      await expectUploadedOnce(user, job!, bytes);
    });

    it('killed between upload and completion: the next queue learns the file is stored and does not send it again', async () => {
      const { user, phone } = await device('killed-sent');
      const bytes = syntheticRun({ seconds: 1200 });
      let stored!: () => void;
      const fileStored = new Promise<void>((resolve) => (stored = resolve));
      const first = queueOn(phone, user, {
        fetch: wrappedFetch(async (req) => {
          if (req.kind !== 'storage') return undefined;
          const res = await globalThis.fetch(req.url, { ...(req.init as RequestInit), signal: null });
          expect(res.status).toBe(204);
          stored(); // S3 has the file; its answer never reaches the app
          return hang(req.init);
        }).fetch,
      });
      await first.enqueue({ uri: saveFile(bytes), kind: 'fit', contentType: FIT_TYPE });
      const abandoned = first.resume();
      await fileStored;
      first.stop();
      await abandoned;
      expect((await first.jobs())[0]).toMatchObject({ status: 'uploading' });

      const { fetch, traffic } = wrappedFetch();
      const second = queueOn(phone, user, { fetch });
      await second.resume();
      const [job] = await second.jobs();
      expect(job).toMatchObject({ status: 'uploaded', attempts: 2 });
      expect(traffic.presigned).toEqual([job!.uploadId]);
      expect(traffic.sent).toEqual([]);
      expect((await eventsPerUpload()).get(job!.uploadId)).toHaveLength(1);
      await expectUploadedOnce(user, job!, bytes);
    });

    it('failures on a timer: with autoStart the queue retries by itself when the backoff ends', async () => {
      const { user, phone } = await device('timer');
      const bytes = syntheticRun({ seconds: 1260 });
      const { fetch, traffic } = wrappedFetch((req, n) => (req.kind === 'presign' && n.presign <= 2 ? apiError(503, 'service_unavailable', 'Try again') : undefined));
      const queue = queueOn(phone, user, { fetch, autoStart: true, retry: { baseDelayMs: 5, maxDelayMs: 20 } });
      const uploaded = nextEvent(queue.subscribe, (e) => (e.type === 'job' && e.job.status === 'uploaded' ? e.job : undefined));
      await queue.enqueue({ uri: saveFile(bytes), kind: 'fit', contentType: FIT_TYPE });
      const job = await uploaded;
      queue.stop();
      expect(job.attempts).toBe(3);
      expect(traffic.sent).toEqual([job.uploadId]);
      expect((await eventsPerUpload()).get(job.uploadId)).toHaveLength(1);
      await expectUploadedOnce(user, job, bytes);
    });
  });

  describe('failures that are final: failed with the reason, never retried', () => {
    async function expectNotRetried(queue: ReturnType<typeof queueOn>, traffic: Traffic) {
      const before = await queue.jobs();
      const requests = traffic.presigned.length;
      await queue.resume();
      await queue.resume();
      expect(await queue.jobs()).toEqual(before);
      expect(traffic.presigned).toHaveLength(requests);
    }

    it('a file over the size limit', async () => {
      const { user, phone } = await device('too-large');
      const { fetch, traffic } = wrappedFetch();
      const queue = queueOn(phone, user, { fetch });
      await queue.enqueue({ uri: saveFile(new Uint8Array(FIT_LIMIT + 1)), kind: 'fit', contentType: FIT_TYPE });
      await queue.resume();
      const [job] = await queue.jobs();
      expect(job).toMatchObject({ status: 'failed', attempts: 1, sizeBytes: FIT_LIMIT + 1, nextAttemptAt: null });
      expect(job!.error).toMatch(new RegExp(`HTTP 400.*size_bytes: must be at most ${FIT_LIMIT} bytes`));
      await expectNotRetried(queue, traffic);
      expect((await serverSnapshot(stack(), user)).uploads).toEqual([]);
    });

    it('a file that no longer exists', async () => {
      const { user, phone } = await device('missing');
      const { fetch, traffic } = wrappedFetch();
      let reads = 0;
      const queue = queueOn(phone, user, { fetch, readFile: (uri) => (reads++, readFromDisk(uri)) });
      const uri = join(dir, 'deleted-by-the-os.fit');
      await queue.enqueue({ uri, kind: 'fit', contentType: FIT_TYPE });
      await queue.resume();
      const [job] = await queue.jobs();
      expect(job).toMatchObject({ status: 'failed', attempts: 1, error: `the file no longer exists: ${uri}` });
      expect(traffic.presigned).toEqual([]);
      await expectNotRetried(queue, traffic);
      expect(reads).toBe(1);
    });

    it('an activity of another user, and one the runner deleted', async () => {
      const { user, phone } = await device('foreign');
      const other = await device('foreign-owner');
      const theirs = await other.phone.create('activities', { sport: 'running', title: 'Not yours', gps_source: null });
      await other.phone.sync();
      const { fetch, traffic } = wrappedFetch();
      const queue = queueOn(phone, user, { fetch });
      await queue.enqueue({ uri: saveFile(syntheticRun({ seconds: 1320 })), kind: 'fit', contentType: FIT_TYPE, activityId: theirs });
      await queue.resume();
      const [job] = await queue.jobs();
      expect(job).toMatchObject({ status: 'failed', attempts: 1 });
      expect(job!.error).toMatch(new RegExp(`HTTP 404.*activity_id: no activity '${theirs}' in your account`));
      await expectNotRetried(queue, traffic);
      expect((await serverSnapshot(stack(), user)).uploads).toEqual([]);
      expect((await serverSnapshot(stack(), other.user)).activities).toEqual([expect.objectContaining({ id: theirs, gps_source: null, upload_id: null })]);

      // The runner's own activity, deleted (on this phone, and synced) before its file went up.
      const gone = await phone.create('activities', { sport: 'running', title: 'Deleted run', gps_source: null });
      await phone.sync();
      await phone.remove('activities', gone);
      await phone.sync();
      await queue.enqueue({ uri: saveFile(syntheticRun({ seconds: 1340 })), kind: 'fit', contentType: FIT_TYPE, activityId: gone });
      await queue.resume();
      const [, forDeleted] = await queue.jobs();
      expect(forDeleted).toMatchObject({ status: 'failed', attempts: 1, activityId: gone });
      expect(forDeleted!.error).toMatch(new RegExp(`HTTP 404.*activity_id: no activity '${gone}' in your account`));
      await expectNotRetried(queue, traffic);
      expect((await serverSnapshot(stack(), user)).uploads).toEqual([]);
    });
  });

  it('a FIT file for an activity recorded on the phone and not synced yet: waits for the sync, then merges into it', async () => {
    const { user, phone } = await device('unsynced');
    const bytes = fixture('python-fitparse/activity-small-fenix2-run.fit');
    const activityId = await phone.create('activities', { sport: 'running', title: 'Morning run', notes: 'legs heavy', gps_source: 'manual', distance_m: 5000 });
    const queue = queueOn(phone, user, { fetch: wrappedFetch().fetch });
    await queue.enqueue({ uri: saveFile(bytes), kind: 'fit', contentType: FIT_TYPE, activityId });
    await queue.resume();
    const [waiting] = await queue.jobs();
    expect(waiting).toMatchObject({ status: 'pending', error: `waiting for activity ${activityId} to reach the server (the next sync sends it)` });

    await phone.sync();
    await queue.resume();
    const [job] = await queue.jobs();
    expect(job).toMatchObject({ status: 'uploaded', activityId });
    expect(await eventsPerUpload()).toEqual(new Map([[job!.uploadId, [expect.objectContaining({ outcome: 'processed', activityId })]]]));
    await phone.sync();
    const fit = decoded(bytes);
    const local = await phone.snapshot();
    expect(local.activities).toEqual([expect.objectContaining({ id: activityId, title: 'Morning run', notes: 'legs heavy', gps_source: 'garmin', distance_m: fit.distance_m, upload_id: job!.uploadId })]);
    expect(local.uploads).toEqual([expect.objectContaining({ id: job!.uploadId, status: 'processed', activity_id: activityId })]);
  });

  it('reads a Blob from the platform (slice by slice), queues a file once however often it is enqueued, and reports each step', async () => {
    const { user, phone } = await device('blob');
    const bytes = syntheticRun({ seconds: 1380 });
    const uri = saveFile(bytes);
    const queue = queueOn(phone, user, { fetch: wrappedFetch().fetch, readFile: (u) => openAsBlob(u) });
    const events: string[] = [];
    queue.subscribe((e) => events.push(e.type === 'job' ? `job:${e.job.status}` : `phase:${e.phase}`));
    const id = await queue.enqueue({ uri, kind: 'fit', contentType: FIT_TYPE });
    expect(await queue.enqueue({ uri, kind: 'fit', contentType: FIT_TYPE })).toBe(id);
    await queue.resume();
    expect(events).toEqual(['job:pending', 'job:uploading', 'phase:reading', 'phase:hashing', 'phase:presigning', 'phase:sending', 'job:uploaded']);
    const [job] = await queue.jobs();
    expect((await eventsPerUpload()).get(job!.uploadId)).toHaveLength(1);
    await expectUploadedOnce(user, job!, bytes);
  });

  it('bytes that do not match the declared SHA-256 never become an activity: the upload syncs as failed with the reason', async () => {
    const { user, phone } = await device('mismatch');
    const bytes = syntheticRun({ seconds: 1560 });
    // The hash of other bytes, as if the file changed between hashing and sending (s3rver does not check).
    const queue = queueOn(phone, user, { fetch: wrappedFetch().fetch, hash: async () => sha256(syntheticRun({ seconds: 1561 })) });
    await queue.enqueue({ uri: saveFile(bytes), kind: 'fit', contentType: FIT_TYPE });
    await queue.resume();
    const [job] = await queue.jobs();
    expect(job).toMatchObject({ status: 'uploaded' });
    expect((await eventsPerUpload()).get(job!.uploadId)).toEqual([expect.objectContaining({ outcome: 'failed', reason: expect.stringMatching(/SHA-256/i) })]);
    await phone.sync();
    const local = await phone.snapshot();
    expect(local.uploads).toEqual([expect.objectContaining({ id: job!.uploadId, status: 'failed', error: expect.stringMatching(/SHA-256/i) })]);
    expect(local.activities).toEqual([]);
  });

  it('signed out (getToken throws, or the server says 401): the job waits without using up its attempts', async () => {
    const { user, phone } = await device('signed-out');
    const bytes = syntheticRun({ seconds: 1500 });
    const signedOut = queueOn(phone, user, {
      fetch: wrappedFetch().fetch,
      getToken: () => Promise.reject(new Error('refresh token expired')),
      retry: { maxAttempts: 1 },
    });
    await signedOut.enqueue({ uri: saveFile(bytes), kind: 'fit', contentType: FIT_TYPE });
    await signedOut.resume();
    await signedOut.resume();
    expect((await signedOut.jobs())[0]).toMatchObject({ status: 'pending', attempts: 2, error: 'no sign-in token: refresh token expired' });
    signedOut.stop();

    const stale = queueOn(phone, user, { fetch: wrappedFetch().fetch, getToken: () => 'not-a-jwt', retry: { maxAttempts: 1 } });
    await stale.resume();
    expect((await stale.jobs())[0]).toMatchObject({ status: 'pending', attempts: 3, error: expect.stringMatching(/^not signed in: /) });
    stale.stop();

    const { fetch, traffic } = wrappedFetch();
    const signedIn = queueOn(phone, user, { fetch, retry: { maxAttempts: 1 } });
    await signedIn.resume();
    const [job] = await signedIn.jobs();
    expect(traffic.sent).toEqual([job!.uploadId]);
    expect((await eventsPerUpload()).get(job!.uploadId)).toHaveLength(1);
    await expectUploadedOnce(user, job!, bytes);
  });

  it('gives up after maxAttempts failures the server answered, never because the phone was offline', async () => {
    const { user, phone } = await device('give-up');
    const uri = saveFile(syntheticRun({ seconds: 1440 }));
    const offlineQueue = queueOn(phone, user, { fetch: offline, retry: { maxAttempts: 3 } });
    await offlineQueue.enqueue({ uri, kind: 'fit', contentType: FIT_TYPE });
    for (let i = 0; i < 5; i++) await offlineQueue.resume();
    expect((await offlineQueue.jobs())[0]).toMatchObject({ status: 'pending', attempts: 5 });
    offlineQueue.stop();

    const down = queueOn(phone, user, { fetch: async () => apiError(502, 'bad_gateway', 'Bad gateway'), retry: { maxAttempts: 3 } });
    await down.resume();
    await down.resume();
    expect((await down.jobs())[0]).toMatchObject({ status: 'pending', attempts: 7 });
    await down.resume();
    const [job] = await down.jobs();
    expect(job).toMatchObject({ status: 'failed', attempts: 8 });
    expect(job!.error).toMatch(/HTTP 502.*\(gave up after 3 failed attempts\)$/);

    // The runner taps "retry": the job goes back in line and uploads.
    const { fetch, traffic } = wrappedFetch();
    const back = queueOn(phone, user, { fetch });
    await back.retry(job!.id);
    await back.resume();
    const [uploaded] = await back.jobs();
    expect(uploaded).toMatchObject({ status: 'uploaded', attempts: 9 });
    expect(traffic.sent).toEqual([uploaded!.uploadId]);
  });
});
