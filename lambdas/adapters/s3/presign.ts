/**
 * Presigned POST (upload) and GET (download) for the uploads bucket.
 *
 * The POST policy pins everything the upload may be: the bucket, the exact key (`{"key": …}`,
 * never `starts-with`), the exact `Content-Type`, `["content-length-range", min, max]`, and,
 * when the client declared the file's SHA-256:
 * - `x-amz-checksum-sha256` (base64): S3 computes the SHA-256 of the received file and refuses
 *   the upload when it differs. AWS's POST Object reference documents only `Content-MD5` for
 *   integrity; the checksum field's enforcement on POST is attested by integration tests run
 *   against real S3 (dyegosutil/aws-s3-presigned-post: a right checksum uploads, a wrong one
 *   is refused), not by this repository, which has no AWS account in its tests. Only this
 *   field is signed, not `x-amz-checksum-algorithm` (the form those tests validated);
 * - `x-amz-meta-sha256` (hex): stored with the object, so the processing step can verify the
 *   bytes against the declared hash on any S3 (s3rver checks neither field; see the tests).
 * Each of these is a form field the client must send unchanged: S3 rejects a form whose fields
 * do not satisfy the signed policy, or whose policy does not match its signature.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  DEFAULT_DOWNLOAD_URL_TTL_SECONDS,
  DEFAULT_UPLOAD_URL_TTL_SECONDS,
  MAX_URL_TTL_SECONDS,
  MIN_URL_TTL_SECONDS,
  type PresignedDownload,
  type PresignedUpload,
} from '../../core/uploads.js';

export interface PresignUploadInput {
  readonly bucket: string;
  readonly key: string;
  readonly contentType: string;
  /** Largest accepted file, bytes. */
  readonly maxBytes: number;
  /** Smallest accepted file, bytes (default 1: no empty files). Pass the declared size for min = max. */
  readonly minBytes?: number;
  /** The file's SHA-256, 64 hex digits; signed into the upload when given. */
  readonly sha256?: string | null;
  /** Policy lifetime (default 15 minutes; 60 s to 7 days). */
  readonly expiresInSeconds?: number;
}

/** The form field S3 checks the received file's SHA-256 against (base64 of the digest). */
export const CHECKSUM_SHA256_FIELD = 'x-amz-checksum-sha256';
/** The metadata field carrying the declared SHA-256 (hex) to the processing step. */
export const DECLARED_SHA256_FIELD = 'x-amz-meta-sha256';
/** `x-amz-meta-sha256` as `HeadObject`/`GetObject` return it in `Metadata`. */
export const DECLARED_SHA256_METADATA = 'sha256';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export async function presignUpload(client: S3Client, input: PresignUploadInput): Promise<PresignedUpload> {
  const expires = ttl(input.expiresInSeconds, DEFAULT_UPLOAD_URL_TTL_SECONDS);
  const minBytes = input.minBytes ?? 1;
  if (!Number.isSafeInteger(minBytes) || !Number.isSafeInteger(input.maxBytes) || minBytes < 0 || input.maxBytes < minBytes) {
    throw new RangeError(`invalid content-length range [${minBytes}, ${input.maxBytes}]`);
  }
  if (!input.contentType) throw new RangeError('contentType is required');
  const fields: Record<string, string> = { 'Content-Type': input.contentType };
  if (input.sha256 != null) {
    const hex = input.sha256.toLowerCase();
    if (!SHA256_HEX.test(hex)) throw new RangeError('sha256 must be 64 hexadecimal digits');
    fields[CHECKSUM_SHA256_FIELD] = sha256HexToBase64(hex);
    fields[DECLARED_SHA256_FIELD] = hex;
  }
  const post = await createPresignedPost(client, {
    Bucket: input.bucket,
    Key: input.key,
    // Every entry of `Fields` also becomes an exact-match condition; bucket and key are added too.
    Fields: fields,
    Conditions: [['content-length-range', minBytes, input.maxBytes]],
    Expires: expires,
  });
  return { method: 'POST', url: post.url, fields: post.fields, expires_at: policyExpiration(post.fields.Policy) };
}

export interface PresignDownloadInput {
  readonly bucket: string;
  readonly key: string;
  /** URL lifetime (default 5 minutes; 60 s to 7 days). */
  readonly expiresInSeconds?: number;
  /** When the signature is dated (default now); tests date it in the past to get an expired URL. */
  readonly signingDate?: Date;
}

export async function presignDownload(client: S3Client, input: PresignDownloadInput): Promise<PresignedDownload> {
  const expires = ttl(input.expiresInSeconds, DEFAULT_DOWNLOAD_URL_TTL_SECONDS);
  const signingDate = input.signingDate ?? new Date();
  const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: input.bucket, Key: input.key }), { expiresIn: expires, signingDate });
  // X-Amz-Date has whole seconds.
  return { url, expires_at: Math.floor(signingDate.getTime() / 1000) * 1000 + expires * 1000 };
}

function ttl(value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < MIN_URL_TTL_SECONDS || v > MAX_URL_TTL_SECONDS) {
    throw new RangeError(`expiresInSeconds must be an integer between ${MIN_URL_TTL_SECONDS} and ${MAX_URL_TTL_SECONDS}`);
  }
  return v;
}

/** `expiration` of a base64 POST policy, ms since the epoch. */
export function policyExpiration(policy: string | undefined): number {
  const doc = decodePostPolicy(policy);
  const ms = Date.parse(doc.expiration);
  if (Number.isNaN(ms)) throw new Error('presigned POST policy has no valid expiration');
  return ms;
}

export type PostPolicyCondition = Record<string, string> | [string, string | number, string | number];
export interface PostPolicyDocument {
  readonly expiration: string;
  readonly conditions: PostPolicyCondition[];
}

/** Decodes the base64 `Policy` field of a presigned POST. */
export function decodePostPolicy(policy: string | undefined): PostPolicyDocument {
  if (!policy) throw new Error('presigned POST has no Policy field');
  return JSON.parse(Buffer.from(policy, 'base64').toString('utf8')) as PostPolicyDocument;
}

export function sha256HexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}
export function sha256Base64ToHex(b64: string): string | null {
  const bytes = Buffer.from(b64, 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : null;
}
