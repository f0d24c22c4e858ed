/**
 * Reading uploaded objects: `headObject` (size, type, checksums) and `readObject`, which never
 * holds more than `maxBytes` of an object: it refuses on the reported `Content-Length` before
 * reading a byte, and caps the stream as a second guard (a length-less or lying response).
 */
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { StoredObjectInfo } from '../../core/uploads.js';
import { ObjectNotFoundError, ObjectReadError, ObjectTooLargeError, translateS3Error } from './errors.js';
import { DECLARED_SHA256_METADATA, sha256Base64ToHex } from './presign.js';

export interface ObjectLocation {
  readonly bucket: string;
  readonly key: string;
}

/** The object's size, type and checksums, or null when it does not exist. */
export async function headObject(client: S3Client, where: ObjectLocation): Promise<StoredObjectInfo | null> {
  try {
    const out = await client.send(new HeadObjectCommand({ Bucket: where.bucket, Key: where.key, ChecksumMode: 'ENABLED' }));
    const declared = out.Metadata?.[DECLARED_SHA256_METADATA]?.toLowerCase() ?? null;
    // A composite (multipart) checksum is not the file's SHA-256; POST uploads are single-part.
    const checksum = out.ChecksumSHA256 && out.ChecksumType !== 'COMPOSITE' ? sha256Base64ToHex(out.ChecksumSHA256) : null;
    return {
      size: out.ContentLength ?? 0,
      contentType: out.ContentType ?? null,
      checksumSha256: checksum,
      declaredSha256: declared && /^[0-9a-f]{64}$/.test(declared) ? declared : null,
    };
  } catch (e) {
    const t = translateS3Error(e, where);
    if (t instanceof ObjectNotFoundError) return null;
    throw t;
  }
}

export interface ReadObjectInput extends ObjectLocation {
  /** Refuse (ObjectTooLargeError) objects larger than this, without reading them. */
  readonly maxBytes: number;
}

type BodyStream = AsyncIterable<Uint8Array> & { destroy?: (error?: Error) => void; cancel?: () => Promise<void> };

/**
 * The object's bytes. Throws `ObjectNotFoundError` when it does not exist, `ObjectTooLargeError`
 * when it is larger than `maxBytes` (the body is abandoned unread), `ObjectReadError` when the
 * body is shorter than its `Content-Length`.
 */
export async function readObject(client: S3Client, input: ReadObjectInput): Promise<Uint8Array> {
  if (!Number.isSafeInteger(input.maxBytes) || input.maxBytes < 0) throw new RangeError('maxBytes must be a non-negative integer');
  let out;
  try {
    out = await client.send(new GetObjectCommand({ Bucket: input.bucket, Key: input.key }));
  } catch (e) {
    throw translateS3Error(e, input);
  }
  const body = out.Body as BodyStream | undefined;
  const declared = out.ContentLength;
  if (declared !== undefined && declared > input.maxBytes) {
    abandon(body);
    throw new ObjectTooLargeError(input.key, input.maxBytes, declared);
  }
  if (!body) {
    if (!declared) return new Uint8Array(0);
    throw new ObjectReadError(`s3://${input.bucket}/${input.key}: response has no body`);
  }
  try {
    return declared !== undefined ? await readExactly(body, declared, input) : await readCapped(body, input);
  } catch (e) {
    abandon(body);
    throw e instanceof ObjectTooLargeError || e instanceof ObjectReadError ? e : translateS3Error(e, input);
  }
}

/** Content-Length known (≤ maxBytes): one buffer of that size, filled in place. */
async function readExactly(body: BodyStream, length: number, input: ReadObjectInput): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let offset = 0;
  for await (const chunk of body) {
    if (offset + chunk.length > length) {
      // More than announced: never hold more than maxBytes.
      if (offset + chunk.length > input.maxBytes) throw new ObjectTooLargeError(input.key, input.maxBytes, offset + chunk.length);
      throw new ObjectReadError(`s3://${input.bucket}/${input.key}: body longer than its Content-Length ${length}`);
    }
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  if (offset !== length) throw new ObjectReadError(`s3://${input.bucket}/${input.key}: body ended after ${offset} of ${length} bytes`);
  return bytes;
}

/** No Content-Length: collect chunks, stop as soon as the total passes maxBytes. */
async function readCapped(body: BodyStream, input: ReadObjectInput): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > input.maxBytes) throw new ObjectTooLargeError(input.key, input.maxBytes, total);
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.length;
  }
  return bytes;
}

function abandon(body: BodyStream | undefined): void {
  if (!body) return;
  if (typeof body.destroy === 'function') body.destroy();
  else if (typeof body.cancel === 'function') void body.cancel().catch(() => undefined);
}
