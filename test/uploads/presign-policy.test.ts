/**
 * The signed POST policy itself: what S3 enforces on an upload is exactly this document, so
 * these tests decode it and assert each condition. No network: presigning is local.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createS3Client, S3RVER_CREDENTIALS } from '../../lambdas/adapters/s3/client.js';
import { decodePostPolicy, presignDownload, presignUpload, sha256Base64ToHex, sha256HexToBase64 } from '../../lambdas/adapters/s3/presign.js';
import { DEFAULT_UPLOAD_LIMITS, uploadObjectKey } from '../../lambdas/core/uploads.js';
import { postPolicyViolations } from '../support/s3.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const aws = createS3Client({ region: 'eu-west-1', credentials });
const local = createS3Client({ endpoint: 'http://127.0.0.1:4569', credentials: S3RVER_CREDENTIALS });
afterAll(() => {
  aws.destroy();
  local.destroy();
});

const bucket = 'runningcoach-uploads-test';
const key = uploadObjectKey({ userId: 'runner-1', kind: 'fit', uploadId: 'up1' });
const file = new TextEncoder().encode('a FIT file, pretend');
const sha256 = createHash('sha256').update(file).digest('hex');
const maxBytes = DEFAULT_UPLOAD_LIMITS.fit.maxBytes;

function conditionsOf(fields: Record<string, string>) {
  return decodePostPolicy(fields.Policy).conditions;
}

describe('presignUpload policy', () => {
  it('pins the bucket, the exact key, the exact content type and the content-length range', async () => {
    const p = await presignUpload(aws, { bucket, key, contentType: 'application/vnd.ant.fit', maxBytes });
    expect(p.method).toBe('POST');
    expect(p.url).toBe(`https://${bucket}.s3.eu-west-1.amazonaws.com/`);
    const conditions = conditionsOf(p.fields);
    expect(conditions).toContainEqual({ bucket });
    expect(conditions).toContainEqual({ key });
    expect(conditions).toContainEqual({ 'Content-Type': 'application/vnd.ant.fit' });
    expect(conditions).toContainEqual(['content-length-range', 1, maxBytes]);
    expect(conditions).toContainEqual({ 'X-Amz-Algorithm': 'AWS4-HMAC-SHA256' });
    // No condition lets the key or type vary.
    expect(conditions.filter((c) => Array.isArray(c) && c[0] === 'starts-with')).toEqual([]);
    expect(p.fields).toMatchObject({ key, 'Content-Type': 'application/vnd.ant.fit', bucket });
    expect(p.fields['x-amz-checksum-sha256']).toBeUndefined();
  });

  it('accepts the form as issued; refuses (as S3 would) another key, another type, an oversized or empty file', async () => {
    const p = await presignUpload(aws, { bucket, key, contentType: 'application/octet-stream', maxBytes: 100 });
    const check = (fields: Record<string, string>, size: number) => postPolicyViolations(fields, size, { secretAccessKey: credentials.secretAccessKey });
    expect(check(p.fields, 100)).toEqual([]);
    expect(check({ ...p.fields, key: 'users/runner-2/fit/up1.fit' }, 10)).toEqual([`key must equal ${key}`]);
    expect(check({ ...p.fields, 'Content-Type': 'text/html' }, 10)).toEqual(['content-type must equal application/octet-stream']);
    expect(check(p.fields, 101)).toEqual(['content-length-range [1, 100] excludes 101 bytes']);
    expect(check(p.fields, 0)).toEqual(['content-length-range [1, 100] excludes 0 bytes']);
    expect(check({ ...p.fields, 'x-amz-meta-owner': 'me' }, 10)).toEqual(['field x-amz-meta-owner is not allowed by the policy']);
  });

  it('a policy edited by the client no longer matches its signature', async () => {
    const p = await presignUpload(aws, { bucket, key, contentType: 'application/octet-stream', maxBytes: 100 });
    const doc = decodePostPolicy(p.fields.Policy);
    const widened = { ...doc, conditions: doc.conditions.map((c) => (Array.isArray(c) && c[0] === 'content-length-range' ? ['content-length-range', 1, 10 ** 9] : c)) };
    const forged = { ...p.fields, Policy: Buffer.from(JSON.stringify(widened)).toString('base64') };
    expect(postPolicyViolations(forged, 5000, { secretAccessKey: credentials.secretAccessKey })).toEqual(['signature does not match the policy']);
  });

  it('signs the declared SHA-256 in: x-amz-checksum-sha256 (base64, checked by S3) and x-amz-meta-sha256 (hex, for the processor)', async () => {
    const p = await presignUpload(aws, { bucket, key, contentType: 'application/vnd.ant.fit', maxBytes, sha256 });
    const base64 = createHash('sha256').update(file).digest('base64');
    const conditions = conditionsOf(p.fields);
    expect(conditions).toContainEqual({ 'x-amz-checksum-sha256': base64 });
    expect(conditions).toContainEqual({ 'x-amz-meta-sha256': sha256 });
    expect(p.fields).toMatchObject({ 'x-amz-checksum-sha256': base64, 'x-amz-meta-sha256': sha256 });
    const tampered = { ...p.fields, 'x-amz-checksum-sha256': createHash('sha256').update('other').digest('base64') };
    expect(postPolicyViolations(tampered, file.length, { secretAccessKey: credentials.secretAccessKey })).toEqual([
      `x-amz-checksum-sha256 must equal ${base64}`,
    ]);
    expect(sha256Base64ToHex(sha256HexToBase64(sha256))).toBe(sha256);
  });

  it('expires after the configured minutes (default 15), and reports expires_at from the policy', async () => {
    const before = Date.now();
    const byDefault = await presignUpload(aws, { bucket, key, contentType: 'application/octet-stream', maxBytes });
    const fiveMinutes = await presignUpload(aws, { bucket, key, contentType: 'application/octet-stream', maxBytes, expiresInSeconds: 300 });
    const after = Date.now();
    for (const [p, seconds] of [
      [byDefault, 900],
      [fiveMinutes, 300],
    ] as const) {
      const expiration = Date.parse(decodePostPolicy(p.fields.Policy).expiration);
      expect(p.expires_at).toBe(expiration);
      // The policy's expiration has whole seconds, on the SDK's skew-corrected clock.
      const offset = aws.config.systemClockOffset ?? 0;
      expect(expiration).toBeGreaterThanOrEqual(Math.floor((before + offset) / 1000) * 1000 + seconds * 1000);
      expect(expiration).toBeLessThanOrEqual(after + offset + seconds * 1000);
      expect(p.fields['X-Amz-Date']).toMatch(/^\d{8}T\d{6}Z$/);
    }
    const credentialScope = byDefault.fields['X-Amz-Credential'];
    expect(credentialScope).toMatch(/^AKIDEXAMPLE\/\d{8}\/eu-west-1\/s3\/aws4_request$/);
  });

  it('exact size: minBytes = maxBytes pins the declared size', async () => {
    const p = await presignUpload(aws, { bucket, key, contentType: 'application/octet-stream', minBytes: 20, maxBytes: 20 });
    expect(conditionsOf(p.fields)).toContainEqual(['content-length-range', 20, 20]);
  });

  it('refuses nonsense arguments', async () => {
    const base = { bucket, key, contentType: 'application/octet-stream', maxBytes: 10 };
    await expect(presignUpload(aws, { ...base, expiresInSeconds: 10 })).rejects.toThrow(RangeError);
    await expect(presignUpload(aws, { ...base, expiresInSeconds: 8 * 24 * 3600 })).rejects.toThrow(RangeError);
    await expect(presignUpload(aws, { ...base, minBytes: 11 })).rejects.toThrow(RangeError);
    await expect(presignUpload(aws, { ...base, sha256: 'xyz' })).rejects.toThrow(RangeError);
    await expect(presignUpload(aws, { ...base, contentType: '' })).rejects.toThrow(RangeError);
  });

  it('against a local endpoint, posts path-style to the bucket', async () => {
    const p = await presignUpload(local, { bucket, key, contentType: 'application/octet-stream', maxBytes });
    expect(p.url).toBe(`http://127.0.0.1:4569/${bucket}`);
    expect(p.fields['X-Amz-Credential']).toMatch(/^S3RVER\//);
  });
});

describe('presignDownload', () => {
  it('presigns a GetObject of the key, 5 minutes by default', async () => {
    const signingDate = new Date('2026-11-20T10:00:00.500Z');
    const d = await presignDownload(aws, { bucket, key, signingDate });
    const url = new URL(d.url);
    expect(url.host).toBe(`${bucket}.s3.eu-west-1.amazonaws.com`);
    expect(url.pathname).toBe(`/${key}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20261120T100000Z');
    expect(d.expires_at).toBe(Date.parse('2026-11-20T10:05:00Z'));
    const short = await presignDownload(aws, { bucket, key, expiresInSeconds: 60 });
    expect(new URL(short.url).searchParams.get('X-Amz-Expires')).toBe('60');
  });
});
