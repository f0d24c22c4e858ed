/**
 * Unit tests of what a failed step of an upload attempt means: `presignFailure` (the API's
 * answer to `POST /api/v1/uploads`, as the transport throws it), `storageOutcome` (S3's answer to
 * the presigned POST) and `isMissingFileError` (the platform's "no such file").
 */
import { describe, expect, it } from 'vitest';
import { SyncHttpError, SyncNetworkError, SyncProtocolError, type SyncErrorDetail } from '../../client/errors.js';
import { isMissingFileError, presignFailure, storageOutcome } from '../../client/uploads/failures.js';

const httpError = (status: number, message = 'something went wrong', extra: { details?: SyncErrorDetail[]; retryAfterSeconds?: number; code?: string } = {}) =>
  new SyncHttpError({ status, code: extra.code ?? 'some_code', message, ...(extra.details ? { details: extra.details } : {}), ...(extra.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: extra.retryAfterSeconds }) });

const s3Xml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>4442587FB7D0A2F9</RequestId><HostId>abc=</HostId></Error>`;

describe('presignFailure', () => {
  it('no answer (SyncNetworkError): retried, not counted, with the cause in the reason', () => {
    const f = presignFailure(new SyncNetworkError('POST /api/v1/uploads failed: Network request failed'));
    expect(f).toEqual({ kind: 'retry', counts: false, reason: 'no connection to the server (POST /api/v1/uploads failed: Network request failed)' });
  });

  it('401: retried, not counted (the runner signs in again), Retry-After kept in ms', () => {
    expect(presignFailure(httpError(401, 'token expired', { code: 'unauthorized' }))).toEqual({ kind: 'retry', counts: false, reason: 'not signed in: token expired' });
    expect(presignFailure(httpError(401, 'token expired', { retryAfterSeconds: 5 }))).toEqual({ kind: 'retry', counts: false, reason: 'not signed in: token expired', retryAfterMs: 5_000 });
  });

  for (const status of [408, 425, 429, 500, 502, 503, 504]) {
    it(`${status}: retried and counted; Retry-After in ms when given, absent otherwise`, () => {
      const without = presignFailure(httpError(status, 'try later'));
      expect(without).toEqual({ kind: 'retry', counts: true, reason: `the server is unavailable (HTTP ${status}): try later` });
      expect('retryAfterMs' in without).toBe(false);
      expect(presignFailure(httpError(status, 'try later', { retryAfterSeconds: 120 }))).toEqual({
        kind: 'retry',
        counts: true,
        reason: `the server is unavailable (HTTP ${status}): try later`,
        retryAfterMs: 120_000,
      });
      expect(presignFailure(httpError(status, 'now', { retryAfterSeconds: 0 }))).toMatchObject({ kind: 'retry', counts: true, retryAfterMs: 0 });
    });
  }

  for (const status of [400, 403, 404, 409, 413, 415, 422]) {
    it(`${status}: fails for good with the server's message and each named field`, () => {
      const details: SyncErrorDetail[] = [
        { path: 'size_bytes', field: 'size_bytes', message: 'must be at most 1048576 bytes' },
        { path: 'body.content_type', field: 'content_type', message: "must be 'application/vnd.ant.fit'" },
        { path: 'activity_id', message: "no activity 'a1' in your account" },
        // Neither field nor path: nothing to name.
        { path: '', message: 'the whole request' },
      ];
      const f = presignFailure(httpError(status, 'invalid upload request', { details, retryAfterSeconds: 60 }));
      expect(f).toEqual({
        kind: 'fail',
        reason: `the server refused the upload (HTTP ${status}): invalid upload request (size_bytes: must be at most 1048576 bytes; content_type: must be 'application/vnd.ant.fit'; activity_id: no activity 'a1' in your account)`,
      });
    });
  }

  it('a refusal without details is the bare message', () => {
    expect(presignFailure(httpError(413, 'Request Entity Too Large'))).toEqual({ kind: 'fail', reason: 'the server refused the upload (HTTP 413): Request Entity Too Large' });
    expect(presignFailure(httpError(400, 'bad', { details: [{ path: '', message: 'x' }] }))).toEqual({ kind: 'fail', reason: 'the server refused the upload (HTTP 400): bad' });
  });

  it('transient statuses carry the field details too', () => {
    const f = presignFailure(httpError(503, 'deadline', { details: [{ path: 'x', field: 'sha256', message: 'could not check' }] }));
    expect(f).toMatchObject({ kind: 'retry', counts: true, reason: 'the server is unavailable (HTTP 503): deadline (sha256: could not check)' });
  });

  it('any other status (501, 505, a 3xx): retried and counted', () => {
    for (const status of [501, 505, 599, 302]) {
      expect(presignFailure(httpError(status, 'odd', { retryAfterSeconds: 2 }))).toEqual({ kind: 'retry', counts: true, reason: `the server answered HTTP ${status}: odd`, retryAfterMs: 2_000 });
      expect(presignFailure(httpError(status, 'odd'))).toEqual({ kind: 'retry', counts: true, reason: `the server answered HTTP ${status}: odd` });
    }
  });

  it('a 2xx that breaks the contract, or anything unknown: retried and counted', () => {
    expect(presignFailure(new SyncProtocolError('POST /api/v1/uploads answered 200 with a body that is not JSON'))).toEqual({
      kind: 'retry',
      counts: true,
      reason: "the server's answer was unusable: POST /api/v1/uploads answered 200 with a body that is not JSON",
    });
    expect(presignFailure(new Error('not a presigned upload for X'))).toEqual({ kind: 'retry', counts: true, reason: "the server's answer was unusable: not a presigned upload for X" });
    expect(presignFailure('boom')).toEqual({ kind: 'retry', counts: true, reason: "the server's answer was unusable: boom" });
    expect(presignFailure(undefined)).toEqual({ kind: 'retry', counts: true, reason: "the server's answer was unusable: undefined" });
  });
});

