/**
 * Files: the uploads bucket (FIT files and images, uploaded by the phone through presigned POSTs
 * and read back through presigned GETs or by the FIT processor) and the bucket holding its server
 * access logs. Key layout: `users/<sub>/<kind>/<upload_id>…` (uploads) and `exports/<sub>/<id>.json`
 * (account export files, expired after a day by a lifecycle rule on the prefix); handlers reach
 * `users/*` and, the export and erasure functions only, `exports/*`.
 *
 * Choices:
 * - SSE-S3 (AES-256, S3-managed keys): every object is encrypted at rest with no KMS grant on the
 *   signing roles, no per-request KMS charge and no KMS throttling on bulk uploads. SSE-KMS
 *   would add a key policy to maintain and `kms:GenerateDataKey`/`kms:Decrypt` to every presign
 *   role for no gain in this threat model (access is decided by IAM on `users/*`, not by the key).
 * - Versioning on: a presigned POST may be replayed until it expires, and each replay overwrites
 *   the same pinned key; versioning keeps the earlier file (the original a runner's watch
 *   produced) recoverable, as it does after an operator's mistaken delete. Noncurrent versions
 *   expire after `noncurrentVersionRetention`; only overwritten or deleted keys pay for it.
 * - No CORS: the clients are mobile apps posting directly to S3, not browser pages. A web client
 *   would need a CORS rule for POST from its origin here.
 * - Server access logs to a second bucket: the only record of who fetched a presigned GET or
 *   posted an upload (CloudTrail S3 data events cost far more); kept `accessLogRetention`.
 * - prod keeps both buckets when the stack goes away; dev empties and deletes them.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type CfnBucket, type LifecycleRule } from 'aws-cdk-lib/aws-s3';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct, type IConstruct } from 'constructs';
import type { Access } from '../lambdas/routes.js';
import { removalPolicyFor, type Stage } from './stage.js';

/** Every object a handler may touch lives under this prefix (`users/<sub>/…`). */
export const UPLOADS_PREFIX = 'users/';

/** The one S3 action each object access kind gives, on `users/*` of the uploads bucket. */
export const UPLOADS_ACTIONS = { 'uploads-put': 's3:PutObject', 'uploads-get': 's3:GetObject', 'uploads-delete': 's3:DeleteObject' } as const satisfies Partial<Record<Access, string>>;

/**
 * Account export files: `exports/<sub>/<export_id>.json` (lambdas/core/uploads.ts
 * EXPORTS_KEY_PREFIX), written by the export function and expired by a lifecycle rule on the prefix.
 */
export const EXPORTS_PREFIX = 'exports/';
/**
 * The S3 actions of each export access kind, on `exports/*` only. Writing is a multipart upload
 * (PutObject covers create, part and complete), and aborting a failed one is its own action.
 */
export const EXPORTS_ACTIONS = {
  'exports-write': ['s3:PutObject', 's3:AbortMultipartUpload'],
  'exports-read': ['s3:GetObject'],
  'exports-delete': ['s3:DeleteObject'],
} as const satisfies Partial<Record<Access, readonly string[]>>;
export type UploadsAccess = keyof typeof UPLOADS_ACTIONS | 'uploads-list' | keyof typeof EXPORTS_ACTIONS;

export interface FilesProps {
  /** prod: both buckets retained; dev: emptied and deleted with the stack. */
  readonly stage: Stage;
  /** How long an overwritten or deleted upload stays recoverable. @default Duration.days(30) */
  readonly noncurrentVersionRetention?: Duration;
  /** How long server access logs are kept. @default Duration.days(365) */
  readonly accessLogRetention?: Duration;
  /** How long an account export file is kept (its link lives minutes). @default Duration.days(1) */
  readonly exportRetention?: Duration;
}

