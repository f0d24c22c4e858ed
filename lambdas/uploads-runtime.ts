/**
 * The uploads bucket of a runtime, built once per cold start from the configuration. Kept out of
 * runtime.ts so that only the handlers that touch S3 load the S3 SDK (the sync handlers' cold
 * start does not pay for it).
 */
import { DynamoAccountStore } from './adapters/dynamo/account-store.js';
import { createDocumentClient } from './adapters/dynamo/client.js';
import { S3AccountObjects } from './adapters/s3/account-objects.js';
import { createS3Client } from './adapters/s3/client.js';
import type { AccountObjects, AccountStore, ExportFiles } from './core/account.js';
import { S3ExportFiles } from './adapters/s3/export-files.js';
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

const accountObjects = new WeakMap<Runtime, AccountObjects>();

/** The user's objects for account export and erasure: injected (local stack, tests) or built from UPLOADS_BUCKET. */
export function accountObjectsOf(rt: Runtime): AccountObjects {
  if (rt.accountObjects) return rt.accountObjects;
  let objects = accountObjects.get(rt);
  if (!objects) {
    const { bucket, s3Endpoint } = rt.config.uploads;
    if (!bucket) throw new InternalError('UPLOADS_BUCKET is not configured');
    objects = new S3AccountObjects(createS3Client({ endpoint: s3Endpoint, forcePathStyle: s3Endpoint !== undefined }), bucket);
    accountObjects.set(rt, objects);
  }
  return objects;
}

const erasureStores = new WeakMap<Runtime, AccountStore>();

/** The account's items for erasure: injected (local stack, tests) or on the configured table. */
export function accountErasureStoreOf(rt: Runtime): AccountStore {
  if (rt.accountItems) return rt.accountItems;
  let store = erasureStores.get(rt);
  if (!store) {
    store = new DynamoAccountStore(createDocumentClient({ endpoint: rt.config.dynamodbEndpoint }), rt.config.tableName);
    erasureStores.set(rt, store);
  }
  return store;
}

const exportFiles = new WeakMap<Runtime, ExportFiles>();

/** Where account exports are written as files: injected (local stack, tests) or built from UPLOADS_BUCKET. */
export function exportFilesOf(rt: Runtime): ExportFiles {
  if (rt.exportFiles) return rt.exportFiles;
  let files = exportFiles.get(rt);
  if (!files) {
    const { bucket, s3Endpoint } = rt.config.uploads;
    if (!bucket) throw new InternalError('UPLOADS_BUCKET is not configured');
    files = new S3ExportFiles(createS3Client({ endpoint: s3Endpoint, forcePathStyle: s3Endpoint !== undefined }), bucket, { urlTtlSeconds: rt.config.export.urlTtlSeconds });
    exportFiles.set(rt, files);
  }
  return files;
}
