/**
 * A private s3rver (port 0, temp dir) with a unique bucket for one test file, and the helpers
 * the upload tests share: a real browser-style multipart POST, and the decoded POST policy.
 *
 * What s3rver 3.7 enforces, measured against its source (lib/middleware/authentication.js,
 * lib/controllers/object.js):
 * - POST object uploads carry no Authorization header, so they are anonymous to s3rver: it
 *   ignores `Policy`, `X-Amz-Signature`, every policy condition (key, Content-Type,
 *   content-length-range, checksum) and the expiration. It requires only multipart/form-data,
 *   a `key` field before the `file` part, and an existing bucket.
 * - SigV4 (header or presigned query): the access key must be one it knows (`S3RVER`), the
 *   presigned URL must not be expired (X-Amz-Date + X-Amz-Expires), a header-signed request
 *   must be within 15 minutes of its clock; the signature itself is NOT verified.
 * - It stores `Content-Type` and `x-amz-meta-*` fields; `x-amz-checksum-*` is dropped.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { createS3Client, S3RVER_CREDENTIALS } from '../../lambdas/adapters/s3/client.js';
import { decodePostPolicy, type PostPolicyDocument } from '../../lambdas/adapters/s3/presign.js';
import { startS3rver, type Engine } from '../../local/engines.js';

export interface S3Harness {
  readonly endpoint: string;
  readonly bucket: string;
  readonly client: S3Client;
  stop(): Promise<void>;
}

/** Starts s3rver with a fresh bucket; the caller stops it. */
export async function startS3Harness(label = 'test'): Promise<S3Harness> {
  const bucket = `rc-${label}-${randomUUID().slice(0, 8)}`.toLowerCase();
  const engine: Engine = await startS3rver(bucket);
  const client = createS3Client({ endpoint: engine.endpoint, region: 'us-east-1', credentials: S3RVER_CREDENTIALS });
  return {
    endpoint: engine.endpoint,
    bucket,
    client,
    stop: async () => {
      client.destroy();
      await engine.close();
    },
  };
}

/** One s3rver per test file: started in beforeAll, stopped in afterAll. */
export function useS3rver(label?: string): () => S3Harness {
  let harness: S3Harness | undefined;
  beforeAll(async () => {
    harness = await startS3Harness(label);
  });
  afterAll(async () => {
    await harness?.stop();
  });
  return () => {
    if (!harness) throw new Error('s3rver not started');
    return harness;
  };
}

/** A browser-style POST upload: every field in order, then the file part (S3 requires it last). */
export async function postUpload(
  url: string,
  fields: Readonly<Record<string, string>>,
  file: Uint8Array,
  options: { contentType?: string; filename?: string } = {},
): Promise<{ status: number; body: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([file], { type: options.contentType ?? fields['Content-Type'] ?? 'application/octet-stream' }), options.filename ?? 'upload.bin');
  const res = await fetch(url, { method: 'POST', body: form });
  return { status: res.status, body: await res.text() };
}

// ---------------------------------------------------------------------------------------------
// A model of how S3 evaluates a POST upload against its policy (AWS docs: "POST Policy",
// "Calculating a Signature" for browser-based uploads with SigV4). s3rver evaluates none of
// this, so the tests run the conditions S3 would enforce on the decoded, signed policy.

/** The fields S3 exempts from "every field needs a condition". */
const UNCONDITIONED = new Set(['policy', 'x-amz-signature', 'file']);

/** SigV4 signature of a POST policy: HMAC chain (date, region, s3, aws4_request) over the base64 policy. */
export function signPostPolicy(policyBase64: string, secretAccessKey: string, credential: string): string {
  const [, date, region, service] = credential.split('/');
  const h = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
  const kSigning = h(h(h(h(`AWS4${secretAccessKey}`, date!), region!), service!), 'aws4_request');
  return createHmac('sha256', kSigning).update(policyBase64, 'utf8').digest('hex');
}

/**
 * Why S3 would refuse this form (empty: it would accept it), given the secret that signed it,
 * the size of the file part and the time of the request.
 */
export function postPolicyViolations(
  fields: Readonly<Record<string, string>>,
  fileSize: number,
  options: { secretAccessKey: string; now?: Date },
): string[] {
  const lower = new Map(Object.entries(fields).map(([k, v]) => [k.toLowerCase(), v]));
  const problems: string[] = [];
  const policy = lower.get('policy');
  if (!policy) return ['no policy'];
  const expected = signPostPolicy(policy, options.secretAccessKey, lower.get('x-amz-credential') ?? '');
  if (lower.get('x-amz-signature') !== expected) problems.push('signature does not match the policy');
  let doc: PostPolicyDocument;
  try {
    doc = decodePostPolicy(policy);
  } catch {
    return [...problems, 'policy is not base64 JSON'];
  }
  if (!(Date.parse(doc.expiration) > (options.now ?? new Date()).getTime())) problems.push('policy expired');
  const covered = new Set<string>();
  for (const c of doc.conditions) {
    if (Array.isArray(c)) {
      const [op, a, b] = c;
      if (op === 'content-length-range') {
        if (fileSize < Number(a) || fileSize > Number(b)) problems.push(`content-length-range [${a}, ${b}] excludes ${fileSize} bytes`);
        continue;
      }
      const name = String(a).replace(/^\$/, '').toLowerCase();
      covered.add(name);
      const value = lower.get(name);
      if (op === 'eq' && value !== b) problems.push(`${name} must equal ${String(b)}`);
      else if (op === 'starts-with' && !(value ?? '').startsWith(String(b))) problems.push(`${name} must start with ${String(b)}`);
    } else {
      for (const [k, v] of Object.entries(c)) {
        const name = k.toLowerCase();
        covered.add(name);
        if (lower.get(name) !== v) problems.push(`${name} must equal ${v}`);
      }
    }
  }
  for (const name of lower.keys()) {
    if (!UNCONDITIONED.has(name) && !name.startsWith('x-ignore-') && !covered.has(name)) problems.push(`field ${name} is not allowed by the policy`);
  }
  return problems;
}
