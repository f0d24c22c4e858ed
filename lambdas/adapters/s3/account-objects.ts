/**
 * The user's objects for export and erasure (core/account.ts): ListObjectsV2 and DeleteObject,
 * 8 at a time. (DeleteObjects would take 1,000 per call, but s3rver, the local and test engine,
 * answers it with an internal error under the SDK's checksum; erasure is rare and bounded per
 * call, so one request per object is affordable.)
 */
import { DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { AccountObjects, StoredObject } from '../../core/account.js';

export class S3AccountObjects implements AccountObjects {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async list(prefix: string, page: { readonly limit: number; readonly after?: string }): Promise<{ objects: StoredObject[]; next?: string }> {
    // Always pages of 1,000 (s3rver fails a truncated listing of a smaller MaxKeys); a smaller
    // `limit` is cut here, and then no `next` is given (callers with a small limit start over).
    const out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: 1000, ...(page.after ? { ContinuationToken: page.after } : {}) }));
    const all = (out.Contents ?? []).map((o) => ({ key: o.Key as string, size: o.Size ?? 0 }));
    const objects = all.slice(0, page.limit);
    const next = objects.length === all.length && out.IsTruncated && out.NextContinuationToken ? out.NextContinuationToken : undefined;
    return { objects, ...(next ? { next } : {}) };
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const Key = keys[next++] as string;
        // Deleting an absent key succeeds: a repeated erasure is a no-op.
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, keys.length) }, worker));
  }
}
