/**
 * The pure rules of file uploads (FIT files and images): the `POST /api/v1/uploads` request,
 * per-kind content types and size limits, the S3 object key layout, and the `uploads` record a
 * new upload starts as. No AWS, no Node built-ins: the S3 adapter (`adapters/s3/`) implements
 * `UploadObjects`, handlers wire the two.
 *
 * ## Request (contract v1, plus one idempotent extension)
 * ```json
 * {"kind": "fit"|"image", "content_type": "…", "size_bytes": N, "activity_id": "…"|null,
 *  "sha256": "<64 hex>"|null, "upload_id": "…"}
 * ```
 * - `sha256`: the file's SHA-256 as **64 hexadecimal digits** (what `sha256sum`, Node's
 *   `digest('hex')` and most mobile hashing libraries print); upper case is accepted and
 *   normalised to lower case. The S3 adapter converts it to the base64 form S3's
 *   `x-amz-checksum-sha256` wants. `null` or absent: no checksum.
 * - `activity_id`: optional, `null` when absent.
 * - `upload_id` (**extension of contract v1, backwards compatible**): optional, a client-chosen
 *   id with the record-id pattern (`[A-Za-z0-9_-]{1,64}`). A request that repeats the same
 *   `upload_id` with the same `kind`, `content_type`, `size_bytes`, `activity_id` and `sha256`
 *   is idempotent: it creates nothing new and re-presigns the same object key (see
 *   `planUploadRequest`). Without it the server picks the id, as contract v1 always did.
 *
 * ## Object keys
 * `users/<user>/<kind>/<upload_id><suffix>` with suffix `.fit` (FIT) or `.image` (images); see
 * `uploadObjectKey`. S3 event notifications filter only on one prefix and one suffix per
 * configuration, and two configurations for the same event type may not overlap, so each kind
 * gets its own fixed suffix: the FIT processor subscribes with `prefix: 'users/', suffix: '.fit'`
 * (`UPLOAD_EVENT_FILTERS.fit`) and never sees images, and an image notification can use
 * `.image` without overlapping it. Keys use only `[A-Za-z0-9._/-]`, so the URL-encoded key of
 * an AWS S3 event and the raw key s3rver emits are the same string.
 */
import * as z from 'zod';
import { ValidationError, type ErrorDetail } from './errors.js';
import { RECORD_ID_PATTERN, type RecordData } from './schema.js';

export const UPLOAD_KINDS = ['fit', 'image'] as const;
export type UploadKind = (typeof UPLOAD_KINDS)[number];

export const UPLOAD_STATUSES = ['pending', 'processing', 'processed', 'failed'] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

export const MIB = 1024 * 1024;

/**
 * Messages the processor decodes at most. Garmin's SDK keeps every decoded message as an object
 * until it returns (~0.7–0.8 KB each, whatever the fields), so memory grows with this count:
 * measured with the handler bundled as deployed (bench/fit.ts), 398,000 records of 18 fields peak
 * at 396 MB RSS in 4.3 s, inside the 512 MB / 60 s Lambda. (~110 h of 1 Hz recording.)
 */
export const FIT_MAX_MESSAGES = 400_000;

/**
 * The fewest bytes per message, on average over a whole file, of any real recording we have: the
 * 40 decodable files of ../shared/fixtures/fit with ≥ 1,000 messages average 11 (a Suunto
 * strength session) to 51 bytes; GPS runs and rides 23–45. (A FIT message can be 2 bytes, but
 * no device writes files of them.)
 */
export const MIN_FIT_BYTES_PER_MESSAGE = 11;

/**
 * The largest FIT upload, bytes: the one constant of the presign policy (FIT_MAX_BYTES, lower
 * only) and the processor. A file this size holds at most FIT_MAX_MESSAGES messages of the
 * smallest real average size, so what the presign accepts the processor processes within its
 * memory and timeout: 4,400,000 bytes (4.2 MiB). Measured at this size (bench/fit.ts): 399,908
 * records of 11 bytes peak at 348 MB RSS in 1.0 s; 93,594 rich records (26 h at 1 Hz) at 185 MB.
 */
export const FIT_MAX_BYTES = FIT_MAX_MESSAGES * MIN_FIT_BYTES_PER_MESSAGE;

export interface KindLimits {
  /** Largest file accepted, in bytes (the presigned POST's content-length-range maximum). */
  readonly maxBytes: number;
  /** Accepted `content_type` values, lower case. */
  readonly contentTypes: readonly string[];
}
export type UploadLimits = Readonly<Record<UploadKind, KindLimits>>;

