import type { S3Client } from '@aws-sdk/client-s3';
import type { PresignedDownload, PresignedUpload, StoredObjectInfo, UploadObjects } from '../../core/uploads.js';
import { headObject, readObject } from './objects.js';
import { presignDownload, presignUpload } from './presign.js';

export interface S3UploadObjectsOptions {
  /** Default lifetime of presigned uploads, seconds (15 minutes when absent). */
  readonly uploadTtlSeconds?: number;
  /** Default lifetime of presigned downloads, seconds (5 minutes when absent). */
  readonly downloadTtlSeconds?: number;
}

/** `UploadObjects` on one S3 bucket; the client is created once and injected. */
export class S3UploadObjects implements UploadObjects {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    private readonly options: S3UploadObjectsOptions = {},
  ) {}

  presignUpload(input: Parameters<UploadObjects['presignUpload']>[0]): Promise<PresignedUpload> {
    return presignUpload(this.client, { ...input, bucket: this.bucket, expiresInSeconds: input.expiresInSeconds ?? this.options.uploadTtlSeconds });
  }

  presignDownload(input: { key: string; expiresInSeconds?: number }): Promise<PresignedDownload> {
    return presignDownload(this.client, { ...input, bucket: this.bucket, expiresInSeconds: input.expiresInSeconds ?? this.options.downloadTtlSeconds });
  }

  head(key: string): Promise<StoredObjectInfo | null> {
    return headObject(this.client, { bucket: this.bucket, key });
  }

  read(key: string, maxBytes: number): Promise<Uint8Array> {
    return readObject(this.client, { bucket: this.bucket, key, maxBytes });
  }
}
