/**
 * readObject/headObject: size limits (refused before reading, and a streaming cap when the
 * length is unknown or wrong), missing objects, and SDK errors translated at the boundary.
 * Real s3rver for the object paths; a scripted client only where S3 cannot be made to
 * misbehave (no Content-Length, a body that lies about its length).
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createS3Client } from '../../lambdas/adapters/s3/client.js';
import {
  BucketNotFoundError,
  ObjectNotFoundError,
  ObjectReadError,
  ObjectTooLargeError,
  StorageAccessDeniedError,
  translateS3Error,
} from '../../lambdas/adapters/s3/errors.js';
import { headObject, readObject } from '../../lambdas/adapters/s3/objects.js';
import { PayloadTooLargeError, ThrottledError } from '../../lambdas/core/errors.js';
import { useS3rver } from '../support/s3.js';

const s3 = useS3rver('read');
const MB = 1024 * 1024;

async function put(key: string, body: Uint8Array, contentType = 'application/octet-stream') {
  const { client, bucket } = s3();
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
}

/** A client whose GetObject answers with `out`; the body counts the chunks it is asked for. */
function scriptedClient(out: { ContentLength?: number; chunks: Uint8Array[] }) {
  const stats = { pulled: 0, destroyed: false };
  async function* gen() {
    for (const c of out.chunks) {
      stats.pulled++;
      yield c;
    }
  }
  const body = Object.assign(gen(), {
    destroy() {
      stats.destroyed = true;
    },
  });
  const client = { send: async () => ({ ContentLength: out.ContentLength, Body: body }) } as unknown as S3Client;
  return { client, stats };
}

describe('readObject against s3rver', () => {
  it('reads an object of exactly maxBytes (PutObject through the adapter client stores the raw bytes)', async () => {
    const file = Uint8Array.from({ length: 3 * MB }, (_, i) => i % 251);
    await put('users/r/fit/exact.fit', file);
    const read = await readObject(s3().client, { bucket: s3().bucket, key: 'users/r/fit/exact.fit', maxBytes: 3 * MB });
    expect(read.length).toBe(3 * MB);
    expect(Buffer.from(read).equals(Buffer.from(file))).toBe(true);
  });

  it('refuses an object one byte over maxBytes, from its Content-Length, with a typed error', async () => {
    await put('users/r/fit/big.fit', new Uint8Array(2 * MB + 1));
    const err = await readObject(s3().client, { bucket: s3().bucket, key: 'users/r/fit/big.fit', maxBytes: 2 * MB }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectTooLargeError);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err).toMatchObject({ size: 2 * MB + 1, maxBytes: 2 * MB, key: 'users/r/fit/big.fit', statusCode: 413 });
  });

  it('reads an empty object as zero bytes', async () => {
    await put('users/r/fit/empty.fit', new Uint8Array(0));
    expect(await readObject(s3().client, { bucket: s3().bucket, key: 'users/r/fit/empty.fit', maxBytes: 10 })).toEqual(new Uint8Array(0));
  });

  it('throws ObjectNotFoundError for a missing object; headObject returns null', async () => {
    const where = { bucket: s3().bucket, key: 'users/r/fit/none.fit' };
    await expect(readObject(s3().client, { ...where, maxBytes: 10 })).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await headObject(s3().client, where)).toBeNull();
  });

  it('headObject reports size and content type', async () => {
    await put('users/r/image/p.image', new Uint8Array(42), 'image/png');
    expect(await headObject(s3().client, { bucket: s3().bucket, key: 'users/r/image/p.image' })).toEqual({
      size: 42,
      contentType: 'image/png',
      checksumSha256: null,
      declaredSha256: null,
    });
  });

  it('translates a refused access key (s3rver: InvalidAccessKeyId, 403) into StorageAccessDeniedError', async () => {
    const stranger = createS3Client({ endpoint: s3().endpoint, credentials: { accessKeyId: 'NOT-S3RVER', secretAccessKey: 'x' } });
    try {
      await expect(readObject(stranger, { bucket: s3().bucket, key: 'users/r/fit/exact.fit', maxBytes: 10 })).rejects.toBeInstanceOf(StorageAccessDeniedError);
      await expect(headObject(stranger, { bucket: s3().bucket, key: 'users/r/fit/exact.fit' })).rejects.toBeInstanceOf(StorageAccessDeniedError);
    } finally {
      stranger.destroy();
    }
  });

  it('a bucket that does not exist is a deployment fault (BucketNotFoundError, 500), not a missing file', async () => {
    const err = await readObject(s3().client, { bucket: 'no-such-bucket-x', key: 'k', maxBytes: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BucketNotFoundError);
    expect(err).toMatchObject({ statusCode: 500 });
  });
});

