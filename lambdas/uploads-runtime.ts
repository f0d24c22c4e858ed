/**
 * The uploads bucket of a runtime, built once per cold start from the configuration. Kept out of
 * runtime.ts so that only the handlers that touch S3 load the S3 SDK (the sync handlers' cold
 * start does not pay for it).
 */
import { createS3Client } from './adapters/s3/client.js';
import { S3UploadObjects } from './adapters/s3/upload-objects.js';
import { InternalError } from './core/errors.js';
import type { UploadObjects } from './core/uploads.js';
import type { Runtime } from './runtime.js';

const built = new WeakMap<Runtime, UploadObjects>();

/** The runtime's injected uploads bucket, or one built from UPLOADS_BUCKET; a 500 naming what is missing otherwise. */
export function uploadsOf(rt: Runtime): UploadObjects {
  if (rt.uploads) return rt.uploads;
  let objects = built.get(rt);
  if (!objects) {
    const { bucket, s3Endpoint, uploadTtlSeconds, downloadTtlSeconds } = rt.config.uploads;
    if (!bucket) throw new InternalError('UPLOADS_BUCKET is not configured');
    const client = createS3Client({ endpoint: s3Endpoint, forcePathStyle: s3Endpoint !== undefined });
    objects = new S3UploadObjects(client, bucket, { uploadTtlSeconds, downloadTtlSeconds });
    built.set(rt, objects);
  }
  return objects;
}
