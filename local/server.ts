/**
 * The embedded local stack: one HTTP server that turns requests into API Gateway (HTTP API v2)
 * events for the same handlers that run in Lambda, backed by dynalite and s3rver it starts
 * itself (or by DYNAMODB_ENDPOINT / S3_ENDPOINT when given). Also serves the local-only routes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDocumentClient } from '../lambdas/adapters/dynamo/client.js';
import { createS3Client, S3RVER_CREDENTIALS } from '../lambdas/adapters/s3/client.js';
import { S3UploadObjects } from '../lambdas/adapters/s3/upload-objects.js';
import { loadConfig } from '../lambdas/config.js';
import { createPullHandler } from '../lambdas/handlers/sync-pull.js';
import { createPushHandler } from '../lambdas/handlers/sync-push.js';
import { createUploadsCreateHandler } from '../lambdas/handlers/uploads-create.js';
import { createUploadsUrlHandler } from '../lambdas/handlers/uploads-url.js';
import { createFitProcessHandler } from '../lambdas/handlers/fit-process.js';
import type { IngestOutcome } from '../lambdas/processing/ingest-upload.js';
import { createConflictsListHandler } from '../lambdas/handlers/conflicts-list.js';
import { createConflictsReportHandler } from '../lambdas/handlers/conflicts-report.js';
import { createConflictsRestoreHandler } from '../lambdas/handlers/conflicts-restore.js';
import { applyServerWrites, parseServerWriteMessage } from '../lambdas/core/server-write.js';
import { createChangeFeedHandler } from '../lambdas/handlers/change-feed.js';
import { LocalEventLog, MAX_EVENTS_PER_READ, pollTableStream, tapRecordWrites, type FeedSource, type StreamBatchHandler } from './change-feed.js';
import { isSyncError } from '../lambdas/core/errors.js';
import {
  InternalError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  UnauthorizedError,
  ValidationError,
  type SyncError,
} from '../lambdas/core/errors.js';
import type { HttpHandler } from '../lambdas/http/handler.js';
import { errorBody } from '../lambdas/http/response.js';
import { createRuntime, SERVICE_NAME, type Runtime } from '../lambdas/runtime.js';
import { createAccountEraseHandler } from '../lambdas/handlers/account-erase.js';
import { createAccountExportHandler } from '../lambdas/handlers/account-export.js';
import { S3AccountObjects } from '../lambdas/adapters/s3/account-objects.js';
import { S3ExportFiles } from '../lambdas/adapters/s3/export-files.js';
import { API_ROUTES } from '../lambdas/routes.js';
import { ensureSyncTable, syncTableStreamArn, startDynalite, startDynamoDbLocal, startS3rver, type Engine, type S3NotificationEvent } from './engines.js';
import { createLocalIssuer, type LocalIssuer } from './jwt.js';
import { byteLength, LAMBDA_PAYLOAD_LIMIT, lambdaContext, toEvent } from './lambda-event.js';
import { proxyToS3, rewriteResponseBody, rewriteStorageUrls, S3_PROXY_PREFIX } from './public-url.js';

/** API Gateway HTTP API's own payload limit; bodies past it never reach the Lambda. */
const API_GATEWAY_PAYLOAD_LIMIT = 10 * 1024 * 1024;
const LAMBDA_TIMEOUT_MS = 29_000;

export interface LocalStackOptions {
  readonly port?: number;
  readonly host?: string;
  /** Folder for data that persists across restarts; omit for in-memory. */
  readonly dataDir?: string;
  readonly dynamodbEndpoint?: string;
  /**
   * The DynamoDB engine the stack starts when no `dynamodbEndpoint` is given: dynalite (default,
   * pure JS, nothing to install) or Amazon DynamoDB Local (needs Java 17+; AWS's own semantics:
   * conditional-failure items, TTL, Streams, transactions).
   */
  readonly engine?: 'dynalite' | 'dynamodb-local';
  readonly s3Endpoint?: string;
  readonly tableName?: string;
  readonly uploadsBucket?: string;
  /** Config overrides, as environment variables (e.g. PULL_PAGE_BYTES). */
  readonly env?: Record<string, string>;
  /** Wraps the runtime, e.g. to inject faults into the store in tests. */
  readonly runtime?: (rt: Runtime) => Runtime;
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /**
   * The host name or IP a phone or emulator reaches this machine by (`PUBLIC_HOST`): the stack's
   * URL and every storage URL it hands out use it, S3 through `/local/s3/` (local/public-url.ts).
   */
  readonly publicHost?: string;
  /**
   * Runs the change feed (`GET /local/events`): from the table's stream where the engine has
   * Streams (DynamoDB Local), else from each committed record write (dynalite). @default true
   */
  readonly changeFeed?: boolean;
}