describe('readObject streaming guards (scripted responses)', () => {
  const where = { bucket: 'b', key: 'users/r/fit/a.fit' };
  const chunk = (n: number) => new Uint8Array(n).fill(1);

  it('refuses on Content-Length before pulling a single chunk, and abandons the body', async () => {
    const { client, stats } = scriptedClient({ ContentLength: 100 * MB, chunks: [chunk(10), chunk(10)] });
    await expect(readObject(client, { ...where, maxBytes: MB })).rejects.toMatchObject({ name: 'ObjectTooLargeError', size: 100 * MB });
    expect(stats).toEqual({ pulled: 0, destroyed: true });
  });

  it('without Content-Length, stops pulling as soon as the total passes maxBytes', async () => {
    const { client, stats } = scriptedClient({ chunks: [chunk(40), chunk(40), chunk(40), chunk(40), chunk(40)] });
    await expect(readObject(client, { ...where, maxBytes: 100 })).rejects.toMatchObject({ name: 'ObjectTooLargeError', size: 120 });
    expect(stats.pulled).toBe(3);
    expect(stats.destroyed).toBe(true);
  });

  it('without Content-Length, reads a body within the limit', async () => {
    const { client } = scriptedClient({ chunks: [chunk(40), chunk(60)] });
    expect((await readObject(client, { ...where, maxBytes: 100 })).length).toBe(100);
  });

  it('a body longer than its Content-Length never grows past maxBytes', async () => {
    const { client, stats } = scriptedClient({ ContentLength: 50, chunks: [chunk(50), chunk(50), chunk(50)] });
    await expect(readObject(client, { ...where, maxBytes: 60 })).rejects.toBeInstanceOf(ObjectTooLargeError);
    expect(stats.pulled).toBe(2);
  });

  it('a body longer than its Content-Length (within maxBytes) is a read error', async () => {
    const { client } = scriptedClient({ ContentLength: 50, chunks: [chunk(50), chunk(1)] });
    await expect(readObject(client, { ...where, maxBytes: 1000 })).rejects.toBeInstanceOf(ObjectReadError);
  });

  it('a body shorter than its Content-Length (truncated transfer) is a read error', async () => {
    const { client } = scriptedClient({ ContentLength: 100, chunks: [chunk(60)] });
    await expect(readObject(client, { ...where, maxBytes: 1000 })).rejects.toThrow(/ended after 60 of 100 bytes/);
  });

  it('refuses a nonsense limit', async () => {
    const { client } = scriptedClient({ chunks: [] });
    await expect(readObject(client, { ...where, maxBytes: -1 })).rejects.toThrow(RangeError);
  });
});

describe('translateS3Error', () => {
  const where = { bucket: 'b', key: 'k' };
  const sdkError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

  it.each([
    ['NoSuchKey', 404],
    ['NotFound', 404],
  ])('%s → ObjectNotFoundError (404)', (name, status) => {
    const e = translateS3Error(sdkError(name, status), where);
    expect(e).toBeInstanceOf(ObjectNotFoundError);
    expect(e).toMatchObject({ statusCode: 404, bucket: 'b', key: 'k' });
  });

  it.each([
    ['SlowDown', 503],
    ['ThrottlingException', 400],
    ['RequestLimitExceeded', 400],
    ['ServiceUnavailable', 503],
    ['Unknown', 503],
  ])('%s → ThrottledError (429, retry)', (name, status) => {
    expect(translateS3Error(sdkError(name, status), where)).toBeInstanceOf(ThrottledError);
  });

  it.each([
    ['AccessDenied', 403],
    ['InvalidAccessKeyId', 403],
    ['Forbidden', 403],
  ])('%s → StorageAccessDeniedError (a 500 to callers: our own permissions)', (name, status) => {
    const e = translateS3Error(sdkError(name, status), where);
    expect(e).toBeInstanceOf(StorageAccessDeniedError);
    expect(e).toMatchObject({ statusCode: 500, expose: false });
  });

  it('passes anything else through unchanged', () => {
    const other = sdkError('InternalError', 500);
    expect(translateS3Error(other, where)).toBe(other);
    expect(translateS3Error('x', where)).toBe('x');
  });
});
