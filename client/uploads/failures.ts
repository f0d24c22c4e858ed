/**
 * What a failed step of an attempt means for the job: try again later (and whether it counts
 * toward giving up), or stop for good with a reason a runner can read.
 */
import { SyncHttpError, SyncNetworkError } from '../errors.js';

export type AttemptFailure =
  | {
      readonly kind: 'retry';
      readonly reason: string;
      /** Counts toward `maxAttempts` (false: offline, or signed out). */
      readonly counts: boolean;
      readonly retryAfterMs?: number;
    }
  | { readonly kind: 'fail'; readonly reason: string };

/** S3 codes for credentials that expired after the form was signed. */
const EXPIRED_CREDENTIALS = new Set(['ExpiredToken', 'TokenRefreshRequired']);

/** Statuses that say "not now" rather than "not this file". */
const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export const retry = (reason: string, counts: boolean, retryAfterMs?: number): AttemptFailure =>
  retryAfterMs === undefined ? { kind: 'retry', reason, counts } : { kind: 'retry', reason, counts, retryAfterMs };
export const fail = (reason: string): AttemptFailure => ({ kind: 'fail', reason });

/** The app's `getToken` threw: the runner is signed out (or the refresh is offline), not the file's fault. */
export class TokenUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`no sign-in token: ${messageOf(cause)}`, { cause });
    this.name = 'TokenUnavailableError';
  }
}

/** A failure of `POST /api/v1/uploads` (thrown by the transport). */
export function presignFailure(error: unknown): AttemptFailure {
  if (error instanceof SyncNetworkError) return retry(`no connection to the server (${error.message})`, false);
  if (error instanceof TokenUnavailableError) return retry(error.message, false);
  if (error instanceof SyncHttpError) {
    const said = serverReason(error);
    const retryAfterMs = error.retryAfterSeconds === undefined ? undefined : error.retryAfterSeconds * 1000;
    if (error.status === 401) return retry(`not signed in: ${said}`, false, retryAfterMs);
    if (TRANSIENT_STATUS.has(error.status)) return retry(`the server is unavailable (HTTP ${error.status}): ${said}`, true, retryAfterMs);
    if (error.status >= 400 && error.status < 500) return fail(`the server refused the upload (HTTP ${error.status}): ${said}`);
    return retry(`the server answered HTTP ${error.status}: ${said}`, true, retryAfterMs);
  }
  return retry(`the server's answer was unusable: ${messageOf(error)}`, true);
}

/** The server's message and, for each named field, what is wrong with it. */
function serverReason(error: SyncHttpError): string {
  const fields = error.details.filter((d) => d.field || d.path).map((d) => `${d.field ?? d.path}: ${d.message}`);
  return fields.length > 0 ? `${error.message} (${fields.join('; ')})` : error.message;
}

export type StorageOutcome = { readonly kind: 'stored' } | { readonly kind: 'expired'; readonly reason: string } | AttemptFailure;

/**
 * S3's answer to the presigned POST. An expired policy is worth one immediate re-presign; S3's
 * throttling and 5xx are retried; anything else (too large, checksum mismatch, a policy field
 * that does not match) is a refusal of this file.
 */
export function storageOutcome(status: number, body: string, retryAfterMs?: number): StorageOutcome {
  if (status >= 200 && status < 300) return { kind: 'stored' };
  const code = xmlElement(body, 'Code');
  const message = xmlElement(body, 'Message');
  const said = [code, message].filter(Boolean).join(': ') || `HTTP ${status}`;
  // The policy's lifetime ran out (403), or the presigning role's session token did (400
  // ExpiredToken): either way a fresh presign fixes it.
  if ((status === 403 && /expired/i.test(`${code} ${message}`)) || (code !== undefined && EXPIRED_CREDENTIALS.has(code))) {
    return { kind: 'expired', reason: `the upload URL expired (${said})` };
  }
  if (TRANSIENT_STATUS.has(status) || code === 'SlowDown' || code === 'RequestTimeout') {
    return retry(`file storage is unavailable (HTTP ${status}): ${said}`, true, retryAfterMs);
  }
  if (status >= 500) return retry(`file storage answered HTTP ${status}: ${said}`, true, retryAfterMs);
  return fail(`file storage refused the file (HTTP ${status}): ${said}`);
}

function xmlElement(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m?.[1]?.trim() || undefined;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `readFile`'s way of saying the file does not exist: `null`, or a Node/Expo-style ENOENT. */
export function isMissingFileError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ERR_FILE_NOT_FOUND';
}
