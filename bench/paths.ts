/**
 * The three ways the bench moves the same data: through the local HTTP stack (request →
 * API Gateway event → handler → core → DynamoDB store), through the core alone (pullChanges /
 * pushChanges with `DynamoSyncStore`), and through raw DynamoDB calls (the baseline).
 */
import { BatchWriteCommand, GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CLOCK_SK, UPDATED_AT_INDEX, userPk } from '../lambdas/adapters/dynamo/keys.js';
import { parsePullQuery, type PushRequest } from '../lambdas/core/contract.js';
import { pullChanges, type PullResponse } from '../lambdas/core/pull.js';
import { pushChanges } from '../lambdas/core/push.js';
import type { Runtime } from '../lambdas/runtime.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Wall time and this process's CPU time (user + system) since the call. */
export function stopwatch(): () => Timing {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  return () => {
    const c = process.cpuUsage(c0);
    return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
  };
}

export interface Timing {
  readonly ms: number;
  /** CPU time of the bench process (client, HTTP server, handler, core, SDK; not the engine). */
  readonly cpuMs: number;
}

export interface PullRun extends Timing {
  readonly timestamp: number;
  /** Ids in `updated` and `deleted`, across pages (`created` must stay empty: counted apart). */
  readonly ids: string[];
  readonly created: number;
  readonly pages: number;
  /** Response body bytes per page (HTTP only). */
  readonly pageBytes: number[];
  /** Index round trips the core reported (core only). */
  readonly roundTrips: number;
  /** Capacity the core reported for its Queries (core only). */
  readonly queryCapacity: number;
}

function collect(changes: PullResponse['changes'], ids: string[]): number {
  let created = 0;
  for (const t of Object.values(changes)) {
    created += t.created.length;
    for (const r of t.updated) ids.push(r.id);
    for (const id of t.deleted) ids.push(id);
  }
  return created;
}

const pullParams = (lastPulledAt: number | null, cursor?: string): Record<string, string> => ({
  last_pulled_at: lastPulledAt === null ? 'null' : String(lastPulledAt),
  schema_version: '1',
  // What WatermelonDB's documented snippet sends: encodeURIComponent(JSON.stringify(migration)).
  migration: 'null',
  ...(cursor ? { cursor } : {}),
});

export class HttpPath {
  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  private get headers() {
    return { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' };
  }

  /** A whole pull as the client adapter makes it: follow cursors until none comes back. */
  async pull(lastPulledAt: number | null): Promise<PullRun> {
    const stop = stopwatch();
    const ids: string[] = [];
    const pageBytes: number[] = [];
    let created = 0;
    let timestamp: number | undefined;
    let cursor: string | undefined;
    do {
      const res = await fetch(`${this.url}/api/v1/sync?${new URLSearchParams(pullParams(lastPulledAt, cursor))}`, { headers: this.headers });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`pull answered ${res.status}: ${text.slice(0, 300)}`);
      pageBytes.push(Buffer.byteLength(text));
      const body = JSON.parse(text) as PullResponse;
      if (timestamp !== undefined && body.timestamp !== timestamp) throw new Error('pages of one pull carry different timestamps');
      timestamp = body.timestamp;
      created += collect(body.changes, ids);
      cursor = body.cursor;
    } while (cursor);
    return { ...stop(), timestamp, ids, created, pages: pageBytes.length, pageBytes, roundTrips: NaN, queryCapacity: NaN };
  }

  async push(body: string): Promise<number> {
    const res = await fetch(`${this.url}/api/v1/sync`, { method: 'POST', headers: this.headers, body });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`push answered ${res.status}: ${text.slice(0, 300)}`);
    return (JSON.parse(text) as { timestamp: number }).timestamp;
  }

  /** Pushes bodies one after another, as the client adapter sends a split push. */
  async pushAll(bodies: readonly string[]): Promise<Timing & { timestamp: number }> {
    const stop = stopwatch();
    let timestamp = 0;
    for (const b of bodies) timestamp = await this.push(b);
    return { ...stop(), timestamp };
  }
}

export class CorePath {
  constructor(private readonly rt: Runtime) {}

  async pull(userId: string, lastPulledAt: number | null): Promise<PullRun> {
    const deps = { store: this.rt.store, signer: this.rt.signer, now: this.rt.now, config: this.rt.config.pull };
    const stop = stopwatch();
    const ids: string[] = [];
    let created = 0;
    let pages = 0;
    let roundTrips = 0;
    let queryCapacity = 0;
    let timestamp: number | undefined;
    let cursor: string | undefined;
    do {
      const { stats, ...res } = await pullChanges(userId, parsePullQuery(pullParams(lastPulledAt, cursor)), deps);
      pages += 1;
      roundTrips += stats.roundTrips;
      queryCapacity += stats.consumedCapacity;
      if (timestamp !== undefined && res.timestamp !== timestamp) throw new Error('pages of one pull carry different timestamps');
      timestamp = res.timestamp;
      created += collect(res.changes, ids);
      cursor = res.cursor;
    } while (cursor);
    return { ...stop(), timestamp, ids, created, pages, pageBytes: [], roundTrips, queryCapacity };
  }

