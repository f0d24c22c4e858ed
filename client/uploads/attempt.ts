/**
 * One attempt at one job: read the file once, hash it, presign (`POST /api/v1/uploads` with the
 * job's own `upload_id`, so a retry re-presigns the same upload), and send it to S3 unless the
 * server says the file already arrived. Returns what happened; the queue persists it.
 */
import { Q, type Database } from '@nozbe/watermelondb';
import { SyncHttpError } from '../errors.js';
import { parseRetryAfter, type Transport } from '../http.js';
import { fail, isMissingFileError, messageOf, presignFailure, retry, storageOutcome, type AttemptFailure } from './failures.js';
import type { StoredJob } from './job-store.js';
import type { HashFile, ReadFile, UploadFetch, UploadPhase } from './types.js';

export const UPLOADS_PATH = '/api/v1/uploads';

export interface AttemptDeps {
  readonly transport: Transport;
  readonly fetch: UploadFetch;
  readonly readFile: ReadFile;
  readonly hash: HashFile;
  readonly database: Database;
  /** Aborted when the queue stops: the send is cancelled where `fetch` supports it. */
  readonly signal: AbortSignal;
  readonly onPhase: (phase: UploadPhase) => void;
}

export type AttemptResult = ({ readonly kind: 'uploaded' } | AttemptFailure) & { readonly sizeBytes: number | null };

/** What `POST /api/v1/uploads` answers (201 new, 200 the same upload again). */
interface PresignAnswer {
  readonly url: string;
  readonly fields: Readonly<Record<string, string>>;
  /** Present when the file already arrived: nothing to send. */
  readonly status?: string;
}

export async function runAttempt(job: StoredJob, deps: AttemptDeps): Promise<AttemptResult> {
  deps.onPhase('reading');
  let data: Blob | Uint8Array | ArrayBuffer | null;
  try {
    data = await deps.readFile(job.uri);
  } catch (e) {
    if (isMissingFileError(e)) return missingFile(job);
    return { ...retry(`could not read the file: ${messageOf(e)}`, true), sizeBytes: null };
  }
  if (data === null || data === undefined) return missingFile(job);
  // A platform's file object may implement Blob without extending this engine's Blob class.
  let bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : undefined;
  const sizeBytes = bytes ? bytes.byteLength : (data as Blob).size;

  deps.onPhase('hashing');
  let sha256: string;
  try {
    sha256 = (await deps.hash(bytes ?? (data as Blob))).toLowerCase();
  } catch (e) {
    return { ...retry(`could not read the file: ${messageOf(e)}`, true), sizeBytes };
  }
  // Bytes become a Blob before anything reaches the server, and the bytes are let go: the attempt
  // holds one copy from here on. A platform that cannot build a Blob from bytes (React Native's
  // own Blob) fails the job before any upload record exists, with a reason that says what to change.
  let file: Blob;
  try {
    file = bytes ? new Blob([bytes as Uint8Array<ArrayBuffer>], { type: job.contentType }) : (data as Blob);
  } catch (e) {
    return { ...fail(`this platform cannot send bytes (${messageOf(e)}): make readFile return a Blob`), sizeBytes };
  }
  data = null;
  bytes = undefined;
  const request = JSON.stringify({
    kind: job.kind,
    content_type: job.contentType,
    size_bytes: sizeBytes,
    activity_id: job.activityId,
    sha256,
    upload_id: job.uploadId,
  });

  // An expired policy is presigned again at once, once; a second expiry waits like any failure.
  for (let round = 0; ; round++) {
    deps.onPhase('presigning');
    let answer: PresignAnswer;
    try {
      answer = parsePresignAnswer(await deps.transport.request('POST', [], request, UPLOADS_PATH), job.uploadId);
    } catch (e) {
      return { ...(await presignFailureFor(job, e, deps.database)), sizeBytes };
    }
    if (answer.status !== undefined) return { kind: 'uploaded', sizeBytes };

    deps.onPhase('sending');
    const form = new FormData();
    // S3 reads the policy fields first; the file must be the last part.
    for (const [name, value] of Object.entries(answer.fields)) form.append(name, value);
    form.append('file', file, fileName(job));
    let status: number;
    let body: string;
    let retryAfter: string | null;
    try {
      // S3 never redirects a presigned POST; `redirect: 'error'` also keeps Node's fetch from
      // holding a second copy of the body in case it had to replay it.
      const res = await deps.fetch(answer.url, { method: 'POST', body: form, signal: deps.signal, redirect: 'error' });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      body = await res.text();
    } catch (e) {
      // Whether or not S3 kept the bytes, the next attempt's presign tells (and skips a re-send).
      return { ...retry(`the upload was interrupted (${messageOf(e)})`, false), sizeBytes };
    }
    const seconds = parseRetryAfter(retryAfter);
    const outcome = storageOutcome(status, body, seconds === undefined ? undefined : seconds * 1000);
    if (outcome.kind === 'stored') return { kind: 'uploaded', sizeBytes };
    if (outcome.kind === 'expired') {
      if (round === 0) continue;
      return { ...retry(outcome.reason, true), sizeBytes };
    }
    return { ...outcome, sizeBytes };
  }
}

/**
 * A 404 on `activity_id` usually means the activity was recorded on this device and not pushed
 * yet: the job waits for the next sync instead of failing. Only an activity this device does not
 * hold unpushed (deleted, or someone else's) fails the job.
 */
async function presignFailureFor(job: StoredJob, error: unknown, database: Database): Promise<AttemptFailure> {
  const failure = presignFailure(error);
  const aboutActivity = error instanceof SyncHttpError && error.status === 404 && error.details.some((d) => (d.field ?? d.path) === 'activity_id');
  if (failure.kind === 'fail' && aboutActivity && job.activityId !== null && (await awaitsFirstPush(database, job.activityId))) {
    return retry(`waiting for activity ${job.activityId} to reach the server (the next sync sends it)`, false);
  }
  return failure;
}

async function awaitsFirstPush(database: Database, activityId: string): Promise<boolean> {
  try {
    const [activity] = await database.get('activities').query(Q.where('id', activityId)).fetch();
    return activity?._raw._status === 'created';
  } catch {
    return false;
  }
}

function parsePresignAnswer(value: unknown, uploadId: string): PresignAnswer {
  const v = value as Partial<PresignAnswer> & { upload_id?: unknown; method?: unknown };
  const fieldsOk = typeof v?.fields === 'object' && v.fields !== null && Object.values(v.fields).every((f) => typeof f === 'string');
  if (typeof v !== 'object' || v === null || v.upload_id !== uploadId || v.method !== 'POST' || typeof v.url !== 'string' || !fieldsOk) {
    throw new Error(`POST ${UPLOADS_PATH} answered something that is not a presigned upload for ${uploadId}`);
  }
  return { url: v.url, fields: v.fields!, ...(typeof v.status === 'string' ? { status: v.status } : {}) };
}

const missingFile = (job: StoredJob): AttemptResult => ({ ...fail(`the file no longer exists: ${job.uri}`), sizeBytes: null });

function fileName(job: StoredJob): string {
  const last = job.uri.split(/[/\\]/).pop();
  return last && last.length > 0 ? last : `${job.uploadId}.${job.kind}`;
}
