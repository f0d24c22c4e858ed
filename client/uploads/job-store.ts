/**
 * The queue's jobs, persisted in the app's WatermelonDB database (its `localStorage`, which sync
 * never sends), so a queue created after the app was killed finds every unfinished job.
 *
 * All jobs live under one key, rewritten on every change: a phone has tens of jobs, not
 * thousands, and one value keeps each change atomic. Changes are serialized within the queue;
 * one queue per database is the contract (`createUploadQueue`).
 */
import type { Database } from '@nozbe/watermelondb';
import type { UploadJob, UploadJobStatus, UploadKind } from './types.js';

export const JOBS_STORAGE_KEY = 'runningcoach.uploadQueue.v1';

/** A job as stored: the public fields plus the bookkeeping of retries. */
export interface StoredJob extends UploadJob {
  /** Failures so far that count toward `maxAttempts` (see `RetryPolicy`). */
  readonly countedFailures: number;
  /** Failures since the job last started afresh (enqueue or `retry()`): the backoff's exponent. */
  readonly consecutiveFailures: number;
}

/** Uploaded jobs beyond this many (oldest first) are forgotten; their records live on in sync. */
export const KEEP_UPLOADED_JOBS = 200;

const STATUSES: readonly UploadJobStatus[] = ['pending', 'uploading', 'uploaded', 'failed'];
const KINDS: readonly UploadKind[] = ['fit', 'image'];

export class JobStore {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly database: Database,
    /** Checked before each write: a stopped queue writes nothing (as if the app had died). */
    private readonly mayWrite: () => boolean,
  ) {}

  async list(): Promise<StoredJob[]> {
    await this.chain.catch(() => undefined);
    return this.read();
  }

  /**
   * Applies `change` to the stored jobs atomically (within this queue) and returns what it
   * returns. `change` gets a copy it may edit in place.
   */
  mutate<T>(change: (jobs: StoredJob[]) => T): Promise<T> {
    const run = async () => {
      const jobs = await this.read();
      const result = change(jobs);
      if (!this.mayWrite()) throw new QueueStoppedError();
      await this.database.localStorage.set(JOBS_STORAGE_KEY, prune(jobs));
      return result;
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async read(): Promise<StoredJob[]> {
    const stored = await this.database.localStorage.get<unknown>(JOBS_STORAGE_KEY);
    // A value this version cannot read is left alone rather than crashing the app's start-up.
    return Array.isArray(stored) ? stored.filter(isJob).map((j) => ({ ...j })) : [];
  }
}

/** Raised inside the queue when it was stopped; never reaches the app. */
export class QueueStoppedError extends Error {
  constructor() {
    super('the upload queue was stopped');
    this.name = 'QueueStoppedError';
  }
}

function prune(jobs: StoredJob[]): StoredJob[] {
  const uploaded = jobs.filter((j) => j.status === 'uploaded');
  if (uploaded.length <= KEEP_UPLOADED_JOBS) return jobs;
  const forget = new Set(
    uploaded
      .sort((a, b) => a.updatedAt - b.updatedAt)
      .slice(0, uploaded.length - KEEP_UPLOADED_JOBS)
      .map((j) => j.id),
  );
  return jobs.filter((j) => !forget.has(j.id));
}

function isJob(value: unknown): value is StoredJob {
  const j = value as Partial<StoredJob> | null;
  if (typeof j !== 'object' || j === null) return false;
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const time = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const orNull = (v: unknown, check: (v: unknown) => boolean) => v === null || check(v);
  return (
    typeof j.id === 'string' &&
    typeof j.uri === 'string' &&
    typeof j.uploadId === 'string' &&
    typeof j.contentType === 'string' &&
    KINDS.includes(j.kind as UploadKind) &&
    STATUSES.includes(j.status as UploadJobStatus) &&
    orNull(j.activityId, (v) => typeof v === 'string') &&
    orNull(j.error, (v) => typeof v === 'string') &&
    orNull(j.nextAttemptAt, time) &&
    orNull(j.sizeBytes, count) &&
    count(j.attempts) &&
    count(j.countedFailures) &&
    count(j.consecutiveFailures) &&
    time(j.createdAt) &&
    time(j.updatedAt)
  );
}
