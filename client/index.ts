/**
 * RunningCoach sync client: what a React Native app passes to WatermelonDB's `synchronize()`.
 *
 * Imports no AWS SDK and no Node built-in (the app bundles it): only WatermelonDB (a peer
 * dependency of the app) and the server's pure table definitions.
 */
export { syncMigrations, syncSchema, syncSchema as appSchema } from './schema.js';
export { createSyncAdapter, type SyncAdapter, type SyncAdapterOptions } from './adapter.js';
export { synchronizeWithServer, type SynchronizeWithServerOptions } from './synchronize.js';
export { DEFAULT_MAX_PUSH_BYTES } from './push.js';
export type { FetchLike, FetchResponseLike } from './http.js';
export type { PullResult } from './pull.js';
export { SyncClientError, SyncHttpError, SyncNetworkError, SyncProtocolError, type SyncErrorDetail } from './errors.js';
export type { ChangeSet, TableChangeSet, DirtyRaw, PushArgs } from './types.js';
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
