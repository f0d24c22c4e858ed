import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface S3ClientOptions {
  /** Defaults to `AWS_REGION`; `us-east-1` for a local endpoint without one. */
  readonly region?: string;
  /** s3rver, LocalStack or another S3-compatible endpoint; absent: AWS. */
  readonly endpoint?: string;
  /** Path-style URLs (`http://host/bucket/key`); default true with a local endpoint, false in AWS. */
  readonly forcePathStyle?: boolean;
  /**
   * Explicit credentials. With a local endpoint and no `AWS_ACCESS_KEY_ID` in the environment the
   * client uses `S3RVER`/`S3RVER`: s3rver refuses any access key it does not know (it knows only
   * that one), and LocalStack accepts any.
   */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

/** s3rver's only built-in key pair. */
export const S3RVER_CREDENTIALS: { readonly accessKeyId: string; readonly secretAccessKey: string } = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });

/**
 * The S3 client, created once per cold start and injected. Against a local endpoint the SDK's
 * default request checksums are turned off: they make `PutObject` send an `aws-chunked` body
 * with a trailing checksum, which s3rver would store verbatim (framing included).
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const local = options.endpoint !== undefined;
  return new S3Client({
    endpoint: options.endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'us-east-1' : undefined),
    forcePathStyle: options.forcePathStyle ?? local,
    // A copy: the SDK annotates the credentials object it is given.
    credentials: options.credentials ? { ...options.credentials } : local && !process.env.AWS_ACCESS_KEY_ID ? { ...S3RVER_CREDENTIALS } : undefined,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: 10_000 }),
    maxAttempts: 3,
    ...(local ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
  });
}
