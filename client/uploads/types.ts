/**
 * The public shapes of the upload queue: what the app enqueues, what `jobs()` lists, what
 * `subscribe()` reports, and the platform hooks it injects (file reading, HTTP, hashing).
 */
import type { FetchResponseLike } from '../http.js';

export type UploadKind = 'fit' | 'image';

/**
 * - `pending`: waiting for its next attempt (new, or after a failure that will be retried)
 * - `uploading`: an attempt is running (or was running when the app was killed: resumed)
 * - `uploaded`: the file is stored; `uploadId` names the synced `uploads` record
 * - `failed`: will not be retried (the server refused it, the file is gone, or retries ran out)
 */
export type UploadJobStatus = 'pending' | 'uploading' | 'uploaded' | 'failed';

export interface UploadJob {
  readonly id: string;
  readonly uri: string;
  readonly kind: UploadKind;
  readonly contentType: string;
  readonly activityId: string | null;
  readonly status: UploadJobStatus;
  /** Attempts started so far (an attempt = read the file, presign, send). */
  readonly attempts: number;
  /**
   * The `uploads` record this job creates: chosen when the job is enqueued and sent as
   * `upload_id` with every presign, so retries re-presign the same upload. Sync brings the record
   * (`status` pending → processing → processed | failed, `error`) once the first presign landed.
   */
  readonly uploadId: string;
  /** Why the last attempt failed (kept while retrying), or null. */
  readonly error: string | null;
  /** When the next automatic attempt is due (epoch ms); null when none is scheduled. */
  readonly nextAttemptAt: number | null;
  /** From the last time the file was read; null before. */
  readonly sizeBytes: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface EnqueueInput {
  /** Where `readFile` finds the bytes (e.g. a `file://` URI of the app's document directory). */
  readonly uri: string;
  readonly kind: UploadKind;
  /** e.g. `application/vnd.ant.fit`, `image/jpeg`. */
  readonly contentType: string;
  /** The activity the file belongs to; a FIT file without one creates its own activity. */
  readonly activityId?: string | null;
}

/**
 * The bytes of one file, as the platform gives them. A Blob (file-backed where the platform has
 * it, e.g. expo-file-system's `File`) is hashed in slices and sent as is, never held whole in
 * JavaScript. Bytes are wrapped in a Blob for `FormData`: fine in Node and browsers, but React
 * Native's Blob cannot be built from bytes, so there `readFile` must return a Blob.
 */
export type UploadFileData = Blob | Uint8Array | ArrayBuffer;

/**
 * Reads the file at `uri`. Resolve `null` (or reject with an error whose `code` is `ENOENT`) when
 * it does not exist: the job then fails for good. Any other rejection is retried.
 */
export type ReadFile = (uri: string) => Promise<UploadFileData | null>;

/** Hex SHA-256 of the file; defaults to a pure-JS digest, apps may inject a native one. */
export type HashFile = (file: Blob | Uint8Array) => Promise<string>;

/** The part of `fetch` the queue calls: JSON to the API, a multipart form to S3. */
export type UploadFetch = (
  url: string,
  init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string | FormData; signal?: AbortSignal; redirect?: 'error' },
) => Promise<FetchResponseLike>;

export type UploadPhase = 'reading' | 'hashing' | 'presigning' | 'sending';

export type UploadQueueEvent =
  /** A job was added, changed status, or was removed (`removed: true`). */
  | { readonly type: 'job'; readonly job: UploadJob; readonly removed?: boolean }
  /** Progress inside an attempt, for a spinner or a progress label. */
  | { readonly type: 'phase'; readonly jobId: string; readonly phase: UploadPhase };

export type UploadQueueListener = (event: UploadQueueEvent) => void;