/** FIT ≤ FIT_MAX_BYTES (4,400,000 bytes: the processor's proven bound, see FIT_MAX_BYTES above), images ≤ 10 MiB. */
export const DEFAULT_UPLOAD_LIMITS: UploadLimits = Object.freeze({
  fit: Object.freeze({ maxBytes: FIT_MAX_BYTES, contentTypes: Object.freeze(['application/vnd.ant.fit', 'application/octet-stream']) }),
  image: Object.freeze({ maxBytes: 10 * MIB, contentTypes: Object.freeze(['image/jpeg', 'image/png', 'image/heic', 'image/webp']) }),
});

/** Limits with other maximum sizes (e.g. from configuration); content types stay the defaults. */
export function uploadLimits(maxBytes: Partial<Record<UploadKind, number>> = {}): UploadLimits {
  const limits = {} as Record<UploadKind, KindLimits>;
  for (const kind of UPLOAD_KINDS) {
    const max = maxBytes[kind] ?? DEFAULT_UPLOAD_LIMITS[kind].maxBytes;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`upload limit of '${kind}' must be a positive integer, got ${max}`);
    limits[kind] = Object.freeze({ maxBytes: max, contentTypes: DEFAULT_UPLOAD_LIMITS[kind].contentTypes });
  }
  return Object.freeze(limits);
}

/** Lifetime of a presigned upload (POST policy) and of a presigned download (GET URL). */
export const DEFAULT_UPLOAD_URL_TTL_SECONDS = 15 * 60;
export const DEFAULT_DOWNLOAD_URL_TTL_SECONDS = 5 * 60;
/** SigV4 presigned requests live at most 7 days; anything under a minute is useless on a phone. */
export const MIN_URL_TTL_SECONDS = 60;
export const MAX_URL_TTL_SECONDS = 7 * 24 * 3600;

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

/** A parsed `POST /api/v1/uploads` body. */
export interface UploadRequest {
  readonly kind: UploadKind;
  /** Lower case, one of the kind's content types. */
  readonly contentType: string;
  readonly sizeBytes: number;
  readonly activityId: string | null;
  /** 64 lower-case hex digits, or null. */
  readonly sha256: string | null;
  /** The client-chosen id (idempotent retries), or null: the server picks one. */
  readonly uploadId: string | null;
}

const FIELDS = ['kind', 'content_type', 'size_bytes', 'activity_id', 'sha256', 'upload_id'] as const;

function requestSchema(limits: UploadLimits) {
  return z
    .strictObject({
      kind: z.string().pipe(z.enum(UPLOAD_KINDS, { error: `must be one of ${UPLOAD_KINDS.map((k) => `'${k}'`).join(', ')}` })),
      content_type: z.string().min(1, 'must not be empty').max(255, 'must be at most 255 characters'),
      size_bytes: z.number().int('must be an integer').min(1, 'must be at least 1'),
      activity_id: z.string().regex(RECORD_ID_PATTERN, 'must match [A-Za-z0-9_-]{1,64}').nullable().optional(),
      sha256: z.string().regex(SHA256_HEX, "must be the file's SHA-256 as 64 hexadecimal digits").nullable().optional(),
      // 60, not 64: the activity a FIT upload creates is `fit-<upload_id>`, itself a record id.
      upload_id: z.string().regex(/^[A-Za-z0-9_-]{1,60}$/, 'must match [A-Za-z0-9_-]{1,60}').nullable().optional(),
    })
    .superRefine((body, ctx) => {
      // Rules that depend on the kind; the base checks above already passed.
      const l = limits[body.kind] as KindLimits | undefined;
      if (!l || typeof body.content_type !== 'string' || typeof body.size_bytes !== 'number') return;
      const type = body.content_type.trim().toLowerCase();
      const alreadyReported = body.content_type.length === 0 || body.content_type.length > 255;
      if (!alreadyReported && !l.contentTypes.includes(type)) {
        ctx.addIssue({ code: 'custom', path: ['content_type'], message: `must be one of ${l.contentTypes.join(', ')} for kind '${body.kind}'` });
      }
      if (body.size_bytes > l.maxBytes) {
        ctx.addIssue({ code: 'custom', path: ['size_bytes'], message: `must be at most ${l.maxBytes} bytes for kind '${body.kind}'` });
      }
    });
}

const schemas = new WeakMap<UploadLimits, ReturnType<typeof requestSchema>>();

/**
 * Parses a `POST /api/v1/uploads` body. Throws `ValidationError` whose details name each bad
 * field: `{ path, field, message }` (`path` = `field` = e.g. `size_bytes`).
 */
