/**
 * Runtime configuration, read from the environment once per cold start into a frozen object.
 * The core never reads the environment; handlers receive what they need from here.
 */
import * as z from 'zod';
import { FIT_MAX_BYTES } from './core/uploads.js';

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

const envSchema = z.object({
  /** The sync table (created by the CDK Data construct, or by the local stack). */
  TABLE_NAME: z.string().min(3),
  /** HMAC key for pull cursors (32+ characters); or, in AWS, the ARN of a Secrets Manager secret holding it. */
  CURSOR_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  CURSOR_SECRET_ARN: z.string().startsWith('arn:').optional(),
  /**
   * Byte budget of one pull response body. Lambda caps the response at 6 MB and stores the body
   * escaped once more (each `"` or `\\` doubles), so 3 MB is the largest budget that always fits.
   */
  PULL_PAGE_BYTES: int(3_000_000, 1_000, 3_000_000),
  /** Items per DynamoDB Query round trip of a pull. */
  PULL_QUERY_LIMIT: int(500, 1, 1000),
  /** Bound on GSI replication lag: pulls treat a push's writes as unseen for this long after it ends. */
  INDEX_LAG_MS: int(5_000, 0, 600_000),
  /** A push makes no write later than this after taking its stamp (keep below the Lambda timeout). */
  MAX_PUSH_MS: int(20_000, 1_000, 900_000),
  /** Extra time after MAX_PUSH_MS before a dead push stops holding the pull watermark back. */
  INFLIGHT_GRACE_MS: int(10_000, 1_000, 600_000),
  PUSH_WRITE_CONCURRENCY: int(16, 1, 100),
  /** Lifetime of a pull cursor. */
  CURSOR_TTL_MS: int(900_000, 1_000, 86_400_000),
  /** How long conflict-log entries are kept before the table's TTL removes them. */
  CONFLICT_TTL_DAYS: int(90, 1, 3650),
  /**
   * How long a deleted record's tombstone is kept (the table's TTL removes it later). A device
   * that has not pulled for longer gets a replacement sync (docs/sync-protocol.md, P10).
   */
  TOMBSTONE_RETENTION_DAYS: int(90, 1, 3650),
  /** Overrides TOMBSTONE_RETENTION_DAYS in milliseconds (tests and demos). */
  TOMBSTONE_RETENTION_MS: z.coerce.number().int().min(1).max(3650 * 86_400_000).optional(),
  /** The uploads bucket (FIT files and images); required by the upload and FIT-processing handlers. */
  UPLOADS_BUCKET: z.string().min(3).optional(),
  /**
   * Largest FIT file accepted and processed, bytes (presign policy and processor). At most the
   * processor's proven bound (lambdas/core/uploads.ts FIT_MAX_BYTES): it can be lowered, never raised.
   */
  FIT_MAX_BYTES: int(FIT_MAX_BYTES, 1024, FIT_MAX_BYTES),
  /** Largest image accepted, bytes. */
  IMAGE_MAX_BYTES: int(10 * 1024 * 1024, 1024, 50 * 1024 * 1024),
  /** Lifetime of a presigned upload, seconds. */
  UPLOAD_URL_TTL_S: int(900, 60, 7 * 24 * 3600),
  /** Lifetime of a presigned download, seconds. */
  DOWNLOAD_URL_TTL_S: int(300, 60, 7 * 24 * 3600),
  /**
   * Largest account export answered inline, bytes of the Lambda response it makes (the body is one
   * JSON string there: each `"` and `\\` counts twice). Larger exports are written to a file and
   * answered with a link (303). At most 5,000,000: Lambda refuses responses over 6 MB.
   */
  EXPORT_INLINE_MAX_BYTES: int(4_000_000, 1_000, 5_000_000),
  /** Lifetime of an export file's download link, seconds (the file itself expires after a day). */
  EXPORT_URL_TTL_S: int(900, 60, 12 * 3600),
  /** Points the S3 client at s3rver or LocalStack instead of AWS. */
  S3_ENDPOINT: z.string().url().optional(),
  /** Points the DynamoDB client at dynalite or LocalStack instead of AWS. */
  DYNAMODB_ENDPOINT: z.string().url().optional(),
  /** The EventBridge bus the change feed publishes to; required by the change-feed handler. */
  EVENT_BUS_NAME: z.string().min(1).max(256).optional(),
  /** The server-write queue's dead-letter queue, where the ingress sends messages it can never apply. */
  SERVER_WRITE_DLQ_URL: z.string().url().optional(),
});