describe('storageOutcome', () => {
  it('any 2xx is stored, whatever the body', () => {
    for (const status of [200, 201, 204]) {
      expect(storageOutcome(status, '')).toEqual({ kind: 'stored' });
      expect(storageOutcome(status, s3Xml('AccessDenied', 'Policy expired'), 1_000)).toEqual({ kind: 'stored' });
    }
  });

  it('403 with an expired policy or request: expired (worth one immediate re-presign)', () => {
    expect(storageOutcome(403, s3Xml('AccessDenied', 'Invalid according to Policy: Policy expired.'))).toEqual({
      kind: 'expired',
      reason: 'the upload URL expired (AccessDenied: Invalid according to Policy: Policy expired.)',
    });
    expect(storageOutcome(403, s3Xml('AccessDenied', 'Request has expired'))).toEqual({ kind: 'expired', reason: 'the upload URL expired (AccessDenied: Request has expired)' });
  });

  it("400 ExpiredToken (the presigning Lambda's session credentials expired before the policy did): not a refusal of the file", () => {
    // S3 answers 400 ExpiredToken when the X-Amz-Security-Token signed into the POST policy has
    // expired. A new presign (new credentials) fixes it; failing the job for good does not.
    expect(storageOutcome(400, s3Xml('ExpiredToken', 'The provided token has expired.'))).toEqual({ kind: 'expired', reason: 'the upload URL expired (ExpiredToken: The provided token has expired.)' });
    expect(storageOutcome(400, s3Xml('TokenRefreshRequired', 'The provided token must be refreshed.'))).toMatchObject({ kind: 'expired' });
  });

  it('403 for anything else: fails with S3’s code and message', () => {
    const condition = 'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "application/vnd.ant.fit"]';
    expect(storageOutcome(403, s3Xml('AccessDenied', condition))).toEqual({ kind: 'fail', reason: `file storage refused the file (HTTP 403): AccessDenied: ${condition}` });
    expect(storageOutcome(403, s3Xml('SignatureDoesNotMatch', 'The request signature we calculated does not match'))).toEqual({
      kind: 'fail',
      reason: 'file storage refused the file (HTTP 403): SignatureDoesNotMatch: The request signature we calculated does not match',
    });
    // Not XML: not mistaken for an expiry.
    expect(storageOutcome(403, 'Forbidden')).toEqual({ kind: 'fail', reason: 'file storage refused the file (HTTP 403): HTTP 403' });
  });

  it('400 EntityTooLarge / BadDigest / InvalidArgument: fails with S3’s code and message', () => {
    expect(storageOutcome(400, s3Xml('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size'))).toEqual({
      kind: 'fail',
      reason: 'file storage refused the file (HTTP 400): EntityTooLarge: Your proposed upload exceeds the maximum allowed size',
    });
    expect(storageOutcome(400, s3Xml('BadDigest', 'The Content-MD5 or checksum value that you specified did not match what the server received.'))).toEqual({
      kind: 'fail',
      reason: 'file storage refused the file (HTTP 400): BadDigest: The Content-MD5 or checksum value that you specified did not match what the server received.',
    });
    expect(storageOutcome(400, s3Xml('InvalidArgument', 'POST requires exactly one file upload per request.'))).toMatchObject({ kind: 'fail' });
    // A refusal never carries a Retry-After.
    expect(storageOutcome(400, s3Xml('EntityTooLarge', 'too large'), 5_000)).not.toHaveProperty('retryAfterMs');
  });

  it('503 SlowDown and 500: retried and counted', () => {
    expect(storageOutcome(503, s3Xml('SlowDown', 'Please reduce your request rate.'))).toEqual({
      kind: 'retry',
      counts: true,
      reason: 'file storage is unavailable (HTTP 503): SlowDown: Please reduce your request rate.',
    });
    expect(storageOutcome(500, s3Xml('InternalError', 'We encountered an internal error. Please try again.'))).toEqual({
      kind: 'retry',
      counts: true,
      reason: 'file storage is unavailable (HTTP 500): InternalError: We encountered an internal error. Please try again.',
    });
    // S3 answers a slow client with 400 RequestTimeout: retried too.
    expect(storageOutcome(400, s3Xml('RequestTimeout', 'Your socket connection to the server was not read from or written to within the timeout period.'))).toMatchObject({
      kind: 'retry',
      counts: true,
    });
    // Other 5xx.
    expect(storageOutcome(501, s3Xml('NotImplemented', 'nope'))).toEqual({ kind: 'retry', counts: true, reason: 'file storage answered HTTP 501: NotImplemented: nope' });
  });

  it('keeps the Retry-After it is given (429, 503), in ms', () => {
    expect(storageOutcome(429, '', 3_000)).toEqual({ kind: 'retry', counts: true, reason: 'file storage is unavailable (HTTP 429): HTTP 429', retryAfterMs: 3_000 });
    expect(storageOutcome(503, s3Xml('SlowDown', 'slow'), 1_000)).toMatchObject({ kind: 'retry', retryAfterMs: 1_000 });
    expect(storageOutcome(503, s3Xml('SlowDown', 'slow'))).not.toHaveProperty('retryAfterMs');
  });

  it('a body that is not S3 XML: the reason names the HTTP status', () => {
    expect(storageOutcome(502, '<html><body>Bad Gateway</body></html>')).toEqual({ kind: 'retry', counts: true, reason: 'file storage is unavailable (HTTP 502): HTTP 502' });
    expect(storageOutcome(400, 'nope')).toEqual({ kind: 'fail', reason: 'file storage refused the file (HTTP 400): HTTP 400' });
    expect(storageOutcome(413, '')).toEqual({ kind: 'fail', reason: 'file storage refused the file (HTTP 413): HTTP 413' });
  });

  it('uses what it finds: a code alone, a message alone, trimmed', () => {
    expect(storageOutcome(400, '<Error><Code>MalformedPOSTRequest</Code></Error>')).toEqual({ kind: 'fail', reason: 'file storage refused the file (HTTP 400): MalformedPOSTRequest' });
    expect(storageOutcome(400, '<Error><Message>  bad form  </Message></Error>')).toEqual({ kind: 'fail', reason: 'file storage refused the file (HTTP 400): bad form' });
    expect(storageOutcome(400, '<Error><Code></Code><Message></Message></Error>')).toEqual({ kind: 'fail', reason: 'file storage refused the file (HTTP 400): HTTP 400' });
  });
});

