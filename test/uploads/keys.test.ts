import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lambdas/core/errors.js';
import {
  FIT_EVENT_FILTER,
  UPLOAD_EVENT_FILTERS,
  decodeS3EventKey,
  parseUploadObjectKey,
  uploadObjectKey,
  type UploadKind,
} from '../../lambdas/core/uploads.js';

const COGNITO_SUB = '8a2b4c6d-1e3f-4a5b-9c7d-0e1f2a3b4c5d';

describe('upload object keys', () => {
  it('lays a Cognito sub out as is: users/<sub>/<kind>/<id>.<fit|image>', () => {
    expect(uploadObjectKey({ userId: COGNITO_SUB, kind: 'fit', uploadId: 'abc123' })).toBe(`users/${COGNITO_SUB}/fit/abc123.fit`);
    expect(uploadObjectKey({ userId: 'runner-1', kind: 'image', uploadId: 'p_1' })).toBe('users/runner-1/image/p_1.image');
  });

  it('encodes any other sub as "." + base64url, so a key never holds "/", ".." or characters S3 events escape', () => {
    const key = uploadObjectKey({ userId: 'auth0|abc/../x y', kind: 'fit', uploadId: 'u1' });
    expect(key).toBe(`users/.${Buffer.from('auth0|abc/../x y').toString('base64url')}/fit/u1.fit`);
    expect(key.split('/')).toHaveLength(4);
    expect(uploadObjectKey({ userId: '..', kind: 'fit', uploadId: 'u1' })).toBe('users/.Li4/fit/u1.fit');
    expect(uploadObjectKey({ userId: 'é', kind: 'fit', uploadId: 'u1' })).toBe('users/.w6k/fit/u1.fit');
  });

  it('round-trips every user id, kind and upload id', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 80, unit: 'binary' }).filter((s) => Buffer.byteLength(s) <= 256 && Buffer.from(s, 'utf8').toString('utf8') === s), // no lone surrogates
        fc.constantFrom<UploadKind>('fit', 'image'),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
        (userId, kind, uploadId) => {
          const key = uploadObjectKey({ userId, kind, uploadId });
          expect(key).toMatch(/^users\/[A-Za-z0-9._-]+\/(fit|image)\/[A-Za-z0-9_-]+\.(fit|image)$/);
          expect(parseUploadObjectKey(key)).toEqual({ userId, kind, uploadId });
          // Identical whether an event delivers it URL-encoded (AWS) or raw (s3rver).
          expect(encodeURIComponent(key).replace(/%2F/g, '/')).toBe(key);
          expect(decodeS3EventKey(key)).toBe(key);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses to build keys from an invalid upload id or an empty/oversized user id', () => {
    expect(() => uploadObjectKey({ userId: 'u', kind: 'fit', uploadId: '../x' })).toThrow(ValidationError);
    expect(() => uploadObjectKey({ userId: '', kind: 'fit', uploadId: 'a' })).toThrow(ValidationError);
    expect(() => uploadObjectKey({ userId: 'x'.repeat(257), kind: 'fit', uploadId: 'a' })).toThrow(ValidationError);
    expect(() => uploadObjectKey({ userId: 'u', kind: 'video' as UploadKind, uploadId: 'a' })).toThrow(ValidationError);
  });

  it.each([
    ['another prefix', 'uploads/runner-1/fit/a.fit'],
    ['no prefix', 'runner-1/fit/a.fit'],
    ['leading slash', '/users/runner-1/fit/a.fit'],
    ['path traversal in the user', 'users/../fit/a.fit'],
    ['path traversal segment', 'users/runner-1/../fit/a.fit'],
    ['dot user', 'users/./fit/a.fit'],
    ['traversal in the id', 'users/runner-1/fit/..fit'],
    ['extra segment', 'users/runner-1/fit/x/a.fit'],
    ['missing segment', 'users/runner-1/a.fit'],
    ['empty user', 'users//fit/a.fit'],
    ['wrong kind', 'users/runner-1/video/a.fit'],
    ['kind and suffix disagree', 'users/runner-1/image/a.fit'],
    ['kind and suffix disagree (2)', 'users/runner-1/fit/a.image'],
    ['no suffix', 'users/runner-1/fit/a'],
    ['empty id', 'users/runner-1/fit/.fit'],
    ['upper-case suffix', 'users/runner-1/fit/a.FIT'],
    ['id with a dot', 'users/runner-1/fit/a.b.fit'],
    ['id too long', `users/runner-1/fit/${'x'.repeat(65)}.fit`],
    ['percent-encoded user', 'users/auth0%7C1/fit/a.fit'],
    ['space in the user', 'users/runner 1/fit/a.fit'],
    ['trailing slash', 'users/runner-1/fit/a.fit/'],
    ['non-canonical encoded user (plain sub encoded)', `users/.${Buffer.from('runner1').toString('base64url')}/fit/a.fit`],
    ['encoded user that is not base64url', 'users/.a+b/fit/a.fit'],
    ['encoded user of invalid UTF-8', `users/.${Buffer.from([0xff, 0xfe]).toString('base64url')}/fit/a.fit`],
    ['encoded user of impossible length', 'users/.abcde/fit/a.fit'],
    ['empty key', ''],
  ])('ignores a key outside the layout: %s', (_, key) => {
    expect(parseUploadObjectKey(key)).toBeNull();
  });

  it('every FIT key, and no image key, matches the FIT notification filter', () => {
    const matches = (key: string, f: { prefix: string; suffix: string }) => key.startsWith(f.prefix) && key.endsWith(f.suffix);
    const fit = uploadObjectKey({ userId: COGNITO_SUB, kind: 'fit', uploadId: 'a' });
    const image = uploadObjectKey({ userId: COGNITO_SUB, kind: 'image', uploadId: 'a' });
    expect(FIT_EVENT_FILTER).toEqual({ prefix: 'users/', suffix: '.fit' });
    expect(matches(fit, FIT_EVENT_FILTER)).toBe(true);
    expect(matches(image, FIT_EVENT_FILTER)).toBe(false);
    expect(matches(image, UPLOAD_EVENT_FILTERS.image)).toBe(true);
    // S3 refuses overlapping notification filters: neither suffix may end the other.
    expect(UPLOAD_EVENT_FILTERS.fit.suffix.endsWith(UPLOAD_EVENT_FILTERS.image.suffix)).toBe(false);
    expect(UPLOAD_EVENT_FILTERS.image.suffix.endsWith(UPLOAD_EVENT_FILTERS.fit.suffix)).toBe(false);
  });

  it('decodes URL-encoded S3 event keys, and returns null for malformed ones', () => {
    expect(decodeS3EventKey('users/a/fit/x+y%2B.fit')).toBe('users/a/fit/x y+.fit');
    expect(decodeS3EventKey('users/%E0%A4%A/fit/a.fit')).toBeNull();
  });
});