export function parseUploadRequest(body: unknown, limits: UploadLimits = DEFAULT_UPLOAD_LIMITS): UploadRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('invalid upload request', [{ path: '', message: 'expected a JSON object' }]);
  }
  let schema = schemas.get(limits);
  if (!schema) schemas.set(limits, (schema = requestSchema(limits)));
  const r = schema.safeParse(body);
  if (!r.success) throw new ValidationError('invalid upload request', uploadErrorDetails(r.error, body as Record<string, unknown>));
  const d = r.data;
  return {
    kind: d.kind,
    contentType: d.content_type.trim().toLowerCase(),
    sizeBytes: d.size_bytes,
    activityId: d.activity_id ?? null,
    sha256: d.sha256 ? d.sha256.toLowerCase() : null,
    uploadId: d.upload_id ?? null,
  };
}

function uploadErrorDetails(error: z.ZodError, body: Record<string, unknown>): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) details.push({ path: key, field: key, message: `unknown field '${key}'` });
      continue;
    }
    const field = String(issue.path[0] ?? '');
    const missing = field !== '' && !Object.prototype.hasOwnProperty.call(body, field);
    const message = missing ? 'is required' : issue.code === 'invalid_type' && issue.expected !== 'int' ? `expected ${issue.expected}` : issue.message;
    details.push(field ? { path: issue.path.map(String).join('.'), field, message } : { path: '', message });
  }
  return details;
}

/** The id of the activity a FIT upload without `activity_id` creates (a record id: ≤ 64 characters). */
export const activityIdForUpload = (uploadId: string) => `fit-${uploadId}`;

/** The zod schema of a `POST /api/v1/uploads` body under `limits` (for the OpenAPI document). */
export function uploadRequestSchema(limits: UploadLimits = DEFAULT_UPLOAD_LIMITS) {
  return requestSchema(limits);
}

/** The request fields, for docs and tests. */
export const UPLOAD_REQUEST_FIELDS: readonly string[] = FIELDS;

// ---------------------------------------------------------------------------------------------
// Object keys

export const UPLOADS_KEY_PREFIX = 'users/';
export const UPLOAD_KEY_SUFFIX: Readonly<Record<UploadKind, string>> = Object.freeze({ fit: '.fit', image: '.image' });

/** S3 event-notification filters, one per kind (they do not overlap). */
export const UPLOAD_EVENT_FILTERS: Readonly<Record<UploadKind, { readonly prefix: string; readonly suffix: string }>> = Object.freeze({
  fit: Object.freeze({ prefix: UPLOADS_KEY_PREFIX, suffix: UPLOAD_KEY_SUFFIX.fit }),
  image: Object.freeze({ prefix: UPLOADS_KEY_PREFIX, suffix: UPLOAD_KEY_SUFFIX.image }),
});
/** What the FIT processor's notification filters on: every FIT key, and nothing else, matches. */
export const FIT_EVENT_FILTER = UPLOAD_EVENT_FILTERS.fit;

export interface UploadKeyParts {
  /** The owner: the token's `sub`. */
  readonly userId: string;
  readonly kind: UploadKind;
  readonly uploadId: string;
}

/** A `sub` that is already a safe key segment is used as is (Cognito subs are UUIDs). */
const PLAIN_USER_SEGMENT = /^[A-Za-z0-9_-]{1,128}$/;
/** Other subs (`auth0|…`, e-mail-like, non-ASCII) become `.` + base64url(UTF-8): never `/`, `.` or `..`. */
const ENCODED_USER_SEGMENT = /^\.[A-Za-z0-9_-]{2,}$/;
const MAX_USER_ID_BYTES = 256;

/**
 * `users/<user>/<kind>/<upload_id><.fit|.image>`. `<user>` is the `sub` itself when it matches
 * `[A-Za-z0-9_-]{1,128}`, otherwise `.` followed by the base64url of its UTF-8 bytes, so a key
 * never holds `/`, `..` or characters S3 events would URL-encode. Throws `ValidationError` for
 * an empty or over-long (> 256 bytes) user id or a malformed upload id.
 */
export function uploadObjectKey(parts: UploadKeyParts): string {
  if (!RECORD_ID_PATTERN.test(parts.uploadId)) {
    throw new ValidationError('invalid upload id', [{ path: 'upload_id', field: 'upload_id', message: 'must match [A-Za-z0-9_-]{1,64}' }]);
  }
  if (!(UPLOAD_KINDS as readonly string[]).includes(parts.kind)) {
    throw new ValidationError('invalid upload kind', [{ path: 'kind', field: 'kind', message: `unknown kind '${String(parts.kind)}'` }]);
  }
  return `${UPLOADS_KEY_PREFIX}${userSegment(parts.userId)}/${parts.kind}/${parts.uploadId}${UPLOAD_KEY_SUFFIX[parts.kind]}`;
}