export interface LocalStack {
  readonly url: string;
  readonly tableName: string;
  readonly uploadsBucket: string;
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint: string;
  readonly runtime: Runtime;
  readonly issuer: LocalIssuer;
  /** A token for `userId`, as `POST /local/token` would issue. */
  token(userId: string): Promise<string>;
  /**
   * Resolves once every S3 event delivered so far has been processed (uploads arrive through
   * s3rver's events, as S3 notifications would trigger the processing Lambda), with the outcomes.
   */
  uploadsSettled(): Promise<IngestOutcome[]>;
  /** The change feed's event log (what `GET /local/events` reads); undefined with `changeFeed: false`. */
  readonly events: LocalEventLog | undefined;
  /** Where the change feed reads from: the table's stream, or the stack's own record writes. */
  readonly changeFeedSource: 'stream' | 'writes' | 'off';
  /** Resolves once every change committed before the call is in the event log. */
  eventsSettled(): Promise<void>;
  close(): Promise<void>;
}

const HANDLER_FACTORIES: Record<string, (rt: Runtime) => HttpHandler> = {
  'sync-pull': createPullHandler,
  'sync-push': createPushHandler,
  'conflicts-list': createConflictsListHandler,
  'conflicts-report': createConflictsReportHandler,
  'conflicts-restore': createConflictsRestoreHandler,
  'account-export': createAccountExportHandler,
  'account-erase': createAccountEraseHandler,
  'uploads-create': createUploadsCreateHandler,
  'uploads-url': createUploadsUrlHandler,
};

interface RouteEntry {
  readonly method: string;
  readonly template: string;
  readonly pattern: RegExp;
  readonly params: readonly string[];
  readonly handler: HttpHandler;
}