export class Files extends Construct {
  /** FIT files and images, `users/<sub>/<kind>/<upload_id>…`. */
  public readonly uploads: Bucket;
  /** Server access logs of `uploads`, under `uploads/`. */
  public readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: FilesProps) {
    super(scope, id);
    // Log delivery through a bucket policy rather than the LogDeliveryWrite ACL (ACLs stay
    // disabled): pinned here so the buckets do not depend on the app's feature flags.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const prod = props.stage === 'prod';
    const common = {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: removalPolicyFor(props.stage),
      // dev only: a custom resource empties the bucket (every version) before CloudFormation deletes it.
      autoDeleteObjects: !prod,
    };
    // Presigned POSTs are single PUT-style uploads, but a multipart upload (SDK, CLI, a future
    // client) that never completes is billed until aborted.
    const abortIncomplete: LifecycleRule = { id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) };

    this.accessLogs = new Bucket(this, 'AccessLogs', {
      ...common,
      // Target buckets of server access logging support SSE-S3 only.
      lifecycleRules: [abortIncomplete, { id: 'expire-access-logs', expiration: props.accessLogRetention ?? Duration.days(365) }],
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log bucket of the uploads bucket; logging its own access would log the log deliveries recursively.',
    });

    this.uploads = new Bucket(this, 'Uploads', {
      ...common,
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'uploads/',
      lifecycleRules: [
        abortIncomplete,
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: props.noncurrentVersionRetention ?? Duration.days(30),
          // A delete marker with no versions left behind it is clutter: remove it.
          expiredObjectDeleteMarker: true,
        },
        {
          // Export files are copies of personal data made for one download: gone after a day,
          // their noncurrent versions too (the shorter of two matching rules applies).
          id: 'expire-account-exports',
          prefix: EXPORTS_PREFIX,
          expiration: props.exportRetention ?? Duration.days(1),
          noncurrentVersionExpiration: props.exportRetention ?? Duration.days(1),
        },
      ],
    });
  }

  /** `arn:…:s3:::<uploads>/users/*`: the only objects any handler may reach. */
  public get userObjectsArn(): string {
    return this.uploads.arnForObjects(`${UPLOADS_PREFIX}*`);
  }

  /** `arn:…:s3:::<uploads>/exports/*`: account export files, reached by the export and erasure functions only. */
  public get exportObjectsArn(): string {
    return this.uploads.arnForObjects(`${EXPORTS_PREFIX}*`);
  }

  /**
   * Grants one upload access kind: `uploads-put` → s3:PutObject (signing presigned POSTs),
   * `uploads-get` → s3:GetObject (presigned GETs, reading a FIT file), each on `users/*` only;
   * `uploads-list` → s3:ListBucket on the bucket, which only makes S3 answer 404 rather than 403
   * for a missing key (the processor meets late events for objects that are gone);
   * `uploads-delete` → s3:DeleteObject on `users/*` (account erasure only);
   * `exports-write` → s3:PutObject and s3:AbortMultipartUpload, `exports-read` → s3:GetObject,
   * `exports-delete` → s3:DeleteObject, each on `exports/*` only.
   */
  public grantFor(grantee: IGrantable, access: UploadsAccess): Grant {
    if (access === 'uploads-list') {
      // No s3:prefix condition: a HeadObject carries no prefix, so a conditioned grant would not count.
      return Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [this.uploads.bucketArn] });
    }
    const uploadsId = Stack.of(this).resolve(Stack.of(this).getLogicalId(this.uploads.node.defaultChild as CfnBucket)) as string;
    if (access === 'exports-write' || access === 'exports-read' || access === 'exports-delete') {
      const grant = Grant.addToPrincipal({ grantee, actions: [...EXPORTS_ACTIONS[access]], resourceArns: [this.exportObjectsArn] });
      Validations.of(grantee.grantPrincipal as unknown as IConstruct).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${uploadsId}.Arn>/${EXPORTS_PREFIX}*]`,
        reason:
          'Object-level S3 action on the exports/ prefix of the uploads bucket: export files (exports/<sub>/<export_id>.json) are ' +
          'named at run time, so they can only be granted by prefix; the handler builds the key from the caller alone.',
      });
      return grant;
    }
    const grant = Grant.addToPrincipal({ grantee, actions: [UPLOADS_ACTIONS[access]], resourceArns: [this.userObjectsArn] });
    // The object wildcard is inherent to S3 (keys are per user and per upload, created at run
    // time); it is bounded to the users/ prefix of this one bucket. Acknowledged for this exact
    // resource only, on the grantee, so any other wildcard still fails cdk-nag.
    Validations.of(grantee.grantPrincipal as unknown as IConstruct).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${uploadsId}.Arn>/${UPLOADS_PREFIX}*]`,
      reason:
        'Object-level S3 action on the users/ prefix of the uploads bucket: object keys (users/<sub>/<kind>/<upload_id>) are ' +
        'created at run time, so they can only be granted by prefix; the handler checks the caller owns the key.',
    });
    return grant;
  }
}