describe('isMissingFileError', () => {
  it('recognises ENOENT (Node, react-native-fs) and ERR_FILE_NOT_FOUND (Expo)', () => {
    expect(isMissingFileError(Object.assign(new Error("ENOENT: no such file or directory, open '/x.fit'"), { code: 'ENOENT' }))).toBe(true);
    expect(isMissingFileError({ code: 'ENOENT' })).toBe(true);
    expect(isMissingFileError(Object.assign(new Error('File does not exist'), { code: 'ERR_FILE_NOT_FOUND' }))).toBe(true);
  });

  it('anything else is not a missing file', () => {
    expect(isMissingFileError(Object.assign(new Error('permission denied'), { code: 'EACCES' }))).toBe(false);
    expect(isMissingFileError(Object.assign(new Error('busy'), { code: 'EBUSY' }))).toBe(false);
    expect(isMissingFileError(new Error('ENOENT: no such file'))).toBe(false); // the message alone does not count
    expect(isMissingFileError({ code: 2 })).toBe(false);
    expect(isMissingFileError({ code: 'enoent' })).toBe(false);
    expect(isMissingFileError('ENOENT')).toBe(false);
    expect(isMissingFileError(null)).toBe(false);
    expect(isMissingFileError(undefined)).toBe(false);
    expect(isMissingFileError(42)).toBe(false);
  });
});