/** `/api/v1/conflicts/{id}/restore` → a matcher that captures `id` (one path segment). */
function compileRoute(method: string, template: string, handler: HttpHandler): RouteEntry {
  const params: string[] = [];
  const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
    params.push(name);
    return '([^/]+)';
  });
  return { method, template, pattern: new RegExp(`^${source}$`), params, handler };
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const tableName = options.tableName ?? 'runningcoach-sync-local';
  const uploadsBucket = options.uploadsBucket ?? 'runningcoach-uploads-local';
  const engines: Engine[] = [];
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const sub = (name: string) => (options.dataDir ? join(options.dataDir, name) : undefined);

  // Configuration first: a bad variable stops the stack before any engine starts.
  const cursorSecretValue = cursorSecret(options.dataDir);
  const configFor = (endpoints: { dynamodb: string; s3: string }) =>
    loadConfig({
      TABLE_NAME: tableName,
      DYNAMODB_ENDPOINT: endpoints.dynamodb,
      UPLOADS_BUCKET: uploadsBucket,
      S3_ENDPOINT: endpoints.s3,
      CURSOR_SECRET: cursorSecretValue,
      ...options.env,
    });
  configFor({ dynamodb: 'http://127.0.0.1:1', s3: 'http://127.0.0.1:1' });

  const embeddedDynamo = options.dynamodbEndpoint === undefined;
  const dynamodbEndpoint =
    options.dynamodbEndpoint ??
    (await track(engines, options.engine === 'dynamodb-local' ? startDynamoDbLocal(sub('dynamodb-local')) : startDynalite(sub('dynamodb')))).endpoint;
  // Events arrive before the handler exists; they queue until it does.
  const pendingEvents: S3NotificationEvent[] = [];
  let onS3Event: (event: S3NotificationEvent) => void = (event) => void pendingEvents.push(event);
  const embeddedS3 = options.s3Endpoint === undefined;
  const s3Endpoint = options.s3Endpoint ?? (await track(engines, startS3rver(uploadsBucket, sub('s3'), (event) => onS3Event(event)))).endpoint;

  // Embedded engines get their own credentials whatever AWS credentials the environment holds
  // (s3rver knows only its built-in key); an external endpoint gets the environment's.
  const dynamoCredentials = embeddedDynamo ? { ...LOCAL_CREDENTIALS } : localCredentials();
  const raw = new DynamoDBClient({ endpoint: dynamodbEndpoint, region: process.env.AWS_REGION ?? 'local', credentials: dynamoCredentials && { ...dynamoCredentials } });
  await ensureSyncTable(raw, tableName);
  const streamArn = await syncTableStreamArn(raw, tableName);
  raw.destroy();

  const config = configFor({ dynamodb: dynamodbEndpoint, s3: s3Endpoint });
  const logLevel = options.logLevel ?? 'WARN';
  // The change feed: the stream handler of AWS, fed by the table's stream or by each record write.
  const feedOn = options.changeFeed ?? true;
  const events = feedOn ? new LocalEventLog() : undefined;
  let handleStream: StreamBatchHandler = async () => {
    throw new Error('change feed not started');
  };
  const feedError = (e: unknown) => runtime.logger.error('change feed failure', e as Error);
  let db = createDocumentClient({ endpoint: dynamodbEndpoint, ...(dynamoCredentials ? { credentials: dynamoCredentials } : {}) });
  let feed: FeedSource | undefined;
  if (feedOn && !streamArn) {
    const tap = tapRecordWrites(db, (event) => handleStream(event), feedError);
    db = tap.client;
    feed = tap.source;
  }
  const base = createRuntime(config, {
    db,
    ...(embeddedS3
      ? {
          uploads: new S3UploadObjects(createS3Client({ endpoint: s3Endpoint, credentials: S3RVER_CREDENTIALS }), uploadsBucket, {
            uploadTtlSeconds: config.uploads.uploadTtlSeconds,
            downloadTtlSeconds: config.uploads.downloadTtlSeconds,
          }),
          accountObjects: new S3AccountObjects(createS3Client({ endpoint: s3Endpoint, credentials: S3RVER_CREDENTIALS }), uploadsBucket),
          exportFiles: new S3ExportFiles(createS3Client({ endpoint: s3Endpoint, credentials: S3RVER_CREDENTIALS }), uploadsBucket, { urlTtlSeconds: config.export.urlTtlSeconds }),
        }
      : {}),
    logger: new Logger({ serviceName: SERVICE_NAME, logLevel }),
    metrics: new Metrics({ namespace: 'RunningCoachSync', serviceName: SERVICE_NAME, singleMetric: false }),
  });
  // Metrics go to CloudWatch in AWS; locally they would only flood stdout.
  base.metrics.setThrowOnEmptyMetrics(false);
  const runtime = options.runtime ? options.runtime(base) : base;
  if (events) {
    const feedHandler = createChangeFeedHandler(runtime, events);
    handleStream = (event) => feedHandler(event, lambdaContext('change-feed', 60_000));
    if (streamArn) {
      feed = pollTableStream({ endpoint: dynamodbEndpoint, credentials: dynamoCredentials ?? { ...LOCAL_CREDENTIALS }, streamArn, handle: handleStream, onError: feedError });
    }
  }
  const handlers = API_ROUTES.map((r) => compileRoute(r.method, r.path, (HANDLER_FACTORIES[r.handler] as (rt: Runtime) => HttpHandler)(runtime)));
  const issuer = await createLocalIssuer(options.dataDir);

  // The processing Lambda, triggered as S3 notifications would trigger it in AWS.
  const processUpload = createFitProcessHandler(runtime);
  const inFlight = new Set<Promise<IngestOutcome[]>>();
  const settledOutcomes: IngestOutcome[] = [];
  onS3Event = (event) => {
    const created = { Records: event.Records.filter((r) => r.eventName.startsWith('ObjectCreated') && r.s3.bucket.name === uploadsBucket) };
    if (created.Records.length === 0) return;
    const run = processUpload(created as never, lambdaContext('fit-process', 60_000))
      .then((r) => r.results)
      .catch((e: unknown) => {
        runtime.logger.error('upload processing failed (AWS would retry, then dead-letter it)', e as Error);
        return [] as IngestOutcome[];
      });
    inFlight.add(run);
    void run.then((results) => {
      inFlight.delete(run);
      settledOutcomes.push(...results);
    });
  };
  for (const event of pendingEvents.splice(0)) onS3Event(event);

  let publicBase: string | undefined;
  const server = createServer((req, res) => {
    if (publicBase && (req.url ?? '').startsWith(`${S3_PROXY_PREFIX}/`)) return proxyToS3(req, res, s3Endpoint);
    const storage = publicBase ? { s3Endpoint, publicBase } : undefined;
    route(req, res, { handlers, issuer, runtime, log: runtime.logger, storage, events }).catch((e: unknown) => {
      runtime.logger.error('local server failure', e as Error);
      if (!res.headersSent) sendGatewayError(res, 'Internal Server Error', new InternalError('local server failure'));
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const host = options.publicHost ?? (options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1');
  if (options.publicHost) publicBase = `http://${options.publicHost}:${port}`;

  return {
    url: `http://${host}:${port}`,
    tableName,
    uploadsBucket,
    dynamodbEndpoint,
    s3Endpoint,
    runtime,
    issuer,
    token: (userId) => issuer.issue(userId),
    async uploadsSettled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      return settledOutcomes.splice(0);
    },
    events,
    changeFeedSource: !events ? 'off' : streamArn ? 'stream' : 'writes',
    async eventsSettled() {
      await feed?.drained();
    },
    async close() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      await feed?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const e of engines.reverse()) await e.close();
    },
  };
}

async function track(engines: Engine[], p: Promise<Engine>): Promise<Engine> {
  const e = await p;
  engines.push(e);
  return e;
}

// Copied where used: the SDK annotates the credentials object it is given.
const LOCAL_CREDENTIALS = Object.freeze({ accessKeyId: 'local', secretAccessKey: 'local' });

/** For an external endpoint: the environment's AWS credentials when it has some, else any. */
function localCredentials() {
  return process.env.AWS_ACCESS_KEY_ID ? undefined : { ...LOCAL_CREDENTIALS };
}

function cursorSecret(dataDir?: string): string {
  const file = dataDir ? join(dataDir, 'cursor-secret') : undefined;
  if (file && existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('base64url');
  if (file) writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

interface Routing {
  handlers: readonly RouteEntry[];
  issuer: LocalIssuer;
  runtime: Runtime;
  log: Logger;
  /** Set with a public host: storage URLs in answers are rewritten to reach S3 through this server. */
  storage?: { s3Endpoint: string; publicBase: string } | undefined;
  events: LocalEventLog | undefined;
}

async function route(req: IncomingMessage, res: ServerResponse, r: Routing): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = (req.method ?? 'GET').toUpperCase();
  const body = await readBody(req, API_GATEWAY_PAYLOAD_LIMIT);
  if (body === 'too-large') return sendGatewayError(res, 'Request Entity Too Large', new PayloadTooLargeError('request body over the 10 MB API Gateway limit'));

  if (url.pathname === '/local/token') {
    if (method !== 'POST') return sendGatewayError(res, 'Method Not Allowed', new MethodNotAllowedError('use POST'));
    return issueToken(res, body, r.issuer);
  }
  if (url.pathname === '/local/server-write') {
    if (method !== 'POST') return sendGatewayError(res, 'Method Not Allowed', new MethodNotAllowedError('use POST'));
    return serverWrite(res, body, r.runtime);
  }
  if (url.pathname === '/local/events') {
    if (method !== 'GET') return sendGatewayError(res, 'Method Not Allowed', new MethodNotAllowedError('use GET'));
    return readEvents(res, url, r.events);
  }

  const matches = r.handlers.flatMap((e) => {
    const m = e.pattern.exec(url.pathname);
    return m ? [{ entry: e, values: m.slice(1) }] : [];
  });
  const match = matches.find((m) => m.entry.method === method);
  if (!match) {
    return matches.length > 0
      ? sendGatewayError(res, 'Method Not Allowed', new MethodNotAllowedError(`${method} is not allowed on ${url.pathname}`))
      : sendGatewayError(res, 'Not Found', new NotFoundError(`no route ${method} ${url.pathname}`));
  }
  const routeKey = `${method} ${match.entry.template}`;
  const handler = match.entry.handler;
  const pathParameters = Object.fromEntries(match.entry.params.map((p, i) => [p, safeDecode(match.values[i] as string)]));

  // API Gateway's JWT authorizer: the Lambda never runs for a request without a valid token.
  const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const claims = token ? await r.issuer.verify(token) : undefined;
  if (!claims) return sendGatewayError(res, 'Unauthorized', new UnauthorizedError('missing or invalid bearer token'));

  const event = toEvent(req, url, body, routeKey, claims as Record<string, unknown>, pathParameters);
  if (byteLength(event) > LAMBDA_PAYLOAD_LIMIT) {
    return sendGatewayError(res, 'Request Entity Too Large', new PayloadTooLargeError('request exceeds the 6 MB Lambda payload limit'));
  }
  const result = await handler(event, lambdaContext(routeKey, LAMBDA_TIMEOUT_MS));
  const resultBytes = byteLength(result);
  if (resultBytes > LAMBDA_PAYLOAD_LIMIT) {
    // Lambda refuses the response and API Gateway answers a bare 500, exactly so; the reason goes to the log.
    r.log.error('response exceeds the 6 MB Lambda payload limit', { routeKey, bytes: resultBytes });
    return sendGatewayError(res, 'Internal Server Error', new InternalError('response too large'));
  }
  if (r.storage && !result.isBase64Encoded) {
    // Only the body changes (its length with it: Node sets content-length from what is written).
    const { 'content-length': _length, ...headers } = result.headers ?? {};
    // A redirect to a file (the account export's 303) names S3 too.
    if (typeof headers.location === 'string') headers.location = rewriteStorageUrls(headers.location, r.storage.s3Endpoint, r.storage.publicBase) as string;
    res.writeHead(result.statusCode, headers);
    return void res.end(rewriteResponseBody(result.body, r.storage.s3Endpoint, r.storage.publicBase));
  }
  res.writeHead(result.statusCode, result.headers);
  res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

async function issueToken(res: ServerResponse, body: Buffer, issuer: LocalIssuer): Promise<void> {
  let userId: unknown;
  try {
    userId = (JSON.parse(body.toString('utf8')) as { user_id?: unknown }).user_id;
  } catch {
    userId = undefined;
  }
  if (typeof userId !== 'string' || !/^[A-Za-z0-9_.@:-]{1,128}$/.test(userId)) {
    const error = new ValidationError('invalid token request', [{ path: 'user_id', field: 'user_id', message: 'must be a string of 1-128 characters [A-Za-z0-9_.@:-]' }]);
    return send(res, 400, errorBody(error).body);
  }
  send(res, 200, { token: await issuer.issue(userId) });
}

/**
 * `POST /local/server-write` (local only): a server-side write as the plan engine or the FIT
 * processor makes it, for tests and demos. No token: the local stack trusts its caller.
 */
async function serverWrite(res: ServerResponse, body: Buffer, rt: Runtime): Promise<void> {
  try {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ValidationError('request body is not valid JSON', [{ path: '', message: 'invalid JSON' }]);
    }
    const message = parseServerWriteMessage(parsed);
    const results = await applyServerWrites(message.userId, message.writes, { store: rt.store, now: rt.now, config: rt.config.push });
    const answers = message.writes.map((write, i) => {
      const result = results[i]!;
      return { table: write.table, id: write.id, action: result.action, ...(result.version !== undefined ? { version: result.version } : {}), conflict_ids: result.conflictIds };
    });
    send(res, 200, message.single ? answers[0] : { results: answers });
  } catch (e) {
    if (!isSyncError(e)) throw e;
    const { statusCode, body: errorJson } = errorBody(e);
    send(res, statusCode, errorJson);
  }
}

/** API Gateway's own errors carry `message`; ours add the v1 `error` object beside it. */
function sendGatewayError(res: ServerResponse, gatewayMessage: string, error: SyncError): void {
  const { statusCode, body } = errorBody(error);
  send(res, statusCode, { message: gatewayMessage, ...body });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Longest `wait_ms` of `GET /local/events` (a long poll). */
const MAX_EVENTS_WAIT_MS = 20_000;

/**
 * `GET /local/events?after=<cursor>[&wait_ms=<ms>]` (local only): the change feed, in EventBridge's
 * entry shape, from the first event or after `cursor`; with `wait_ms`, waits up to that long for
 * an event when there is none yet. No token: the local stack trusts its caller.
 */
async function readEvents(res: ServerResponse, url: URL, log: LocalEventLog | undefined): Promise<void> {
  try {
    if (!log) throw new NotFoundError('the change feed is off on this stack (changeFeed: false)');
    const after = url.searchParams.get('after') ?? undefined;
    const waitParam = url.searchParams.get('wait_ms');
    const waitMs = waitParam === null ? 0 : /^\d{1,6}$/.test(waitParam) ? Number(waitParam) : NaN;
    if (!(waitMs >= 0 && waitMs <= MAX_EVENTS_WAIT_MS)) {
      throw new ValidationError('invalid wait_ms', [{ path: 'wait_ms', field: 'wait_ms', message: `must be an integer from 0 to ${MAX_EVENTS_WAIT_MS}` }]);
    }
    const limitParam = url.searchParams.get('limit');
    const limit = limitParam === null ? MAX_EVENTS_PER_READ : /^\d{1,4}$/.test(limitParam) ? Number(limitParam) : NaN;
    if (!(limit >= 1 && limit <= MAX_EVENTS_PER_READ)) {
      throw new ValidationError('invalid limit', [{ path: 'limit', field: 'limit', message: `must be an integer from 1 to ${MAX_EVENTS_PER_READ}` }]);
    }
    log.read(after, 0);
    if (waitMs > 0) await log.next(after, waitMs);
    send(res, 200, log.read(after, limit));
  } catch (e) {
    if (!isSyncError(e)) throw e;
    const { statusCode, body: errorJson } = errorBody(e);
    send(res, statusCode, errorJson);
  }
}

/** API Gateway passes an undecodable path segment through as it is. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