/** `users/<user>/`: the prefix of every object of one user (account export and erasure). */
export function userObjectsPrefix(userId: string): string {
  return `${UPLOADS_KEY_PREFIX}${userSegment(userId)}/`;
}

/**
 * Account exports written as files live under their own top-level prefix, `exports/<user>/`, not
 * under `users/`: one lifecycle rule on the prefix expires them, only the export function may
 * write or read there, and the uploads' event notifications (on `users/`) never see them.
 */
export const EXPORTS_KEY_PREFIX = 'exports/';

/** `exports/<user>/`: every export file of one user (removed by account erasure too). */
export function userExportsPrefix(userId: string): string {
  return `${EXPORTS_KEY_PREFIX}${userSegment(userId)}/`;
}

/** `exports/<user>/<export_id>.json`; `exportId` is a record-id-shaped token the server chose. */
export function exportObjectKey(userId: string, exportId: string): string {
  if (!RECORD_ID_PATTERN.test(exportId)) throw new RangeError('export id must match [A-Za-z0-9_-]{1,64}');
  return `${userExportsPrefix(userId)}${exportId}.json`;
}

/** Every prefix holding objects of one user: uploads and export files (what erasure empties). */
export function accountObjectPrefixes(userId: string): readonly string[] {
  return [userObjectsPrefix(userId), userExportsPrefix(userId)];
}

function userSegment(userId: string): string {
  if (PLAIN_USER_SEGMENT.test(userId)) return userId;
  const bytes = utf8.encode(userId);
  if (userId.length === 0 || bytes.length > MAX_USER_ID_BYTES) {
    throw new ValidationError('invalid user id', [{ path: 'sub', message: `must be 1 to ${MAX_USER_ID_BYTES} UTF-8 bytes` }]);
  }
  return `.${base64url(bytes)}`;
}

/**
 * The inverse of `uploadObjectKey`, or null for any key outside the layout: another prefix,
 * extra or empty segments, `..`, an unknown kind, a suffix that does not match the kind, a
 * malformed id, or a non-canonical user segment. Callers (the FIT processor) ignore null keys.
 */
export function parseUploadObjectKey(key: string): UploadKeyParts | null {
  if (typeof key !== 'string' || key.length > 1024 || !key.startsWith(UPLOADS_KEY_PREFIX)) return null;
  const segments = key.slice(UPLOADS_KEY_PREFIX.length).split('/');
  if (segments.length !== 3) return null;
  const [user, kind, file] = segments as [string, string, string];
  if (!(UPLOAD_KINDS as readonly string[]).includes(kind)) return null;
  const k = kind as UploadKind;
  const suffix = UPLOAD_KEY_SUFFIX[k];
  if (!file.endsWith(suffix)) return null;
  const uploadId = file.slice(0, -suffix.length);
  if (!RECORD_ID_PATTERN.test(uploadId)) return null;
  let userId: string;
  if (PLAIN_USER_SEGMENT.test(user)) userId = user;
  else if (ENCODED_USER_SEGMENT.test(user)) {
    const decoded = decodeUserSegment(user.slice(1));
    if (decoded === null) return null;
    userId = decoded;
  } else return null;
  // Only the canonical spelling of a key is accepted (one key per upload).
  try {
    if (uploadObjectKey({ userId, kind: k, uploadId }) !== key) return null;
  } catch {
    return null;
  }
  return { userId, kind: k, uploadId };
}

/**
 * An S3 event's `s3.object.key` is URL-encoded (`+` for space); this undoes it. Keys made by
 * `uploadObjectKey` read the same either way; returns null for a malformed encoding.
 */
