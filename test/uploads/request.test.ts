import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lambdas/core/errors.js';
import { TABLES } from '../../lambdas/core/schema.js';
import {
  DEFAULT_UPLOAD_LIMITS,
  FIT_MAX_BYTES,
  MIB,
  newUploadId,
  newUploadRecord,
  parseUploadRequest,
  planUploadRequest,
  uploadLimits,
  type UploadRequest,
} from '../../lambdas/core/uploads.js';

const SHA = 'a'.repeat(64);
const valid = { kind: 'fit', content_type: 'application/vnd.ant.fit', size_bytes: 1234, activity_id: null, sha256: null };

function details(body: unknown, limits = DEFAULT_UPLOAD_LIMITS) {
  try {
    parseUploadRequest(body, limits);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).details;
  }
  throw new Error('expected a ValidationError');
}

describe('parseUploadRequest', () => {
  it('accepts the contract v1 body and returns a typed request', () => {
    expect(parseUploadRequest(valid)).toEqual({
      kind: 'fit',
      contentType: 'application/vnd.ant.fit',
      sizeBytes: 1234,
      activityId: null,
      sha256: null,
      uploadId: null,
    });
  });

  it('accepts activity_id, sha256 (hex, normalised to lower case) and the client-chosen upload_id', () => {
    const r = parseUploadRequest({ ...valid, activity_id: 'run_1', sha256: 'ABCDEF'.padEnd(64, '0'), upload_id: 'Up-1_x' });
    expect(r).toMatchObject({ activityId: 'run_1', sha256: 'abcdef'.padEnd(64, '0'), uploadId: 'Up-1_x' });
  });

  it('treats absent activity_id, sha256 and upload_id as null', () => {
    expect(parseUploadRequest({ kind: 'image', content_type: 'image/png', size_bytes: 1 })).toMatchObject({
      activityId: null,
      sha256: null,
      uploadId: null,
    });
  });

  it.each([
    ['fit', 'application/vnd.ant.fit'],
    ['fit', 'application/octet-stream'],
    ['image', 'image/jpeg'],
    ['image', 'image/png'],
    ['image', 'image/heic'],
    ['image', 'image/webp'],
  ])('accepts kind %s with content type %s', (kind, type) => {
    expect(parseUploadRequest({ ...valid, kind, content_type: type }).contentType).toBe(type);
  });

  it('normalises the content type to lower case without surrounding space', () => {
    expect(parseUploadRequest({ ...valid, kind: 'image', content_type: ' Image/JPEG ' }).contentType).toBe('image/jpeg');
  });

  it.each([
    ['fit', 'image/jpeg'],
    ['image', 'application/vnd.ant.fit'],
    ['image', 'image/gif'],
    ['image', '   '],
    ['fit', 'application/vnd.ant.fit; charset=binary'],
  ])('refuses kind %s with content type %s, naming content_type', (kind, type) => {
    expect(details({ ...valid, kind, content_type: type })).toEqual([
      { path: 'content_type', field: 'content_type', message: expect.stringContaining(`for kind '${kind}'`) },
    ]);
  });

  it.each([
    ['fit', FIT_MAX_BYTES],
    ['image', 10 * MIB],
  ])('accepts a %s of exactly the limit (%i bytes)', (kind, size) => {
    const type = kind === 'fit' ? 'application/octet-stream' : 'image/jpeg';
    expect(parseUploadRequest({ ...valid, kind, content_type: type, size_bytes: size }).sizeBytes).toBe(size);
  });

  it.each([
    ['fit', FIT_MAX_BYTES + 1],
    ['image', 10 * MIB + 1],
  ])('refuses a %s one byte over the limit, naming size_bytes', (kind, size) => {
    const type = kind === 'fit' ? 'application/octet-stream' : 'image/jpeg';
    expect(details({ ...valid, kind, content_type: type, size_bytes: size })).toEqual([
      { path: 'size_bytes', field: 'size_bytes', message: `must be at most ${size - 1} bytes for kind '${kind}'` },
    ]);
  });

  it('applies configured limits', () => {
    const limits = uploadLimits({ fit: 1000 });
    expect(parseUploadRequest({ ...valid, size_bytes: 1000 }, limits).sizeBytes).toBe(1000);
    expect(details({ ...valid, size_bytes: 1001 }, limits)[0]).toMatchObject({ field: 'size_bytes', message: expect.stringContaining('1000') });
    expect(limits.image.maxBytes).toBe(10 * MIB);
    expect(() => uploadLimits({ image: 0 })).toThrow(RangeError);
  });

  it.each<[string, unknown, string]>([
    ['kind', 'video', "must be one of 'fit', 'image'"],
    ['kind', 7, 'expected string'],
    ['content_type', '', 'must not be empty'],
    ['content_type', 42, 'expected string'],
    ['size_bytes', 0, 'must be at least 1'],
    ['size_bytes', -5, 'must be at least 1'],
    ['size_bytes', 1.5, 'must be an integer'],
    ['size_bytes', '100', 'expected number'],
    ['activity_id', 'has space', 'must match [A-Za-z0-9_-]{1,64}'],
    ['activity_id', 'x'.repeat(65), 'must match [A-Za-z0-9_-]{1,64}'],
    ['activity_id', 5, 'expected string'],
    ['sha256', 'abc', "must be the file's SHA-256 as 64 hexadecimal digits"],
    ['sha256', 'g'.repeat(64), "must be the file's SHA-256 as 64 hexadecimal digits"],
    ['sha256', Buffer.alloc(32).toString('base64'), "must be the file's SHA-256 as 64 hexadecimal digits"],
    ['upload_id', '../etc', 'must match [A-Za-z0-9_-]{1,60}'],
    ['upload_id', '', 'must match [A-Za-z0-9_-]{1,60}'],
    // 61: the activity it may create, `fit-<upload_id>`, would not be a valid record id.
    ['upload_id', 'u'.repeat(61), 'must match [A-Za-z0-9_-]{1,60}'],
  ])('names the field: %s = %j', (field, value, message) => {
    expect(details({ ...valid, [field]: value })).toEqual([{ path: field, field, message }]);
  });

  it.each(['kind', 'content_type', 'size_bytes'])('reports a missing %s as required', (field) => {
    const body: Record<string, unknown> = { ...valid };
    delete body[field];
    expect(details(body)).toEqual([{ path: field, field, message: 'is required' }]);
  });

  it('refuses unknown fields by name (strict object)', () => {
    expect(details({ ...valid, filename: 'run.fit', userId: 'x' })).toEqual([
      { path: 'filename', field: 'filename', message: "unknown field 'filename'" },
      { path: 'userId', field: 'userId', message: "unknown field 'userId'" },
    ]);
  });

  it('reports every bad field at once', () => {
    const d = details({ kind: 'fit', content_type: 'application/octet-stream', size_bytes: 0, sha256: 'x', activity_id: '!' });
    expect(d.map((x) => x.field).sort()).toEqual(['activity_id', 'sha256', 'size_bytes']);
  });

  it.each([null, [], 'fit', 3])('refuses a body that is not an object: %j', (body) => {
    expect(details(body)).toEqual([{ path: '', message: 'expected a JSON object' }]);
  });
});

