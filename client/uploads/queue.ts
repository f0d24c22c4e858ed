/**
 * The app's upload queue: gets every FIT file and photo to S3 exactly once, from a phone that is
 * offline half the time and may be killed at any moment. Jobs persist in the app's WatermelonDB
 * database; each attempt re-presigns the job's own `upload_id`, so a retry or a restart never
 * makes a second upload, and a file the server already holds is not sent again.
 */
import type { Database } from '@nozbe/watermelondb';
import { newUploadId } from '../../lambdas/core/uploads.js';
import { assertTransportOptions, createTransport, type FetchLike } from '../http.js';
import { runAttempt, type AttemptResult } from './attempt.js';
import { TokenUnavailableError } from './failures.js';
import { JobStore, QueueStoppedError, type StoredJob } from './job-store.js';
import { resolveRetryPolicy, retryDelayMs, type RetryPolicy } from './retry.js';
import { sha256Hex } from './sha256.js';
import type { EnqueueInput, HashFile, ReadFile, UploadFetch, UploadJob, UploadKind, UploadQueueEvent, UploadQueueListener } from './types.js';

export interface UploadQueueOptions {
  /** The app's WatermelonDB database: jobs live in its `localStorage` (never synced). One queue per database. */
  readonly database: Database;
  /** Origin of the sync API, e.g. `https://sync.example.com` (no `/api/v1`). */
  readonly baseUrl: string;
  /** Returns the user's current JWT; called before each presign. */
  readonly getToken: () => string | Promise<string>;
  /** Reads a file's bytes (expo-file-system, react-native-fs, `node:fs` in tests); see `ReadFile`. */
  readonly readFile: ReadFile;
  /** Defaults to the global `fetch`. Must accept `FormData` bodies (React Native's and Node's do). */
  readonly fetch?: UploadFetch;
  /** Hex SHA-256 of a file; defaults to pure JS (`@noble/hashes`), slice by slice for a Blob. */
  readonly hash?: HashFile;
  /** Jobs uploading at once (default 1: a phone's uplink is the bottleneck). */
  readonly concurrency?: number;
  /** Backoff and when to give up; see `RetryPolicy` (defaults: 2 s doubling to 30 min, 10 counted failures). */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Default true: `enqueue()` starts the upload at once, and failed attempts are retried on a
   * timer when their backoff ends. false: only `resume()` runs jobs.
   */
  readonly autoStart?: boolean;
  /** Clock and randomness (tests). */
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface UploadQueue {
  /**
   * Adds a job and returns its id. A file already queued (same `uri`, `kind` and `activityId`,
   * not failed) is not queued twice: its job's id is returned.
   */
  enqueue(input: EnqueueInput): Promise<string>;
  /** Runs every unfinished job now, ignoring backoff (on start, on reconnect, after a sync); settles when the pass ends. */
  resume(): Promise<void>;
  /** Every job the queue holds, oldest first. */
  jobs(): Promise<UploadJob[]>;
  /** Job changes and attempt phases, for the app's UI. Returns the unsubscribe function. */
  subscribe(listener: UploadQueueListener): () => void;
  /** Puts a failed job back in line (e.g. after the runner freed space or fixed the file). */
  retry(jobId: string): Promise<void>;
  /** Forgets a job (its upload record, if any, stays on the server). */
  remove(jobId: string): Promise<void>;
  /** Stops timers and cancels the running send; the queue writes nothing more. Unfinished jobs wait for the next queue. */
  stop(): void;
}

const KINDS: readonly UploadKind[] = ['fit', 'image'];
const ACTIVITY_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function createUploadQueue(options: UploadQueueOptions): UploadQueue {
  validateOptions(options);
  const policy = resolveRetryPolicy(options.retry);
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const autoStart = options.autoStart ?? true;
  const concurrency = options.concurrency ?? 1;
  const doFetch: UploadFetch = options.fetch ?? ((url, init) => (globalThis as unknown as { fetch: UploadFetch }).fetch(url, init));
  const getToken = async () => {
    try {
      return await options.getToken();
    } catch (e) {
      throw new TokenUnavailableError(e);
    }
  };
  const transport = createTransport({ baseUrl: options.baseUrl, getToken, fetch: doFetch as FetchLike });
  const hash = options.hash ?? sha256Hex;

  let stopped = false;
  const aborter = new AbortController();
  const store = new JobStore(options.database, () => !stopped);
  const listeners = new Set<UploadQueueListener>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  // Passes run one after another; a pass requested while one waits to start joins it.
  let running: Promise<unknown> = Promise.resolve();
  let waiting: { ignoreBackoff: boolean; promise: Promise<void> } | undefined;

  const emit = (event: UploadQueueEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        // The app's UI code must not break the queue.
      }
    }
  };
  const emitJob = (job: StoredJob, removed = false) => emit(removed ? { type: 'job', job: publicJob(job), removed } : { type: 'job', job: publicJob(job) });

  function requestPass(ignoreBackoff: boolean): Promise<void> {
    if (stopped) return Promise.reject(new QueueStoppedError());
    if (waiting) {
      waiting.ignoreBackoff ||= ignoreBackoff;
      return waiting.promise;
    }
    const entry: { ignoreBackoff: boolean; promise: Promise<void> } = { ignoreBackoff, promise: Promise.resolve() };
    entry.promise = running.then(() => {
      if (waiting === entry) waiting = undefined;
      return pass(entry.ignoreBackoff);
    });
    waiting = entry;
    running = entry.promise.catch(() => undefined);
    return entry.promise;
  }
  const kick = () => {
    if (autoStart && !stopped) requestPass(false).catch(() => undefined);
  };

  async function pass(ignoreBackoff: boolean): Promise<void> {
    if (stopped) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const at = now();
    const due = (await store.list()).filter((j) => isUnfinished(j) && (ignoreBackoff || j.nextAttemptAt === null || j.nextAttemptAt <= at));
    let next = 0;
    const worker = async () => {
      while (!stopped && next < due.length) await runJob(due[next++]!.id);
    };
    try {
      await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, worker));
    } catch (e) {
      if (!(e instanceof QueueStoppedError)) throw e;
    }
    if (!stopped) await scheduleNextPass();
  }

  async function runJob(id: string): Promise<void> {
    const started = await store.mutate((jobs) => {
      const i = jobs.findIndex((j) => j.id === id);
      const job = jobs[i];
      if (!job || !isUnfinished(job)) return undefined;
      return (jobs[i] = { ...job, status: 'uploading', attempts: job.attempts + 1, nextAttemptAt: null, updatedAt: now() });
    });
    if (!started) return;
    emitJob(started);
    let result: AttemptResult;
    try {
      result = await runAttempt(started, {
        transport,
        fetch: doFetch,
        readFile: options.readFile,
        hash,
        database: options.database,
        signal: aborter.signal,
        onPhase: (phase) => emit({ type: 'phase', jobId: id, phase }),
      });
    } catch (e) {
      result = { kind: 'retry', reason: `unexpected error: ${e instanceof Error ? e.message : String(e)}`, counts: true, sizeBytes: null };
    }
    // A stopped queue is a killed app: what the attempt learned is found again by the next queue.
    if (stopped) return;
    const finished = await store.mutate((jobs) => {
      const i = jobs.findIndex((j) => j.id === id);
      const job = jobs[i];
      if (!job) return undefined; // removed meanwhile
      return (jobs[i] = settle(job, result, now(), policy, random));
    });
    if (finished) emitJob(finished);
  }

  async function scheduleNextPass(): Promise<void> {
    if (!autoStart || stopped) return;
    const dueTimes = (await store.list()).filter((j) => j.status === 'pending' && j.nextAttemptAt !== null).map((j) => j.nextAttemptAt!);
    if (dueTimes.length === 0 || stopped) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(
      () => {
        timer = undefined;
        kick();
      },
      Math.max(0, Math.min(...dueTimes) - now()),
    );
  }

  const queue: UploadQueue = {
    async enqueue(input) {
      if (stopped) throw new QueueStoppedError();
      const request = validateEnqueue(input);
      const { id, created } = await store.mutate((jobs) => {
        const same = jobs.find((j) => j.status !== 'failed' && j.uri === request.uri && j.kind === request.kind && j.activityId === request.activityId);
        if (same) return { id: same.id, created: undefined };
        const at = now();
        const job: StoredJob = {
          id: newUploadId(randomBytes),
          uploadId: newUploadId(randomBytes),
          ...request,
          status: 'pending',
          attempts: 0,
          countedFailures: 0,
          consecutiveFailures: 0,
          error: null,
          nextAttemptAt: null,
          sizeBytes: null,
          createdAt: at,
          updatedAt: at,
        };
        jobs.push(job);
        return { id: job.id, created: job };
      });
      if (created) {
        emitJob(created);
        kick();
      }
      return id;
    },
    resume: () => requestPass(true),
    async jobs() {
      return (await store.list()).map(publicJob);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async retry(jobId) {
      if (stopped) throw new QueueStoppedError();
      const job = await store.mutate((jobs) => {
        const i = jobs.findIndex((j) => j.id === jobId);
        const j = jobs[i];
        if (!j || j.status !== 'failed') return undefined;
        return (jobs[i] = { ...j, status: 'pending', countedFailures: 0, consecutiveFailures: 0, nextAttemptAt: null, updatedAt: now() });
      });
      if (job) {
        emitJob(job);
        kick();
      }
    },
    async remove(jobId) {
      if (stopped) throw new QueueStoppedError();
      const removed = await store.mutate((jobs) => {
        const i = jobs.findIndex((j) => j.id === jobId);
        return i < 0 ? undefined : jobs.splice(i, 1)[0];
      });
      if (removed) emitJob(removed, true);
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      aborter.abort();
      listeners.clear();
    },
  };
  kick();
  return queue;
}

