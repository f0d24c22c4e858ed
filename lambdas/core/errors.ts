import type { StoredRecord } from './records.js';

/**
 * One error family for the whole service. Each error carries its HTTP meaning
 * (`statusCode`, `code`, `expose`) so one mapper turns any of them into the v1 error body;
 * anything else becomes a bare 500 whose body never echoes internals.
 */

export interface ErrorDetail {
  /** Dotted path of the offending value, e.g. `changes.activities.updated.0.distance_m`. */
  readonly path: string;
  readonly message: string;
  readonly table?: string;
  readonly record_id?: string;
  readonly field?: string;
}

export abstract class SyncError extends Error {
  abstract readonly statusCode: number;
  abstract readonly code: string;
  /** Whether `message` may be shown to the caller (4xx: yes; 5xx: no). */
  get expose(): boolean {
    return this.statusCode < 500;
  }
  readonly details: readonly ErrorDetail[];
  constructor(message: string, details: readonly ErrorDetail[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }
}

export class ValidationError extends SyncError {
  readonly statusCode = 400;
  readonly code = 'validation_error';
}

/** A pull cursor that is malformed, tampered with, expired, or belongs to another user or pull. */
export class InvalidCursorError extends SyncError {
  readonly statusCode = 400;
  readonly code = 'invalid_cursor';
}

export class UnauthorizedError extends SyncError {
  readonly statusCode = 401;
  readonly code = 'unauthorized';
}

export class ForbiddenError extends SyncError {
  readonly statusCode = 403;
  readonly code = 'forbidden';
}

export class NotFoundError extends SyncError {
  readonly statusCode = 404;
  readonly code = 'not_found';
}

export class MethodNotAllowedError extends SyncError {
  readonly statusCode = 405;
  readonly code = 'method_not_allowed';
}

export class PayloadTooLargeError extends SyncError {
  readonly statusCode = 413;
  readonly code = 'payload_too_large';
}

export class UnsupportedMediaTypeError extends SyncError {
  readonly statusCode = 415;
  readonly code = 'unsupported_media_type';
}

/** A refusal the caller should simply repeat after `retryAfterSeconds` (sent as `Retry-After`). */
export abstract class RetryLaterError extends SyncError {
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
    options?: ErrorOptions,
  ) {
    super(message, [], options);
  }
}

/** The store (or API Gateway) is throttling; retry after `retryAfterSeconds`. */
export class ThrottledError extends RetryLaterError {
  readonly statusCode = 429;
  readonly code = 'throttled';
}

/** A push ran out of its write window; nothing is lost, the client retries the whole push. */
export class PushDeadlineError extends SyncError {
  readonly statusCode = 503;
  readonly code = 'push_deadline_exceeded';
  override get expose(): boolean {
    return true;
  }
}

/**
 * Writers of one user kept colliding (the per-user clock, or one record) until the attempts ran
 * out: nothing half-done remains (every write is whole and conditional), the caller retries.
 */
export class ContentionError extends RetryLaterError {
  readonly statusCode = 503;
  readonly code = 'contention';
  override get expose(): boolean {
    return true;
  }
}

/**
 * A conditional write lost a race: the stored record changed between our read and our write.
 * Carries the item now stored (when the engine returns it) so the caller can re-plan without
 * a second read.
 */
export class ConditionFailedError extends SyncError {
  readonly statusCode = 500;
  readonly code = 'internal_error';
  constructor(
    message: string,
    readonly current?: StoredRecord,
    options?: ErrorOptions,
  ) {
    super(message, [], options);
  }
}

export class InternalError extends SyncError {
  readonly statusCode = 500;
  readonly code = 'internal_error';
}

export function isSyncError(e: unknown): e is SyncError {
  return e instanceof SyncError;
}
