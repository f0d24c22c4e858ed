/**
 * What handlers need at run time, created once per cold start from `loadConfig()`. Tests and
 * the local stack build their own with `createRuntime` and hand it to the handler factories.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { resolveConflict, type ConflictPolicy } from './core/conflict.js';
import type { CursorSigner } from './core/cursor.js';
import type { SyncStore } from './core/store.js';
import type { RecordingIndex } from './core/recordings.js';
import { DynamoRecordingIndex } from './adapters/dynamo/recordings-store.js';
import { createDocumentClient } from './adapters/dynamo/client.js';
import type { AccountObjects, AccountStore, ExportFiles } from './core/account.js';
import { DynamoAccountStore } from './adapters/dynamo/account-store.js';
import { DynamoSyncStore } from './adapters/dynamo/sync-store.js';
import { hmacSigner } from './adapters/hmac-signer.js';
import { readSecret } from './adapters/secrets.js';
import { loadConfig, type Config } from './config.js';
import { InternalError } from './core/errors.js';
import type { UploadObjects } from './core/uploads.js';

export interface Runtime {
  readonly config: Config;
  readonly store: SyncStore;
  /** The user's index of FIT recordings and of activities by start time (the FIT processor's). */
  readonly recordings: RecordingIndex;
  readonly signer: CursorSigner;
  readonly policy: ConflictPolicy;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
  /**
   * The uploads bucket, when injected (tests). Otherwise the upload handlers build it with
   * `uploadsOf` (lambdas/uploads-runtime.ts), so only they load the S3 SDK.
   */
  readonly uploads?: UploadObjects;
  /** The user's objects and items for account export and erasure, when injected (local stack, tests); else built by uploads-runtime.ts. */
  readonly accountObjects?: AccountObjects;
  readonly accountItems?: AccountStore;
  /** Where export files go, when injected (local stack, tests); else built by uploads-runtime.ts. */
  readonly exportFiles?: ExportFiles;
}

export const SERVICE_NAME = 'runningcoach-sync';

export function createRuntime(config: Config, overrides: Partial<Omit<Runtime, 'config'>> & { db?: DynamoDBDocumentClient } = {}): Runtime {
  const secret = config.cursorSecret;
  if (!overrides.signer && secret && !('value' in secret)) throw new Error('cursor secret not resolved: use lambdaRuntime()');
  const db = overrides.db ?? createDocumentClient({ endpoint: config.dynamodbEndpoint });
  return {
    config,
    store: overrides.store ?? new DynamoSyncStore(db, config.tableName),
    recordings: overrides.recordings ?? new DynamoRecordingIndex(db, config.tableName, overrides.now ?? Date.now),
    signer: overrides.signer ?? (secret && 'value' in secret ? hmacSigner(secret.value) : missingSigner),
    policy: overrides.policy ?? resolveConflict,
    logger: overrides.logger ?? new Logger({ serviceName: SERVICE_NAME }),
    metrics: overrides.metrics ?? new Metrics({ namespace: 'RunningCoachSync', serviceName: SERVICE_NAME }),
    now: overrides.now ?? Date.now,
    ...(overrides.uploads ? { uploads: overrides.uploads } : {}),
    ...(overrides.accountObjects ? { accountObjects: overrides.accountObjects } : {}),
    ...(overrides.exportFiles ? { exportFiles: overrides.exportFiles } : {}),
    accountItems: overrides.accountItems ?? new DynamoAccountStore(db, config.tableName),
  };
}

/** The signer of a handler deployed without the cursor key: signing a cursor is a configuration fault. */
const missingSigner: CursorSigner = {
  sign() {
    throw new InternalError('CURSOR_SECRET or CURSOR_SECRET_ARN is not configured for this handler');
  },
  verify() {
    throw new InternalError('CURSOR_SECRET or CURSOR_SECRET_ARN is not configured for this handler');
  },
};

let coldStart: Promise<Runtime> | undefined;
/** The Lambda's runtime: built on first use from the environment (and Secrets Manager), then reused. */
export function lambdaRuntime(): Promise<Runtime> {
  coldStart ??= (async () => {
    const config = loadConfig();
    if (!config.cursorSecret || 'value' in config.cursorSecret) return createRuntime(config);
    const value = await readSecret(config.cursorSecret.arn);
    return createRuntime({ ...config, cursorSecret: { value } });
  })();
  return coldStart;
}
