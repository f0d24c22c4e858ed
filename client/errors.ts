/**
 * The errors the sync adapter throws. Callers branch with `instanceof`: a `SyncHttpError` is an
 * answer from the server (its `code` is the contract's error code), a `SyncNetworkError` means
 * no answer arrived, a `SyncProtocolError` means an answer arrived that breaks the contract.
 */

/** One entry of the contract's `error.details`: names the table, record and field when known. */
export interface SyncErrorDetail {
  readonly path: string;
  readonly message: string;
  readonly table?: string;
  readonly record_id?: string;
  readonly field?: string;
}

/** Base of every error the adapter throws, so an app can catch sync failures in one branch. */
export abstract class SyncClientError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The server answered with a non-2xx status. */
export class SyncHttpError extends SyncClientError {
  readonly status: number;
  /** The contract's error code, e.g. `validation_error`, `invalid_cursor`, `push_deadline_exceeded`. */
  readonly code: string;
  readonly details: readonly SyncErrorDetail[];
  /** From the `Retry-After` header (429, 503), in seconds; undefined when absent. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: { status: number; code: string; message: string; details?: readonly SyncErrorDetail[]; retryAfterSeconds?: number }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** The request never got an answer: offline, DNS, connection reset, body cut off. */
export class SyncNetworkError extends SyncClientError {}

/** The server answered 2xx with something the contract does not allow (not JSON, pages disagreeing). */
export class SyncProtocolError extends SyncClientError {}