/** The job after an attempt: uploaded, failed for good, or pending until its backoff ends. */
export function settle(job: StoredJob, result: AttemptResult, at: number, policy: RetryPolicy, random: () => number): StoredJob {
  const base = { ...job, sizeBytes: result.sizeBytes ?? job.sizeBytes, updatedAt: at };
  if (result.kind === 'uploaded') return { ...base, status: 'uploaded', error: null, nextAttemptAt: null };
  if (result.kind === 'fail') return { ...base, status: 'failed', error: result.reason, nextAttemptAt: null };
  const countedFailures = job.countedFailures + (result.counts ? 1 : 0);
  const consecutiveFailures = job.consecutiveFailures + 1;
  if (result.counts && countedFailures >= policy.maxAttempts) {
    return { ...base, countedFailures, consecutiveFailures, status: 'failed', error: `${result.reason} (gave up after ${countedFailures} failed attempts)`, nextAttemptAt: null };
  }
  return { ...base, countedFailures, consecutiveFailures, status: 'pending', error: result.reason, nextAttemptAt: at + retryDelayMs(consecutiveFailures, policy, random, result.retryAfterMs) };
}

const isUnfinished = (job: UploadJob) => job.status === 'pending' || job.status === 'uploading';

function publicJob(job: StoredJob): UploadJob {
  const { countedFailures: _counted, consecutiveFailures: _consecutive, ...rest } = job;
  return rest;
}

