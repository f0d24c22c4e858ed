/**
 * Export files (core/account.ts `ExportFiles`) in the uploads bucket: the document is streamed
 * into a multipart upload (`@aws-sdk/lib-storage` Upload: parts of 5 MiB, two in flight, so at
 * most ~10 MiB of it in memory whatever its size; a document under one part is a single
 * PutObject) and handed out through a presigned GET that names the file for download.
 */
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ExportFiles } from '../../core/account.js';
import { translateS3Error } from './errors.js';
import { presignDownload } from './presign.js';

/** Text collected before it goes to the upload as one Buffer (the spool yields records one by one). */
const CHUNK_BYTES = 64 * 1024;
export const EXPORT_PART_BYTES = 5 * 1024 * 1024;
export const EXPORT_PARTS_IN_FLIGHT = 2;

export class S3ExportFiles implements ExportFiles {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    private readonly options: { readonly urlTtlSeconds?: number } = {},
  ) {}

  async write(key: string, chunks: AsyncIterable<string>, meta: { readonly fileName: string }): Promise<{ bytes: number }> {
    let bytes = 0;
    async function* buffers(): AsyncGenerator<Buffer> {
      let held: string[] = [];
      let size = 0;
      for await (const text of chunks) {
        held.push(text);
        size += text.length;
        if (size >= CHUNK_BYTES) {
          const b = Buffer.from(held.join(''), 'utf8');
          bytes += b.length;
          yield b;
          held = [];
          size = 0;
        }
      }
      const b = Buffer.from(held.join(''), 'utf8');
      bytes += b.length;
      if (b.length > 0) yield b;
    }
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: Readable.from(buffers(), { objectMode: false }),
        ContentType: 'application/json; charset=utf-8',
        ContentDisposition: `attachment; filename="${meta.fileName.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      },
      partSize: EXPORT_PART_BYTES,
      queueSize: EXPORT_PARTS_IN_FLIGHT,
      // A failed upload is aborted (its parts are not billed; the bucket's rule aborts leftovers after a day).
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (e) {
      throw translateS3Error(e, { bucket: this.bucket, key });
    }
    return { bytes };
  }

  presignDownload(key: string): Promise<{ url: string; expires_at: number }> {
    return presignDownload(this.client, { bucket: this.bucket, key, ...(this.options.urlTtlSeconds !== undefined ? { expiresInSeconds: this.options.urlTtlSeconds } : {}) });
  }
}
