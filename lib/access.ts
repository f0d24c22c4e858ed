/**
 * Access: turns a handler's declared `access` list (lambdas/routes.ts) into IAM grants and
 * environment variables. Each Access kind is bound once, by the stack, to the construct that owns
 * the resource; a handler then gets exactly the union of its kinds, with no per-handler special
 * case. `AccessBindings` is a total record over `Access`: a new kind does not compile until the
 * stack binds it.
 */
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Access, HandlerDef } from '../lambdas/routes.js';
import type { CursorSecret } from './cursor-secret.js';
import type { Data } from './data.js';
import type { Files } from './files.js';

export interface AccessBinding {
  /** Variables a handler with this access reads (names as in lambdas/config.ts), e.g. `{ TABLE_NAME: … }`. */
  readonly environment: Readonly<Record<string, string>>;
  /** Adds the rights of this access to the handler's role. */
  grant(grantee: IGrantable): void;
}

export type AccessBindings = Readonly<Record<Access, AccessBinding>>;

/**
 * The app's bindings: each access kind to the construct owning it. Variable names as read by
 * lambdas/config.ts. `uploads-put` (signing presigned POSTs) also carries the FIT size limit that
 * the POST policy enforces, so that it cannot drift from the processor's.
 */
export function accessBindings(
  owners: { readonly data: Data; readonly cursorSecret: CursorSecret; readonly files: Files },
  options: { readonly fitMaxBytes?: number } = {},
): AccessBindings {
  const { data, cursorSecret, files } = owners;
  const bucket = { UPLOADS_BUCKET: files.uploads.bucketName };
  const fitLimit: Record<string, string> = options.fitMaxBytes === undefined ? {} : { FIT_MAX_BYTES: String(options.fitMaxBytes) };
  return {
    table: { environment: { TABLE_NAME: data.table.tableName }, grant: (g) => data.grantSync(g) },
    'cursor-secret': { environment: { CURSOR_SECRET_ARN: cursorSecret.secretArn }, grant: (g) => cursorSecret.grantSign(g) },
    'uploads-put': { environment: { ...bucket, ...fitLimit }, grant: (g) => files.grantFor(g, 'uploads-put') },
    'uploads-get': { environment: bucket, grant: (g) => files.grantFor(g, 'uploads-get') },
    'uploads-list': { environment: bucket, grant: (g) => files.grantFor(g, 'uploads-list') },
    'activities-by-start': { environment: { TABLE_NAME: data.table.tableName }, grant: (g) => data.grantActivitiesByStart(g) },
    'table-erase': { environment: { TABLE_NAME: data.table.tableName }, grant: (g) => data.grantErase(g) },
    'uploads-delete': { environment: bucket, grant: (g) => files.grantFor(g, 'uploads-delete') },
    'exports-write': { environment: bucket, grant: (g) => files.grantFor(g, 'exports-write') },
    'exports-read': { environment: bucket, grant: (g) => files.grantFor(g, 'exports-read') },
    'exports-delete': { environment: bucket, grant: (g) => files.grantFor(g, 'exports-delete') },
  };
}

/**
 * The environment of a handler: `base`, then the variables of each access kind it declares. Two
 * sources giving one variable different values is a wiring bug and throws.
 */
export function environmentFor(def: HandlerDef, bindings: AccessBindings, base: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = { ...base };
  for (const access of new Set(def.access)) {
    for (const [name, value] of Object.entries(bindings[access].environment)) {
      if (name in env && env[name] !== value) throw new Error(`${def.handler}: environment variable ${name} is set twice with different values`);
      env[name] = value;
    }
  }
  return env;
}

/** Grants `grantee` each access kind `def` declares, and nothing else. */
export function grantAccess(grantee: IGrantable, def: HandlerDef, bindings: AccessBindings): void {
  for (const access of new Set(def.access)) bindings[access].grant(grantee);
}