export function decodeS3EventKey(eventKey: string): string | null {
  try {
    return decodeURIComponent(eventKey.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function base64url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    out += B64URL[b0 >> 2]! + B64URL[((b0 & 3) << 4) | ((b1 ?? 0) >> 4)]!;
    if (b1 !== undefined) out += B64URL[((b1 & 15) << 2) | ((b2 ?? 0) >> 6)]!;
    if (b2 !== undefined) out += B64URL[b2 & 63]!;
  }
  return out;
}

function decodeUserSegment(text: string): string | null {
  if (text.length % 4 === 1) return null;
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    const v = B64URL.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
    }
  }
  try {
    return strictUtf8.decode(new Uint8Array(bytes));
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Records and retries

/** The column values of an `uploads` record (see `schema.ts`). */
export interface UploadRecordData extends RecordData {
  kind: UploadKind;
  content_type: string;
  size_bytes: number;
  activity_id: string | null;
  status: UploadStatus;
  error: string | null;
  /** Set by the FIT processor when the file is a recording already imported (schema v2). */
  duplicate_of: string | null;
}

/** The `uploads` record a new upload starts as: `pending`, no error. */
export function newUploadRecord(request: UploadRequest): UploadRecordData {
  return {
    kind: request.kind,
    content_type: request.contentType,
    size_bytes: request.sizeBytes,
    activity_id: request.activityId,
    status: 'pending',
    error: null,
    duplicate_of: null,
  };
}

/** A fresh upload id: 16 characters of `[A-Za-z0-9]`, like WatermelonDB's own ids. */
export function newUploadId(randomBytes: (n: number) => Uint8Array = defaultRandomBytes): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let id = '';
  while (id.length < 16) {
    for (const b of randomBytes(32)) {
      // 248 = 4 × 62: rejecting the rest keeps every character equally likely.
      if (b < 248 && id.length < 16) id += alphabet[b % 62];
    }
  }
  return id;
}

function defaultRandomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/**
 * What a request with a client-chosen `upload_id` means, given the `uploads` record already
 * stored under that id for this user (undefined: none).
 * - `create`: no record yet; store `record` and presign.
 * - `represign`: the same request again (a retry), and the file has not arrived: presign the
 *   same key again, create nothing.
 * - `already_uploaded`: the same request, and the file already arrived (status past
 *   `pending`, or `objectStored`: the object exists but processing has not started yet):
 *   nothing to upload; the client should not send it again.
 * - throws `ValidationError` naming each field that differs from the stored upload (the id is
 *   taken by a different upload). The declared `sha256` is not a column: the caller passes the
 *   one it stored (e.g. in the object's metadata) as `storedSha256`, or undefined to skip it.
 */
export type UploadPlan =
  | { readonly action: 'create'; readonly record: UploadRecordData }
  | { readonly action: 'represign' }
  | { readonly action: 'already_uploaded'; readonly status: UploadStatus };

export function planUploadRequest(request: UploadRequest, existing: RecordData | undefined, storedSha256?: string | null, objectStored = false): UploadPlan {
  if (existing === undefined) return { action: 'create', record: newUploadRecord(request) };
  const wanted = newUploadRecord(request);
  const details: ErrorDetail[] = [];
  for (const column of ['kind', 'content_type', 'size_bytes', 'activity_id'] as const) {
    if (existing[column] !== wanted[column]) {
      details.push({ path: column, field: column, message: `differs from the upload already created with this upload_id` });
    }
  }
  if (storedSha256 !== undefined && (storedSha256 ?? null) !== request.sha256) {
    details.push({ path: 'sha256', field: 'sha256', message: 'differs from the upload already created with this upload_id' });
  }
  if (details.length > 0) throw new ValidationError('upload_id is already used by a different upload', details);
  const status = existing.status as UploadStatus;
  // A `pending` upload whose object is already stored arrived before its processing started
  // (S3 delivers the event later): sending the file again would only duplicate that work.
  return status === 'pending' && !objectStored ? { action: 'represign' } : { action: 'already_uploaded', status };
}

// ---------------------------------------------------------------------------------------------
// The storage port

export interface PresignedUpload {
  readonly method: 'POST';
  /** Where to POST the multipart form. */
  readonly url: string;
  /** Form fields to send, in order, before the `file` part. */
  readonly fields: Readonly<Record<string, string>>;
  /** When the policy expires, ms since the epoch. */
  readonly expires_at: number;
}

export interface PresignedDownload {
  readonly url: string;
  readonly expires_at: number;
}

export interface StoredObjectInfo {
  readonly size: number;
  readonly contentType: string | null;
  /** SHA-256 (64 lower-case hex) S3 computed and checked at upload, when it has one. */
  readonly checksumSha256: string | null;
  /** SHA-256 the client declared when presigning (signed into the upload as metadata). */
  readonly declaredSha256: string | null;
}

/** What upload handlers and the FIT processor need from object storage (S3 adapter: `S3UploadObjects`). */
export interface UploadObjects {
  presignUpload(input: {
    key: string;
    contentType: string;
    maxBytes: number;
    minBytes?: number;
    sha256?: string | null;
    expiresInSeconds?: number;
  }): Promise<PresignedUpload>;
  presignDownload(input: { key: string; expiresInSeconds?: number }): Promise<PresignedDownload>;
  /** null when there is no such object. */
  head(key: string): Promise<StoredObjectInfo | null>;
  /** The object's bytes; refuses objects larger than `maxBytes` without reading them. */
  read(key: string, maxBytes: number): Promise<Uint8Array>;
}
