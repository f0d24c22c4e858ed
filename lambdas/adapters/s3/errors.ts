/**
 * Typed errors of the S3 adapter, and the translation of SDK exceptions at the boundary.
 * Each is a `SyncError`, so the HTTP error mapper knows its status; the FIT processor can
 * tell a missing or oversized object from a transient fault with `instanceof`.
 */
import { InternalError, NotFoundError, PayloadTooLargeError, ThrottledError } from '../../core/errors.js';

/** The object does not exist (deleted, never uploaded, or a stale event). */
export class ObjectNotFoundError extends NotFoundError {
  constructor(
    readonly bucket: string,
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super('the file was not found', [], options);
  }
}

/** The object is larger than the reader accepts; it was not read. */
export class ObjectTooLargeError extends PayloadTooLargeError {
  constructor(
    readonly key: string,
    readonly maxBytes: number,
    /** The size S3 reported, or the bytes read before giving up when it reported none. */
    readonly size: number,
  ) {
    super(`the file is larger than ${maxBytes} bytes`, [{ path: 'size_bytes', field: 'size_bytes', message: `must be at most ${maxBytes} bytes` }]);
  }
}

/** S3 refused our own credentials (IAM or bucket policy): a deployment fault, a 500 to callers. */
export class StorageAccessDeniedError extends InternalError {}

/** The bucket does not exist (GetObject says so; HeadObject's bodiless 404 cannot): a deployment fault. */
export class BucketNotFoundError extends InternalError {}

/** The object's bytes did not match what S3 said it would send (length). */
export class ObjectReadError extends InternalError {}

const THROTTLING = new Set(['SlowDown', 'ThrottlingException', 'Throttling', 'RequestLimitExceeded', 'TooManyRequestsException', 'ServiceUnavailable', 'RequestThrottled']);
const NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);
const DENIED = new Set(['AccessDenied', 'Forbidden', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AllAccessDisabled']);

interface SdkErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Translates S3 SDK exceptions into typed errors; anything else is returned unchanged. */
export function translateS3Error(e: unknown, where: { bucket: string; key: string }): unknown {
  if (!(e instanceof Error)) return e;
  const s = e as Error & SdkErrorShape;
  const name = s.Code ?? s.name;
  const status = s.$metadata?.httpStatusCode;
  if (name === 'NoSuchBucket') return new BucketNotFoundError(`bucket ${where.bucket} does not exist`, [], { cause: e });
  if (NOT_FOUND.has(name) || (status === 404 && name !== 'NoSuchUpload')) return new ObjectNotFoundError(where.bucket, where.key, { cause: e });
  if (THROTTLING.has(name) || status === 503 || status === 429) return new ThrottledError('file storage is busy; retry shortly', 1, { cause: e });
  if (DENIED.has(name) || status === 403) {
    return new StorageAccessDeniedError(`access to s3://${where.bucket}/${where.key} denied (${name})`, [], { cause: e });
  }
  return e;
}