  /** One pushChanges per request (already parsed: the core's input). */
  async pushAll(userId: string, requests: readonly PushRequest[]): Promise<Timing & { timestamp: number }> {
    const deps = { store: this.rt.store, policy: this.rt.policy, now: this.rt.now, config: this.rt.config.push };
    const stop = stopwatch();
    let timestamp = 0;
    for (const req of requests) timestamp = (await pushChanges(userId, req, deps)).timestamp;
    return { ...stop(), timestamp };
  }
}

export class RawPath {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The GSI range a pull reads (`updated_at` in [from, upTo]), paginated by LastEvaluatedKey. */
  async query(userId: string, from: number, upTo: number, limit: number): Promise<Timing & { items: number; pages: number }> {
    const stop = stopwatch();
    let items = 0;
    let pages = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.queryPage(userId, from, upTo, limit, start);
      pages += 1;
      items += res.items.length;
      start = res.next;
    } while (start);
    return { ...stop(), items, pages };
  }

  /**
   * The least an exact pull must read: the consistent GetItem of the user's clock item sent
   * together with the Query of the range (the pull cannot know its timestamp without the first).
   */
  async clockAndQuery(userId: string, from: number, upTo: number, limit: number): Promise<Timing & { items: number }> {
    const stop = stopwatch();
    const [, page] = await Promise.all([
      this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: userPk(userId), sk: CLOCK_SK }, ConsistentRead: true, ReturnConsumedCapacity: 'TOTAL' })),
      this.queryPage(userId, from, upTo, limit),
    ]);
    return { ...stop(), items: page.items.length };
  }

  /** One Query page of that range. */
  async queryPage(userId: string, from: number, upTo: number, limit: number, start?: Record<string, unknown>): Promise<{ items: Record<string, unknown>[]; next?: Record<string, unknown> }> {
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: UPDATED_AT_INDEX,
        KeyConditionExpression: 'pk = :pk AND updated_at BETWEEN :from AND :upTo',
        ExpressionAttributeValues: { ':pk': userPk(userId), ':from': from, ':upTo': upTo },
        ExclusiveStartKey: start,
        Limit: limit,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    return { items: (res.Items ?? []) as Record<string, unknown>[], ...(res.LastEvaluatedKey ? { next: res.LastEvaluatedKey } : {}) };
  }

  /** BatchWriteItem of 25 items, `concurrency` batches in flight, unprocessed items retried. */
  async batchWrite(items: readonly Record<string, unknown>[], concurrency: number): Promise<Timing & { batches: number }> {
    const batches: Record<string, unknown>[][] = [];
    for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
    const stop = stopwatch();
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        let pending = (batches[next++] as Record<string, unknown>[]).map((Item) => ({ PutRequest: { Item } }));
        for (let round = 0; pending.length > 0; round++) {
          if (round > 0) await new Promise((r) => setTimeout(r, 10 * 2 ** round));
          const res = await this.db.send(
            new BatchWriteCommand({ RequestItems: { [this.tableName]: pending }, ReturnConsumedCapacity: 'TOTAL' }),
          );
          pending = (res.UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
    return { ...stop(), batches: batches.length };
  }
}

/**
 * The HTTP floor: the least any HTTP API can do to hand a device the same index range. A bare
 * `node:http` server in this process answers each GET with one raw Query page as JSON (the items as
 * stored, and the key to continue from); the client fetches and parses page after page, as the
 * pull's client follows cursors. No token, no validation, no middleware, no reshaping, no paging by
 * bytes: what is left is the Query, the JSON both ways and the HTTP requests.
 */
export class HttpFloor {
  private constructor(
    private readonly server: Server,
    private readonly url: string,
  ) {}

  static async start(raw: RawPath): Promise<HttpFloor> {
    const server = createServer((req, res) => {
      const q = new URL(req.url ?? '/', 'http://floor').searchParams;
      const start = q.get('start');
      raw
        .queryPage(String(q.get('user')), Number(q.get('from')), Number(q.get('upTo')), Number(q.get('limit')), start ? (JSON.parse(Buffer.from(start, 'base64url').toString()) as Record<string, unknown>) : undefined)
        .then((page) => {
          const body = JSON.stringify({ items: page.items, ...(page.next ? { next: Buffer.from(JSON.stringify(page.next)).toString('base64url') } : {}) });
          res.writeHead(200, { 'content-type': 'application/json' }).end(body);
        })
        .catch((e: unknown) => res.writeHead(500).end(String(e)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new HttpFloor(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }

  async pull(userId: string, from: number, upTo: number, limit: number): Promise<Timing & { items: number; pages: number }> {
    const stop = stopwatch();
    let items = 0;
    let pages = 0;
    let next: string | undefined;
    do {
      const params = new URLSearchParams({ user: userId, from: String(from), upTo: String(upTo), limit: String(limit), ...(next ? { start: next } : {}) });
      const res = await fetch(`${this.url}/?${params}`);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`floor answered ${res.status}: ${text.slice(0, 300)}`);
      const body = JSON.parse(text) as { items: unknown[]; next?: string };
      pages += 1;
      items += body.items.length;
      next = body.next;
    } while (next);
    return { ...stop(), items, pages };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