/** Every variable the configuration reads (the local stack passes these through from its environment). */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(envSchema.shape));

export interface Config {
  readonly tableName: string;
  /** The cursor key itself, or where to read it at cold start. */
  /** Absent for handlers that sign no pull cursors (they are not granted the secret). */
  readonly cursorSecret?: { readonly value: string } | { readonly arn: string };
  readonly dynamodbEndpoint?: string;
  readonly uploads: {
    readonly bucket?: string;
    readonly s3Endpoint?: string;
    readonly maxBytes: { readonly fit: number; readonly image: number };
    readonly uploadTtlSeconds: number;
    readonly downloadTtlSeconds: number;
  };
  readonly export: {
    /** Exports whose inline response would be larger are delivered as a file (EXPORT_INLINE_MAX_BYTES). */
    readonly inlineMaxBytes: number;
    readonly urlTtlSeconds: number;
  };
  readonly pull: {
    readonly pageBytes: number;
    readonly queryLimit: number;
    readonly indexLagMs: number;
    readonly inflightExpiryMs: number;
    readonly cursorTtlMs: number;
    /** A pull whose last_pulled_at is older than this is answered as a replacement sync. */
    readonly tombstoneRetentionMs: number;
  };
  readonly push: {
    readonly maxPushMs: number;
    readonly inflightExpiryMs: number;
    readonly indexLagMs: number;
    readonly writeConcurrency: number;
    readonly maxWriteAttempts: number;
    readonly conflictTtlMs: number;
    /** Tombstones written by a push expire this long after their delete. */
    readonly tombstoneRetentionMs: number;
  };
  /** The change feed's bus (change-feed handler). */
  readonly eventBusName?: string;
  /** The server-write ingress's dead-letter queue (server-write-queue handler). */
  readonly serverWriteDlqUrl?: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  // A dead push's entry may expire only after its last write could have landed (SDK timeout 3 s) and shown in the index.
  if (e.INFLIGHT_GRACE_MS < e.INDEX_LAG_MS + 5_000) {
    throw new ConfigError('invalid configuration: INFLIGHT_GRACE_MS must be at least INDEX_LAG_MS + 5000');
  }
  const inflightExpiryMs = e.MAX_PUSH_MS + e.INFLIGHT_GRACE_MS;
  const tombstoneRetentionMs = e.TOMBSTONE_RETENTION_MS ?? e.TOMBSTONE_RETENTION_DAYS * 86_400_000;
  return Object.freeze({
    tableName: e.TABLE_NAME,
    cursorSecret: e.CURSOR_SECRET ? Object.freeze({ value: e.CURSOR_SECRET }) : e.CURSOR_SECRET_ARN ? Object.freeze({ arn: e.CURSOR_SECRET_ARN }) : undefined,
    dynamodbEndpoint: e.DYNAMODB_ENDPOINT,
    uploads: Object.freeze({
      bucket: e.UPLOADS_BUCKET,
      s3Endpoint: e.S3_ENDPOINT,
      maxBytes: Object.freeze({ fit: e.FIT_MAX_BYTES, image: e.IMAGE_MAX_BYTES }),
      uploadTtlSeconds: e.UPLOAD_URL_TTL_S,
      downloadTtlSeconds: e.DOWNLOAD_URL_TTL_S,
    }),
    export: Object.freeze({ inlineMaxBytes: e.EXPORT_INLINE_MAX_BYTES, urlTtlSeconds: e.EXPORT_URL_TTL_S }),
    pull: Object.freeze({
      pageBytes: e.PULL_PAGE_BYTES,
      queryLimit: e.PULL_QUERY_LIMIT,
      indexLagMs: e.INDEX_LAG_MS,
      inflightExpiryMs,
      cursorTtlMs: e.CURSOR_TTL_MS,
      tombstoneRetentionMs,
    }),
    push: Object.freeze({
      maxPushMs: e.MAX_PUSH_MS,
      inflightExpiryMs,
      indexLagMs: e.INDEX_LAG_MS,
      writeConcurrency: e.PUSH_WRITE_CONCURRENCY,
      // Each lost race has a winner, so N concurrent writers of one record need up to N tries; the
      // write window (MAX_PUSH_MS) bounds the time, this the tries (then 503 contention).
      maxWriteAttempts: 100,
      conflictTtlMs: e.CONFLICT_TTL_DAYS * 86_400_000,
      tombstoneRetentionMs,
    }),
    eventBusName: e.EVENT_BUS_NAME,
    serverWriteDlqUrl: e.SERVER_WRITE_DLQ_URL,
  });
}
