/**
 * Unit tests of `createUploadQueue`'s API without a server: option and input validation, and the
 * behaviour reachable with an injected fake `fetch` (presign answered with a canned presigned
 * POST, S3 with 204), a real WatermelonDB database on in-memory LokiJS, and `autoStart: false`
 * (no timers). Concurrency and ordering are observed with deferred promises, never with sleeps.
 */
import { createHash } from 'node:crypto';
import type { Database } from '@nozbe/watermelondb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JOBS_STORAGE_KEY, QueueStoppedError, type StoredJob } from '../../client/uploads/job-store.js';
import { createUploadQueue, type UploadQueue, type UploadQueueOptions } from '../../client/uploads/queue.js';
import type { EnqueueInput, ReadFile, UploadFetch, UploadFileData, UploadQueueEvent } from '../../client/uploads/types.js';
import { inMemoryDatabase } from '../support/watermelon.js';

const memoryDatabase = (): Database => inMemoryDatabase('upload-queue-api');

const BASE_URL = 'https://sync.test';
const S3_URL = 'https://bucket.s3.test/';
const FIT = 'application/vnd.ant.fit';
const NOW = 1_800_000_000_000;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}
function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (r: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

interface PresignRequest {
  kind: string;
  content_type: string;
  size_bytes: number;
  activity_id: string | null;
  sha256: string;
  upload_id: string;
}
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const presignedPost = (req: PresignRequest) => ({
  upload_id: req.upload_id,
  method: 'POST',
  url: S3_URL,
  fields: { key: `users/u1/uploads/${req.upload_id}.${req.kind}`, 'Content-Type': req.content_type, Policy: 'eyJ9', 'X-Amz-Signature': 'abc' },
  expires_at: 1_800_000_900,
});

/** A fake API + S3 behind one `fetch`: records presigns and sends, answers from overridable handlers. */
function fakeServer(handlers: { presign?: (req: PresignRequest) => Response | Promise<Response>; storage?: (form: FormData, signal: AbortSignal | undefined) => Response | Promise<Response> } = {}) {
  const presigns: Array<{ url: string; headers: Record<string, string>; body: PresignRequest }> = [];
  const sends: Array<{ url: string; form: FormData; signal: AbortSignal | undefined }> = [];
  const fetch: UploadFetch = async (url, init) => {
    if (init.body instanceof FormData) {
      sends.push({ url, form: init.body, signal: init.signal });
      return handlers.storage ? handlers.storage(init.body, init.signal) : new Response(null, { status: 204 });
    }
    if (init.method === 'POST' && url === `${BASE_URL}/api/v1/uploads`) {
      const body = JSON.parse(init.body as string) as PresignRequest;
      presigns.push({ url, headers: init.headers ?? {}, body });
      return handlers.presign ? handlers.presign(body) : json(201, presignedPost(body));
    }
    throw new Error(`unexpected request ${init.method} ${url}`);
  };
  return { fetch, presigns, sends };
}

const files = new Map<string, UploadFileData>();
const readFromMap: ReadFile = async (uri) => files.get(uri) ?? null;
let fileCounter = 0;
function saveFile(bytes: Uint8Array = new Uint8Array(Array.from({ length: 100 + fileCounter }, (_, i) => (i * 7 + fileCounter) % 256))): { uri: string; bytes: Uint8Array } {
  const uri = `file:///docs/run-${++fileCounter}.fit`;
  files.set(uri, bytes);
  return { uri, bytes };
}
const fitJob = (uri: string, extra: Partial<EnqueueInput> = {}): EnqueueInput => ({ uri, kind: 'fit', contentType: FIT, ...extra });

const queues: UploadQueue[] = [];
function queueWith(options: Partial<UploadQueueOptions> = {}): { queue: UploadQueue; database: Database } {
  const database = options.database ?? memoryDatabase();
  const queue = createUploadQueue({
    database,
    baseUrl: BASE_URL,
    getToken: () => 'token-1',
    readFile: readFromMap,
    fetch: fakeServer().fetch,
    autoStart: false,
    now: () => NOW,
    random: () => 0,
    ...options,
  });
  queues.push(queue);
  return { queue, database };
}
afterEach(() => {
  for (const q of queues.splice(0)) q.stop();
});

const storedJobs = async (db: Database) => (await db.localStorage.get<StoredJob[]>(JOBS_STORAGE_KEY)) ?? [];
const describeEvent = (e: UploadQueueEvent) => (e.type === 'job' ? `job:${e.job.status}${e.removed ? ':removed' : ''}` : `phase:${e.phase}`);

describe('createUploadQueue: options', () => {
  const valid = (): UploadQueueOptions => ({ database: memoryDatabase(), baseUrl: BASE_URL, getToken: () => 't', readFile: readFromMap, autoStart: false });

  it('requires a WatermelonDB database', () => {
    expect(() => createUploadQueue({ ...valid(), database: {} as Database })).toThrow(new TypeError('createUploadQueue: database must be a WatermelonDB Database'));
    expect(() => createUploadQueue(undefined as unknown as UploadQueueOptions)).toThrow(TypeError);
  });

  it('requires an http(s) baseUrl with a host', () => {
    for (const baseUrl of ['sync.example.com', 'ftp://sync.example.com', '', 'https://', 'https:///api', '//sync.example.com', 42, undefined]) {
      expect(() => createUploadQueue({ ...valid(), baseUrl: baseUrl as string }), String(baseUrl)).toThrow(TypeError);
      expect(() => createUploadQueue({ ...valid(), baseUrl: baseUrl as string })).toThrow(/baseUrl must be an http\(s\) URL/);
    }
    for (const baseUrl of ['http://127.0.0.1:3000', 'https://sync.example.com', 'https://sync.example.com/']) {
      queues.push(createUploadQueue({ ...valid(), baseUrl }));
    }
  });

  it('requires getToken and readFile functions', () => {
    expect(() => createUploadQueue({ ...valid(), getToken: undefined as unknown as () => string })).toThrow(new TypeError('createUploadQueue: getToken must be a function'));
    expect(() => createUploadQueue({ ...valid(), getToken: 'token' as unknown as () => string })).toThrow(/getToken must be a function/);
    expect(() => createUploadQueue({ ...valid(), readFile: undefined as unknown as ReadFile })).toThrow(new TypeError('createUploadQueue: readFile must be a function'));
  });

  it('requires a concurrency from 1 to 8', () => {
    for (const concurrency of [0, -1, 9, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2', null]) {
      expect(() => createUploadQueue({ ...valid(), concurrency: concurrency as number }), String(concurrency)).toThrow(TypeError);
      expect(() => createUploadQueue({ ...valid(), concurrency: concurrency as number })).toThrow(/concurrency must be an integer from 1 to 8/);
    }
    for (const concurrency of [1, 8]) queues.push(createUploadQueue({ ...valid(), concurrency }));
  });

  it('rejects bad retry options, naming the field', () => {
    expect(() => createUploadQueue({ ...valid(), retry: { baseDelayMs: 0 } })).toThrow(new TypeError('createUploadQueue: retry.baseDelayMs must be a positive integer, got 0'));
    expect(() => createUploadQueue({ ...valid(), retry: { maxAttempts: 2.5 } })).toThrow(/retry\.maxAttempts must be a positive integer/);
    expect(() => createUploadQueue({ ...valid(), retry: { maxDelayMs: -5 } })).toThrow(/retry\.maxDelayMs must be a positive integer/);
    expect(() => createUploadQueue({ ...valid(), retry: { baseDelayMs: 100, maxDelayMs: 50 } })).toThrow(/retry\.maxDelayMs must be at least retry\.baseDelayMs/);
  });

  it('a rejected option makes no request and writes nothing', () => {
    const { fetch, presigns } = fakeServer();
    const database = memoryDatabase();
    const set = vi.spyOn(database.localStorage, 'set');
    expect(() => createUploadQueue({ database, baseUrl: 'nope', getToken: () => 't', readFile: readFromMap, fetch })).toThrow(TypeError);
    expect(presigns).toEqual([]);
    expect(set).not.toHaveBeenCalled();
  });
});

describe('enqueue: input validation', () => {
  const bad: Array<[string, unknown]> = [
    ['a kind that is not fit or image', { uri: 'file:///a.fit', kind: 'gpx', contentType: FIT }],
    ['no kind', { uri: 'file:///a.fit', contentType: FIT }],
    ['an empty uri', { uri: '', kind: 'fit', contentType: FIT }],
    ['a uri that is not a string', { uri: 42, kind: 'fit', contentType: FIT }],
    ['no uri', { kind: 'fit', contentType: FIT }],
    ['an empty contentType', { uri: 'file:///a.fit', kind: 'fit', contentType: '' }],
    ['no contentType', { uri: 'file:///a.fit', kind: 'fit' }],
    ['a contentType that is not a string', { uri: 'file:///a.fit', kind: 'fit', contentType: 5 }],
    ['an activityId with a space', { uri: 'file:///a.fit', kind: 'fit', contentType: FIT, activityId: 'has space' }],
    ['an activityId of 65 characters', { uri: 'file:///a.fit', kind: 'fit', contentType: FIT, activityId: 'a'.repeat(65) }],
    ['an empty activityId', { uri: 'file:///a.fit', kind: 'fit', contentType: FIT, activityId: '' }],
    ['an activityId that is a number', { uri: 'file:///a.fit', kind: 'fit', contentType: FIT, activityId: 42 }],
    ['an activityId with a slash', { uri: 'file:///a.fit', kind: 'fit', contentType: FIT, activityId: '../x' }],
    ['no input', null],
  ];

  it.each(bad)('rejects %s with a TypeError, storing nothing and telling no one', async (_label, input) => {
    const { queue, database } = queueWith();
    const events: UploadQueueEvent[] = [];
    queue.subscribe((e) => events.push(e));
    await expect(queue.enqueue(input as EnqueueInput)).rejects.toBeInstanceOf(TypeError);
    await expect(queue.enqueue(input as EnqueueInput)).rejects.toThrow(/^enqueue: /);
    expect(await queue.jobs()).toEqual([]);
    expect(await storedJobs(database)).toEqual([]);
    expect(events).toEqual([]);
  });

  it('accepts activity ids of 1 to 64 of [A-Za-z0-9_-], null and a missing one (stored as null)', async () => {
    const { queue } = queueWith();
    const ids = ['a'.repeat(64), 'Ab_9-', 'x', null, undefined];
    for (const [i, activityId] of ids.entries()) await queue.enqueue({ uri: `file:///ok-${i}.fit`, kind: 'fit', contentType: FIT, activityId });
    expect((await queue.jobs()).map((j) => j.activityId)).toEqual(['a'.repeat(64), 'Ab_9-', 'x', null, null]);
  });

  it('a new job is pending, not yet attempted, with distinct 16-character job and upload ids, and no bookkeeping fields in public', async () => {
    const { queue } = queueWith();
    const id = await queue.enqueue({ uri: 'file:///p.jpg', kind: 'image', contentType: 'image/jpeg', activityId: 'act1' });
    const [job] = await queue.jobs();
    expect(job).toEqual({
      id,
      uri: 'file:///p.jpg',
      kind: 'image',
      contentType: 'image/jpeg',
      activityId: 'act1',
      status: 'pending',
      attempts: 0,
      uploadId: expect.stringMatching(/^[A-Za-z0-9]{16}$/),
      error: null,
      nextAttemptAt: null,
      sizeBytes: null,
      createdAt: NOW,
      updatedAt: NOW,
    });
    expect(id).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(job!.uploadId).not.toBe(id);
  });
});

describe('the queue with a fake API and S3', () => {
  it('one attempt: presigns with the token and the file’s size and digest, posts the policy fields then the file to S3, and reports each step', async () => {
    const server = fakeServer();
    const { queue } = queueWith({ fetch: server.fetch, baseUrl: `${BASE_URL}/` });
    const { uri, bytes } = saveFile();
    const events: string[] = [];
    queue.subscribe((e) => events.push(describeEvent(e)));
    const id = await queue.enqueue(fitJob(uri, { activityId: 'act_7' }));
    await queue.resume();
    const [job] = await queue.jobs();
    expect(job).toMatchObject({ id, status: 'uploaded', attempts: 1, error: null, nextAttemptAt: null, sizeBytes: bytes.length, updatedAt: NOW });
    expect(events).toEqual(['job:pending', 'job:uploading', 'phase:reading', 'phase:hashing', 'phase:presigning', 'phase:sending', 'job:uploaded']);

    expect(server.presigns).toHaveLength(1);
    const [presign] = server.presigns;
    expect(presign!.url).toBe(`${BASE_URL}/api/v1/uploads`);
    expect(presign!.headers).toMatchObject({ authorization: 'Bearer token-1', 'content-type': 'application/json' });
    expect(presign!.body).toEqual({ kind: 'fit', content_type: FIT, size_bytes: bytes.length, activity_id: 'act_7', sha256: sha256(bytes), upload_id: job!.uploadId });

    expect(server.sends).toHaveLength(1);
    const [send] = server.sends;
    expect(send!.url).toBe(S3_URL);
    const entries = [...send!.form.entries()];
    expect(entries.map(([name]) => name)).toEqual(['key', 'Content-Type', 'Policy', 'X-Amz-Signature', 'file']);
    expect(entries[0]![1]).toBe(`users/u1/uploads/${job!.uploadId}.fit`);
    const file = entries[4]![1] as File;
    expect(file.name).toBe(uri.split('/').pop());
    expect(file.type).toBe(FIT);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(bytes);
  });

  it('readFile returning an ArrayBuffer works like bytes', async () => {
    const server = fakeServer();
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 250, 251]);
    const { queue } = queueWith({ fetch: server.fetch, readFile: async () => bytes.slice().buffer });
    await queue.enqueue(fitJob('file:///buffer.fit'));
    await queue.resume();
    const [job] = await queue.jobs();
    expect(job).toMatchObject({ status: 'uploaded', sizeBytes: 7 });
    expect(server.presigns[0]!.body).toMatchObject({ size_bytes: 7, sha256: sha256(bytes) });
    const file = server.sends[0]!.form.get('file') as File;
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(bytes);
  });

  it("a platform whose Blob cannot be built from bytes (React Native's): failed before any presign, saying to return a Blob", async () => {
    const server = fakeServer();
    const { queue } = queueWith({ fetch: server.fetch });
    await queue.enqueue(fitJob(saveFile().uri));
    const NativeBlob = globalThis.Blob;
    class BytelessBlob extends NativeBlob {
      constructor(...args: ConstructorParameters<typeof NativeBlob>) {
        if (args[0]?.some((p) => ArrayBuffer.isView(p) || p instanceof ArrayBuffer)) throw new Error("Creating blobs from 'ArrayBuffer' and 'ArrayBufferView' are not supported");
        super(...args);
      }
    }
    vi.stubGlobal('Blob', BytelessBlob);
    try {
      await queue.resume();
    } finally {
      vi.unstubAllGlobals();
    }
    const [job] = await queue.jobs();
    expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(job!.error).toBe("this platform cannot send bytes (Creating blobs from 'ArrayBuffer' and 'ArrayBufferView' are not supported): make readFile return a Blob");
    expect(server.presigns).toEqual([]);
    expect(server.sends).toEqual([]);
  });

  it("sends to S3 with redirect: 'error' (S3 never redirects a presigned POST; Node's fetch would otherwise keep a replay copy)", async () => {
    const server = fakeServer();
    const inits: Array<Parameters<UploadFetch>[1]> = [];
    const { queue } = queueWith({ fetch: (url, init) => (inits.push(init), server.fetch(url, init)) });
    await queue.enqueue(fitJob(saveFile().uri));
    await queue.resume();
    expect(inits.map((i) => [i.body instanceof FormData ? 'storage' : 'presign', i.redirect])).toEqual([
      ['presign', undefined],
      ['storage', 'error'],
    ]);
  });

  it('readFile returning a Blob: sent as is, hashed like its bytes', async () => {
    const server = fakeServer();
    const bytes = new Uint8Array(Array.from({ length: 3000 }, (_, i) => i % 256));
    const { queue } = queueWith({ fetch: server.fetch, readFile: async () => new Blob([bytes]) });
    await queue.enqueue(fitJob('file:///blob.fit'));
    await queue.resume();
    expect((await queue.jobs())[0]).toMatchObject({ status: 'uploaded', sizeBytes: 3000 });
    expect(server.presigns[0]!.body.sha256).toBe(sha256(bytes));
    expect(new Uint8Array(await (server.sends[0]!.form.get('file') as File).arrayBuffer())).toEqual(bytes);
  });

  it('an injected hash is used, its hex lowercased; a hash that throws is a counted retry', async () => {
    const server = fakeServer();
    const { queue } = queueWith({ fetch: server.fetch, hash: async () => 'AB'.repeat(32) });
    await queue.enqueue(fitJob(saveFile().uri));
    await queue.resume();
    expect(server.presigns[0]!.body.sha256).toBe('ab'.repeat(32));

    const failing = queueWith({ fetch: server.fetch, hash: async () => Promise.reject(new Error('native digest crashed')) });
    await failing.queue.enqueue(fitJob(saveFile().uri));
    await failing.queue.resume();
    const [job] = await failing.queue.jobs();
    expect(job).toMatchObject({ status: 'pending', error: 'could not read the file: native digest crashed' });
    expect((await storedJobs(failing.database))[0]!.countedFailures).toBe(1);
    expect(server.presigns).toHaveLength(1); // only the first queue's
  });

  it('concurrency: 2 runs two jobs at once, never three', async () => {
    const gates = new Map<string, Deferred<UploadFileData>>();
    const reads: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const readsReached = new Map<number, Deferred>();
    const whenReads = (n: number) => {
      if (reads.length >= n) return Promise.resolve();
      const d = readsReached.get(n) ?? deferred();
      readsReached.set(n, d);
      return d.promise;
    };
    const readFile: ReadFile = (uri) => {
      reads.push(uri);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      readsReached.get(reads.length)?.resolve();
      const gate = deferred<UploadFileData>();
      gates.set(uri, gate);
      return gate.promise.finally(() => inFlight--);
    };
    const server = fakeServer();
    const { queue } = queueWith({ fetch: server.fetch, readFile, concurrency: 2 });
    const uris = ['file:///c1.fit', 'file:///c2.fit', 'file:///c3.fit'];
    for (const uri of uris) await queue.enqueue(fitJob(uri));

    const pass = queue.resume();
    await whenReads(2);
    expect(reads).toEqual(uris.slice(0, 2));
    // Both are being uploaded at once; the third waits for a free slot.
    expect((await queue.jobs()).map((j) => j.status)).toEqual(['uploading', 'uploading', 'pending']);
    expect(reads).toHaveLength(2);

    gates.get(uris[1]!)!.resolve(new Uint8Array([2]));
    await whenReads(3);
    expect(reads).toEqual(uris);
    expect((await queue.jobs()).map((j) => j.status)).toEqual(['uploading', 'uploaded', 'uploading']);

    gates.get(uris[0]!)!.resolve(new Uint8Array([1]));
    gates.get(uris[2]!)!.resolve(new Uint8Array([3]));
    await pass;
    expect(maxInFlight).toBe(2);
    expect((await queue.jobs()).map((j) => j.status)).toEqual(['uploaded', 'uploaded', 'uploaded']);
    expect(server.sends).toHaveLength(3);
  });

  it('the default concurrency is 1: one job at a time', async () => {
    const started = deferred();
    const gate = deferred<UploadFileData>();
    let reads = 0;
    const { queue } = queueWith({
      readFile: () => {
        reads++;
        started.resolve();
        return gate.promise;
      },
    });
    await queue.enqueue(fitJob('file:///s1.fit'));
    await queue.enqueue(fitJob('file:///s2.fit'));
    const pass = queue.resume();
    await started.promise;
    expect((await queue.jobs()).map((j) => j.status)).toEqual(['uploading', 'pending']);
    expect(reads).toBe(1);
    gate.resolve(new Uint8Array([9]));
    await pass;
    expect(reads).toBe(2);
    expect((await queue.jobs()).map((j) => j.status)).toEqual(['uploaded', 'uploaded']);
  });

  it('after stop(), enqueue, resume, retry and remove reject; jobs() still lists; no event reaches old listeners', async () => {
    const { queue } = queueWith();
    const id = await queue.enqueue(fitJob(saveFile().uri));
    const events: UploadQueueEvent[] = [];
    queue.subscribe((e) => events.push(e));
    queue.stop();
    await expect(queue.enqueue(fitJob(saveFile().uri))).rejects.toBeInstanceOf(QueueStoppedError);
    await expect(queue.resume()).rejects.toBeInstanceOf(QueueStoppedError);
    await expect(queue.retry(id)).rejects.toBeInstanceOf(QueueStoppedError);
    await expect(queue.remove(id)).rejects.toBeInstanceOf(QueueStoppedError);
    await expect(queue.remove(id)).rejects.toThrow('the upload queue was stopped');
    expect((await queue.jobs()).map((j) => [j.id, j.status])).toEqual([[id, 'pending']]);
    expect(events).toEqual([]);
    queue.stop(); // stopping twice is harmless
  });

  it('stop() during an attempt cancels the send (its signal aborts) and writes nothing more', async () => {
    const sending = deferred();
    const server = fakeServer({
      // A send that never gets an answer, until it is cancelled.
      storage: (_form, signal) => {
        sending.resolve();
        return new Promise<Response>((_, reject) => signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
      },
    });
    const { queue, database } = queueWith({ fetch: server.fetch });
    await queue.enqueue(fitJob(saveFile().uri));
    const pass = queue.resume();
    await sending.promise;
    expect(server.sends[0]!.signal?.aborted).toBe(false);
    const before = await storedJobs(database);
    queue.stop();
    expect(server.sends[0]!.signal?.aborted).toBe(true);
    await pass;
    expect(await storedJobs(database)).toEqual(before);
    expect(before[0]).toMatchObject({ status: 'uploading', attempts: 1 });
  });

  it('remove() forgets a job and emits it with removed: true; an unknown id changes nothing', async () => {
    const { queue, database } = queueWith();
    const first = await queue.enqueue(fitJob(saveFile().uri));
    const second = await queue.enqueue(fitJob(saveFile().uri));
    const events: UploadQueueEvent[] = [];
    queue.subscribe((e) => events.push(e));
    await queue.remove(first);
    expect(events).toEqual([{ type: 'job', removed: true, job: expect.objectContaining({ id: first, status: 'pending' }) }]);
    expect(events[0]!.type === 'job' && 'countedFailures' in events[0]!.job).toBe(false);
    expect((await queue.jobs()).map((j) => j.id)).toEqual([second]);
    expect((await storedJobs(database)).map((j) => j.id)).toEqual([second]);
    await queue.remove('no-such-job');
    expect(events).toHaveLength(1);
    expect((await queue.jobs()).map((j) => j.id)).toEqual([second]);
  });

  it('a job removed while its attempt runs is not brought back by the attempt’s result', async () => {
    const reading = deferred();
    const gate = deferred<UploadFileData>();
    const server = fakeServer();
    const { queue } = queueWith({
      fetch: server.fetch,
      readFile: () => {
        reading.resolve();
        return gate.promise;
      },
    });
    const id = await queue.enqueue(fitJob('file:///removed.fit'));
    const events: string[] = [];
    queue.subscribe((e) => events.push(describeEvent(e)));
    const pass = queue.resume();
    await reading.promise;
    await queue.remove(id);
    gate.resolve(new Uint8Array([1, 2, 3]));
    await pass;
    expect(await queue.jobs()).toEqual([]);
    expect(events.filter((e) => e.startsWith('job:'))).toEqual(['job:uploading', 'job:uploading:removed']);
  });

  it('a listener that throws does not break the queue or the other listeners; unsubscribe stops the events', async () => {
    const server = fakeServer();
    const { queue } = queueWith({ fetch: server.fetch });
    let thrown = 0;
    queue.subscribe(() => {
      thrown++;
      throw new Error('UI bug');
    });
    const events: string[] = [];
    const off = queue.subscribe((e) => events.push(describeEvent(e)));
    await queue.enqueue(fitJob(saveFile().uri));
    await queue.resume();
    expect((await queue.jobs())[0]!.status).toBe('uploaded');
    expect(events).toEqual(['job:pending', 'job:uploading', 'phase:reading', 'phase:hashing', 'phase:presigning', 'phase:sending', 'job:uploaded']);
    expect(thrown).toBe(events.length);
    off();
    await queue.enqueue(fitJob(saveFile().uri));
    expect(events).toHaveLength(7);
    expect(thrown).toBe(8);
  });

  describe('a presign answer that is not a presigned POST for this upload: a counted retry, nothing sent', () => {
    const variants: Array<[string, (req: PresignRequest) => unknown]> = [
      ['another upload_id', (req) => ({ ...presignedPost(req), upload_id: 'SomeoneElsesUpld' })],
      ['no upload_id', (req) => ({ ...presignedPost(req), upload_id: undefined })],
      ['method PUT', (req) => ({ ...presignedPost(req), method: 'PUT' })],
      ['no url', (req) => ({ ...presignedPost(req), url: undefined })],
      ['a non-string field', (req) => ({ ...presignedPost(req), fields: { key: 5 } })],
      ['no fields', (req) => ({ ...presignedPost(req), fields: null })],
      ['an array', () => []],
      ['null', () => null],
    ];
    it.each(variants)('%s', async (_label, answer) => {
      const server = fakeServer({ presign: (req) => json(201, answer(req)) });
      const { queue, database } = queueWith({ fetch: server.fetch, random: () => 0 });
      await queue.enqueue(fitJob(saveFile().uri));
      await queue.resume();
      const [job] = await queue.jobs();
      expect(job).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: NOW + 1_000 });
      expect(job!.error).toBe(`the server's answer was unusable: POST /api/v1/uploads answered something that is not a presigned upload for ${job!.uploadId}`);
      expect((await storedJobs(database))[0]!.countedFailures).toBe(1);
      expect(server.sends).toEqual([]);
    });

    it('counted: with maxAttempts 2 the job gives up on the second such answer', async () => {
      const server = fakeServer({ presign: (req) => json(201, { ...presignedPost(req), upload_id: 'SomeoneElsesUpld' }) });
      const { queue } = queueWith({ fetch: server.fetch, retry: { maxAttempts: 2 } });
      await queue.enqueue(fitJob(saveFile().uri));
      await queue.resume();
      expect((await queue.jobs())[0]!.status).toBe('pending');
      await queue.resume();
      const [job] = await queue.jobs();
      expect(job).toMatchObject({ status: 'failed', attempts: 2, nextAttemptAt: null });
      expect(job!.error).toMatch(/not a presigned upload for .*\(gave up after 2 failed attempts\)$/);
      await queue.resume();
      expect(server.presigns).toHaveLength(2);
    });
  });

  it('a presign answer saying the file already arrived: uploaded without sending it again', async () => {
    const server = fakeServer({ presign: (req) => json(200, { ...presignedPost(req), status: 'processing' }) });
    const { queue } = queueWith({ fetch: server.fetch });
    await queue.enqueue(fitJob(saveFile().uri));
    await queue.resume();
    expect((await queue.jobs())[0]).toMatchObject({ status: 'uploaded', error: null });
    expect(server.sends).toEqual([]);
  });

  it('readFile rejecting with a non-ENOENT error: retried, counted, nothing presigned', async () => {
    const server = fakeServer();
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    const { queue, database } = queueWith({ fetch: server.fetch, readFile: () => Promise.reject(denied), retry: { maxAttempts: 2, baseDelayMs: 1_000 } });
    await queue.enqueue(fitJob('file:///locked.fit'));
    await queue.resume();
    const [job] = await queue.jobs();
    expect(job).toMatchObject({ status: 'pending', attempts: 1, error: 'could not read the file: EACCES: permission denied', nextAttemptAt: NOW + 500, sizeBytes: null });
    expect((await storedJobs(database))[0]!.countedFailures).toBe(1);
    await queue.resume();
    const [gaveUp] = await queue.jobs();
    expect(gaveUp).toMatchObject({ status: 'failed', attempts: 2, error: 'could not read the file: EACCES: permission denied (gave up after 2 failed attempts)' });
    expect(server.presigns).toEqual([]);
  });

  it('readFile saying the file is gone (null, ENOENT, ERR_FILE_NOT_FOUND): failed at once', async () => {
    const answers: Array<() => Promise<UploadFileData | null>> = [
      async () => null,
      () => Promise.reject(Object.assign(new Error('no such file'), { code: 'ENOENT' })),
      () => Promise.reject(Object.assign(new Error('File does not exist'), { code: 'ERR_FILE_NOT_FOUND' })),
    ];
    for (const readFile of answers) {
      const server = fakeServer();
      const { queue } = queueWith({ fetch: server.fetch, readFile });
      await queue.enqueue(fitJob('file:///gone.fit'));
      await queue.resume();
      expect((await queue.jobs())[0]).toMatchObject({ status: 'failed', attempts: 1, nextAttemptAt: null, error: 'the file no longer exists: file:///gone.fit' });
      expect(server.presigns).toEqual([]);
    }
  });

  it("S3's 503 SlowDown with Retry-After: pending, the next attempt no sooner than Retry-After", async () => {
    const slowDown = () =>
      new Response('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>', { status: 503, headers: { 'retry-after': '30' } });
    const server = fakeServer({ storage: slowDown });
    const { queue, database } = queueWith({ fetch: server.fetch });
    await queue.enqueue(fitJob(saveFile().uri));
    await queue.resume();
    const [job] = await queue.jobs();
    expect(job).toMatchObject({ status: 'pending', nextAttemptAt: NOW + 30_000, error: 'file storage is unavailable (HTTP 503): SlowDown: Please reduce your request rate.' });
    expect((await storedJobs(database))[0]!.countedFailures).toBe(1);
  });

  it('offline: a pending job with a reason, no counted failure, backing off', async () => {
    const { queue, database } = queueWith({ fetch: () => Promise.reject(new TypeError('Network request failed')) });
    await queue.enqueue(fitJob(saveFile().uri));
    await queue.resume();
    await queue.resume();
    const [job] = await queue.jobs();
    // attempts 2 → ceiling 4 s, random()=0 → 2 s
    expect(job).toMatchObject({ status: 'pending', attempts: 2, nextAttemptAt: NOW + 2_000 });
    expect(job!.error).toMatch(/^no connection to the server \(POST \/api\/v1\/uploads failed: Network request failed\)$/);
    expect((await storedJobs(database))[0]!.countedFailures).toBe(0);
  });

  it('retry() puts a failed job back in line with its counted failures reset; other jobs are left alone', async () => {
    const { queue, database } = queueWith({ readFile: () => Promise.reject(new Error('I/O error')), retry: { maxAttempts: 1 } });
    const id = await queue.enqueue(fitJob('file:///io.fit'));
    const other = await queue.enqueue(fitJob('file:///other.fit'));
    await queue.resume();
    expect((await queue.jobs()).map((j) => j.status)).toEqual(['failed', 'failed']);
    const events: UploadQueueEvent[] = [];
    queue.subscribe((e) => events.push(e));
    await queue.retry(id);
    expect(events).toEqual([{ type: 'job', job: expect.objectContaining({ id, status: 'pending', nextAttemptAt: null }) }]);
    const stored = await storedJobs(database);
    expect(stored.find((j) => j.id === id)).toMatchObject({ status: 'pending', countedFailures: 0 });
    expect(stored.find((j) => j.id === other)).toMatchObject({ status: 'failed', countedFailures: 1 });
    // Not failed, or unknown: nothing happens.
    await queue.retry(id);
    await queue.retry('no-such-job');
    expect(events).toHaveLength(1);
  });

  it('autoStart: a stored pending job with an unreadable nextAttemptAt never makes the queue arm a timer with a non-numeric delay', async () => {
    const database = memoryDatabase();
    const broken: Record<string, unknown> = {
      id: 'OldVersionJob001',
      uri: 'file:///old.fit',
      kind: 'fit',
      contentType: FIT,
      activityId: null,
      status: 'pending',
      attempts: 1,
      uploadId: 'OldVersionUpld01',
      error: null,
      sizeBytes: null,
      createdAt: NOW - 1,
      updatedAt: NOW - 1,
      countedFailures: 0,
      // nextAttemptAt missing, as an earlier or later app version might leave it
    };
    await database.localStorage.set(JOBS_STORAGE_KEY, [broken]);
    const realSetTimeout = globalThis.setTimeout;
    const queueDelays: unknown[] = [];
    // Records the queue's timers without arming them; every other timer runs normally.
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, delay?: number, ...args: unknown[]) => {
      if (new Error().stack?.includes('client/uploads/queue')) {
        queueDelays.push(delay);
        return realSetTimeout(() => undefined, 0);
      }
      return (realSetTimeout as (f: () => void, d?: number, ...a: unknown[]) => ReturnType<typeof setTimeout>)(fn, delay, ...args);
    }) as unknown as typeof setTimeout);
    try {
      const { queue } = queueWith({ database, autoStart: true, fetch: () => Promise.reject(new TypeError('offline')) });
      await queue.jobs(); // the start-up pass is under way
      await queue.resume(); // runs after it
    } finally {
      spy.mockRestore();
    }
    expect(queueDelays.filter((d) => typeof d !== 'number' || !Number.isFinite(d) || d < 0), `timer delays armed: ${queueDelays.map(String).join(', ')}`).toEqual([]);
  });
});
