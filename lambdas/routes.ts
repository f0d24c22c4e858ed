/**
 * The HTTP routes of contract v1 and the handler module serving each. The local stack routes
 * with this table; the CDK Api construct creates one integration per entry and grants each
 * handler exactly the access its entry declares.
 */

/**
 * What a handler's role may reach, named by purpose so the CDK grants stay least-privilege:
 * - `table`: read/write the sync table and its index;
 * - `cursor-secret`: read the pull-cursor signing key (only pulls sign cursors);
 * - `uploads-put`: sign uploads into the uploads bucket (presigned POST: s3:PutObject on `users/*`);
 * - `uploads-get`: read uploaded objects (presigned GET, FIT processing);
 * - `uploads-list`: list the uploads bucket, so that a missing key answers 404, not 403 (the
 *   processor, which meets late events for objects that are gone; the presign, which looks for
 *   the object of a retried upload that may not have arrived);
 * - `activities-by-start`: query the table's `by_started_at` index (the FIT processor's search
 *   for the activity a recording belongs to);
 * - `table-erase`: delete items of the sync table (account erasure only);
 * - `uploads-delete`: delete uploaded objects (account erasure only);
 * - `exports-write` / `exports-read`: write account export files under `exports/` and sign GET
 *   links to them (the export only); `exports-delete`: delete them (account erasure only).
 */
export type Access =
  | 'table'
  | 'cursor-secret'
  | 'uploads-put'
  | 'uploads-get'
  | 'uploads-list'
  | 'activities-by-start'
  | 'table-erase'
  | 'uploads-delete'
  | 'exports-write'
  | 'exports-read'
  | 'exports-delete';

export interface HandlerDef {
  /** Module under lambdas/handlers/ exporting `handler`. */
  readonly handler: string;
  readonly access: readonly Access[];
}

export interface RouteDef extends HandlerDef {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
}

export const API_ROUTES: readonly RouteDef[] = [
  { method: 'GET', path: '/api/v1/sync', handler: 'sync-pull', access: ['table', 'cursor-secret'] },
  { method: 'POST', path: '/api/v1/sync', handler: 'sync-push', access: ['table'] },
  { method: 'POST', path: '/api/v1/uploads', handler: 'uploads-create', access: ['table', 'uploads-put', 'uploads-get', 'uploads-list'] },
  { method: 'GET', path: '/api/v1/uploads/{upload_id}/url', handler: 'uploads-url', access: ['table', 'uploads-get'] },
  { method: 'GET', path: '/api/v1/conflicts', handler: 'conflicts-list', access: ['table'] },
  { method: 'POST', path: '/api/v1/conflicts', handler: 'conflicts-report', access: ['table'] },
  { method: 'POST', path: '/api/v1/conflicts/{id}/restore', handler: 'conflicts-restore', access: ['table'] },
  { method: 'GET', path: '/api/v1/account/export', handler: 'account-export', access: ['table', 'cursor-secret', 'uploads-list', 'exports-write', 'exports-read'] },
  { method: 'DELETE', path: '/api/v1/account', handler: 'account-erase', access: ['table', 'table-erase', 'uploads-list', 'uploads-delete', 'exports-delete'] },
];

/**
 * Handlers not behind the API. `fit-process` runs on S3 object-created events of the FIT
 * prefix (`users/<sub>/fit/`); in AWS through an S3 notification with a DLQ, locally on
 * s3rver's events. `server-write-queue` applies server-side writes from the SQS FIFO ingress
 * (locally: `POST /local/server-write`); besides the table it may send to its own DLQ (granted by
 * the ServerWrites construct). `change-feed` reads the table's stream and publishes to the bus;
 * it has no table access at all: the ChangeFeed construct grants the stream read and PutEvents.
 */
export const EVENT_HANDLERS = {
  fitProcess: { handler: 'fit-process', access: ['table', 'activities-by-start', 'uploads-get', 'uploads-list'] },
  serverWriteQueue: { handler: 'server-write-queue', access: ['table'] },
  changeFeed: { handler: 'change-feed', access: [] },
} as const satisfies Record<string, HandlerDef>;
