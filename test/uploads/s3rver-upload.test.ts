/**
 * Real HTTP against s3rver: a browser-style multipart POST with the presigned form, then the
 * object read back through the adapter, and presigned downloads.
 *
 * s3rver treats POST uploads as anonymous: it checks neither the policy nor its signature (see
 * test/support/s3.ts). Where it does not enforce a condition, the tests say so in their names,
 * show what s3rver does, and assert the signed policy document that S3 enforces instead.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createS3Client } from '../../lambdas/adapters/s3/client.js';
import { headObject, readObject } from '../../lambdas/adapters/s3/objects.js';
import { decodePostPolicy, presignDownload, presignUpload } from '../../lambdas/adapters/s3/presign.js';
import { S3UploadObjects } from '../../lambdas/adapters/s3/upload-objects.js';
import { uploadObjectKey } from '../../lambdas/core/uploads.js';
import { postPolicyViolations, postUpload, useS3rver } from '../support/s3.js';

const s3 = useS3rver('uploads');
const SECRET = 'S3RVER';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
let counter = 0;
const freshKey = (kind: 'fit' | 'image' = 'fit') => uploadObjectKey({ userId: 'runner-1', kind, uploadId: `up${++counter}` });

async function getBytes(key: string): Promise<Uint8Array> {
  const { client, bucket } = s3();
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return out.Body!.transformToByteArray();
}

describe('presigned POST upload to s3rver (real multipart HTTP)', () => {
  it('a valid upload lands: GetObject returns the bytes, with its content type and declared SHA-256', async () => {
    const { client, bucket } = s3();
    const key = freshKey();
    const file = bytes(5000);
    const p = await presignUpload(client, { bucket, key, contentType: 'application/vnd.ant.fit', maxBytes: 25 * 1024 * 1024, sha256: sha256(file) });
    expect(p.url).toBe(`${s3().endpoint}/${bucket}`);

    const res = await postUpload(p.url, p.fields, file);
    expect(res.status).toBe(204);
    expect(await getBytes(key)).toEqual(file);
    expect(await headObject(client, { bucket, key })).toEqual({
      size: 5000,
      contentType: 'application/vnd.ant.fit',
      // s3rver keeps x-amz-meta-* but drops x-amz-checksum-*: only the declared hash comes back.
      checksumSha256: null,
      declaredSha256: sha256(file),
    });
    expect(await readObject(client, { bucket, key, maxBytes: 5000 })).toEqual(file);
    expect(postPolicyViolations(p.fields, file.length, { secretAccessKey: SECRET })).toEqual([]);
  });

  it('an image upload with no checksum lands with its content type', async () => {
    const { client, bucket } = s3();
    const key = freshKey('image');
    const file = bytes(300, 7);
    const p = await presignUpload(client, { bucket, key, contentType: 'image/webp', maxBytes: 10 * 1024 * 1024 });
    expect((await postUpload(p.url, p.fields, file)).status).toBe(204);
    expect(await headObject(client, { bucket, key })).toMatchObject({ size: 300, contentType: 'image/webp', declaredSha256: null });
  });

  it('s3rver does not enforce content-length-range: it stores the oversized upload; the signed policy excludes its size (S3 refuses it)', async () => {
    const { client, bucket } = s3();
    const key = freshKey();
    const p = await presignUpload(client, { bucket, key, contentType: 'application/octet-stream', maxBytes: 64 });
    const oversized = bytes(65);
    // What S3 enforces: the signed policy document.
    expect(decodePostPolicy(p.fields.Policy).conditions).toContainEqual(['content-length-range', 1, 64]);
    expect(postPolicyViolations(p.fields, oversized.length, { secretAccessKey: SECRET })).toEqual(['content-length-range [1, 64] excludes 65 bytes']);
    // What s3rver does: accepts it. (If this starts failing, s3rver enforces the range: assert the refusal here.)
    expect((await postUpload(p.url, p.fields, oversized)).status).toBe(204);
    expect((await headObject(client, { bucket, key }))?.size).toBe(65);
    // The processing step's own guard still holds: the reader refuses it.
    await expect(readObject(client, { bucket, key, maxBytes: 64 })).rejects.toMatchObject({ name: 'ObjectTooLargeError', size: 65 });
  });

  it('s3rver does not check the POST policy or signature: a form re-pointed at another key is stored there; the signed policy refuses it on S3', async () => {
    const { client, bucket } = s3();
    const key = freshKey();
    const other = uploadObjectKey({ userId: 'runner-2', kind: 'fit', uploadId: 'stolen' });
    const p = await presignUpload(client, { bucket, key, contentType: 'application/octet-stream', maxBytes: 1000 });
    const tampered = { ...p.fields, key: other, 'X-Amz-Signature': '0'.repeat(64) };
    expect(postPolicyViolations(tampered, 10, { secretAccessKey: SECRET })).toEqual(['signature does not match the policy', `key must equal ${key}`]);
    expect((await postUpload(p.url, tampered, bytes(10))).status).toBe(204);
    expect(await headObject(client, { bucket, key: other })).not.toBeNull();
    expect(await headObject(client, { bucket, key })).toBeNull();
  });

  it('s3rver does not check x-amz-checksum-sha256: a file that differs from its declared hash is stored, and the declared hash travels with it so processing can refuse it', async () => {
    const { client, bucket } = s3();
    const key = freshKey();
    const declared = bytes(100, 1);
    const sent = bytes(100, 2);
    const p = await presignUpload(client, { bucket, key, contentType: 'application/octet-stream', maxBytes: 1000, sha256: sha256(declared) });
    expect((await postUpload(p.url, p.fields, sent)).status).toBe(204);
    const info = await headObject(client, { bucket, key });
    const stored = await readObject(client, { bucket, key, maxBytes: 1000 });
    expect(info?.declaredSha256).toBe(sha256(declared));
    expect(sha256(stored)).not.toBe(info?.declaredSha256);
  });

  it('re-presigning the same upload (a retry) targets the same key; the second upload replaces the first', async () => {
    const { client, bucket } = s3();
    const key = freshKey();
    const first = await presignUpload(client, { bucket, key, contentType: 'application/octet-stream', maxBytes: 1000 });
    const again = await presignUpload(client, { bucket, key, contentType: 'application/octet-stream', maxBytes: 1000 });
    expect(again.fields.key).toBe(first.fields.key);
    await postUpload(first.url, first.fields, bytes(10, 1));
    await postUpload(again.url, again.fields, bytes(20, 2));
    expect(await getBytes(key)).toEqual(bytes(20, 2));
  });
});

describe('presigned GET download from s3rver', () => {
  it('downloads the bytes', async () => {
    const { client, bucket } = s3();
    const key = freshKey();
    const file = bytes(2048, 3);
    const p = await presignUpload(client, { bucket, key, contentType: 'application/vnd.ant.fit', maxBytes: 4096 });
    await postUpload(p.url, p.fields, file);
    const d = await presignDownload(client, { bucket, key });
    const res = await fetch(d.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.ant.fit');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(file);
  });

  it('refuses an expired URL (signed 10 minutes ago for 60 seconds; no sleeping)', async () => {
    const { client, bucket } = s3();
    const key = freshKey();
    const p = await presignUpload(client, { bucket, key, contentType: 'application/octet-stream', maxBytes: 100 });
    await postUpload(p.url, p.fields, bytes(10));
    const d = await presignDownload(client, { bucket, key, expiresInSeconds: 60, signingDate: new Date(Date.now() - 10 * 60_000) });
    expect(d.expires_at).toBeLessThan(Date.now());
    const res = await fetch(d.url);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Request has expired');
  });

  it('refuses a URL signed with an access key s3rver does not know', async () => {
    const { bucket, endpoint } = s3();
    const stranger = createS3Client({ endpoint, credentials: { accessKeyId: 'NOT-S3RVER', secretAccessKey: 'x' } });
    try {
      const d = await presignDownload(stranger, { bucket, key: freshKey() });
      const res = await fetch(d.url);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('InvalidAccessKeyId');
    } finally {
      stranger.destroy();
    }
  });

  it('answers 404 for a key with no object', async () => {
    const { client, bucket } = s3();
    const res = await fetch((await presignDownload(client, { bucket, key: freshKey() })).url);
    expect(res.status).toBe(404);
  });
});

describe('S3UploadObjects (the UploadObjects port on s3rver)', () => {
  it('presigns with its default lifetimes, heads, reads and presigns downloads on its bucket', async () => {
    const { client, bucket } = s3();
    const objects = new S3UploadObjects(client, bucket, { uploadTtlSeconds: 600, downloadTtlSeconds: 120 });
    const key = freshKey();
    const file = bytes(777);
    const before = Date.now();
    const p = await objects.presignUpload({ key, contentType: 'application/vnd.ant.fit', maxBytes: 1000, sha256: sha256(file) });
    // The SDK dates the policy on its skew-corrected clock: every response resets the client's
    // offset from the server's whole-second Date header, so it can run up to a second behind.
    const offset = client.config.systemClockOffset ?? 0;
    expect(p.expires_at).toBeGreaterThanOrEqual(Math.floor((before + offset) / 1000) * 1000 + 600_000);
    expect(p.expires_at).toBeLessThanOrEqual(Date.now() + offset + 600_000);
    expect((await postUpload(p.url, p.fields, file)).status).toBe(204);
    expect(await objects.head(key)).toMatchObject({ size: 777, declaredSha256: sha256(file) });
    expect(await objects.read(key, 777)).toEqual(file);
    const d = await objects.presignDownload({ key });
    expect(new URL(d.url).searchParams.get('X-Amz-Expires')).toBe('120');
    expect(await objects.head(freshKey())).toBeNull();
  });
});