describe('the uploads record of a new upload', () => {
  const request: UploadRequest = parseUploadRequest({ ...valid, activity_id: 'run1', sha256: SHA });

  it('is pending with no error, with every column of the uploads table and nothing else', () => {
    const record = newUploadRecord(request);
    expect(record).toEqual({ kind: 'fit', content_type: 'application/vnd.ant.fit', size_bytes: 1234, activity_id: 'run1', status: 'pending', error: null, duplicate_of: null });
    const uploads = TABLES.find((t) => t.name === 'uploads')!;
    expect(Object.keys(record).sort()).toEqual(uploads.columns.map((c) => c.name).sort());
    for (const c of uploads.columns) expect(c.schema.safeParse(record[c.name]).success, c.name).toBe(true);
  });
});

describe('planUploadRequest (client-chosen upload_id, idempotent retries)', () => {
  const request = parseUploadRequest({ ...valid, upload_id: 'u1', sha256: SHA });
  const stored = { ...newUploadRecord(request) };

  it('creates the record when the id is new', () => {
    expect(planUploadRequest(request, undefined)).toEqual({ action: 'create', record: newUploadRecord(request) });
  });

  it('re-presigns the same upload when the same request comes again and the file has not arrived', () => {
    expect(planUploadRequest(request, stored, SHA)).toEqual({ action: 'represign' });
    expect(planUploadRequest(request, stored)).toEqual({ action: 'represign' });
  });

  it.each(['processing', 'processed', 'failed'])('reports a file that already arrived (status %s): nothing to send again', (status) => {
    expect(planUploadRequest(request, { ...stored, status }, SHA)).toEqual({ action: 'already_uploaded', status });
  });

  it('reports a stored file whose processing has not started (status pending, object there): nothing to send again', () => {
    expect(planUploadRequest(request, stored, SHA, true)).toEqual({ action: 'already_uploaded', status: 'pending' });
    expect(planUploadRequest(request, stored, SHA, false)).toEqual({ action: 'represign' });
  });

  it('refuses a different request under a used id, naming each differing field', () => {
    const other = parseUploadRequest({ ...valid, size_bytes: 99, upload_id: 'u1', sha256: 'b'.repeat(64) });
    expect(() => planUploadRequest(other, stored, SHA)).toThrow(ValidationError);
    try {
      planUploadRequest(other, stored, SHA);
    } catch (e) {
      expect((e as ValidationError).details.map((d) => d.field)).toEqual(['size_bytes', 'sha256']);
    }
  });
});

describe('newUploadId', () => {
  it('makes 16-character record ids', () => {
    const ids = new Set(Array.from({ length: 200 }, () => newUploadId()));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]{16}$/);
  });

  it('uses only unbiased bytes from the injected source', () => {
    const bytes = new Uint8Array(32).fill(255); // all rejected…
    let calls = 0;
    const id = newUploadId((n) => (calls++ === 0 ? bytes.subarray(0, n) : new Uint8Array(n).fill(61)));
    expect(id).toBe('9'.repeat(16));
    expect(calls).toBe(2);
  });
});
