/**
 * `@runningcoach/sync-client`: what a React Native app needs to sync its WatermelonDB database
 * with RunningCoach Sync: the schema, `synchronizeWithServer`, the upload queue, progress and
 * status.
 *
 * Imports no AWS SDK and no Node built-in (the app bundles it): only WatermelonDB (a peer
 * dependency of the app) and the server's pure table definitions and conflict rules, which the
 * package build bundles in (scripts/build-client.ts).
 */
export { syncMigrations, syncSchema, syncSchema as appSchema } from './schema.js';
export { createSyncAdapter, type PushResult, type ReplacementStrategy, type SyncAdapter, type SyncAdapterOptions, type SyncPullResult } from './adapter.js';
export { synchronizeWithServer, type SynchronizeWithServerOptions, type SyncLog } from './synchronize.js';
export type { SyncPhase, SyncProgress, SyncProgressListener } from './progress.js';
export { getSyncStatus, hasPendingChanges, type LastSync, type SyncStatus, type SyncStatusOptions } from './status.js';
export { DEFAULT_MAX_PUSH_BYTES } from './push.js';
export { getRejectedRecords, type SyncRejection, type SyncRejectionListener } from './rejections.js';
export type { FetchLike, FetchResponseLike } from './http.js';
export type { PullResult } from './pull.js';
export { SyncClientError, SyncHttpError, SyncNetworkError, SyncProtocolError, type SyncErrorDetail } from './errors.js';
export type { ChangeSet, TableChangeSet, DirtyRaw, PullArgs, PushArgs, MigrationSyncChanges } from './types.js';
export { createUploadQueue, type UploadQueue, type UploadQueueOptions } from './uploads/queue.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './uploads/retry.js';
export { sha256Hex } from './uploads/sha256.js';
export type {
  EnqueueInput,
  HashFile,
  ReadFile,
  UploadFetch,
  UploadFileData,
  UploadJob,
  UploadJobStatus,
  UploadKind,
  UploadPhase,
  UploadQueueEvent,
  UploadQueueListener,
} from './uploads/types.js';