/** Random bytes for ids: WebCrypto where the engine has it, else `Math.random` (ids only, not secrets). */
function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  const crypto = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (typeof crypto?.getRandomValues === 'function') return crypto.getRandomValues(bytes);
  for (let i = 0; i < n; i++) bytes[i] = Math.floor(Math.random() * 256);
  return bytes;
}

function validateOptions(options: UploadQueueOptions): void {
  if (typeof options?.database?.localStorage?.get !== 'function') throw new TypeError('createUploadQueue: database must be a WatermelonDB Database');
  assertTransportOptions('createUploadQueue', options);
  if (typeof options.readFile !== 'function') throw new TypeError('createUploadQueue: readFile must be a function');
  const c = options.concurrency;
  if (c !== undefined && (!Number.isInteger(c) || c < 1 || c > 8)) throw new TypeError(`createUploadQueue: concurrency must be an integer from 1 to 8, got ${String(c)}`);
}

function validateEnqueue(input: EnqueueInput): Pick<StoredJob, 'uri' | 'kind' | 'contentType' | 'activityId'> {
  if (typeof input?.uri !== 'string' || input.uri.length === 0) throw new TypeError('enqueue: uri must be a non-empty string');
  if (!KINDS.includes(input.kind)) throw new TypeError(`enqueue: kind must be 'fit' or 'image', got '${String(input.kind)}'`);
  if (typeof input.contentType !== 'string' || input.contentType.length === 0) throw new TypeError('enqueue: contentType must be a non-empty string');
  const activityId = input.activityId ?? null;
  if (activityId !== null && (typeof activityId !== 'string' || !ACTIVITY_ID.test(activityId))) {
    throw new TypeError(`enqueue: activityId must match [A-Za-z0-9_-]{1,64}, got '${String(activityId)}'`);
  }
  return { uri: input.uri, kind: input.kind, contentType: input.contentType, activityId };
}
