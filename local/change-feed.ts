/**
 * The change feed on the local stack: the same stream handler as in AWS
 * (lambdas/handlers/change-feed.ts), publishing into an in-memory event log that
 * `GET /local/events?after=<cursor>` reads, in EventBridge's entry shape. Its source:
 * - DynamoDB Local (or any engine with Streams): the table's stream, read with the DynamoDB
 *   Streams API as Lambda's event source mapping reads it (every shard, in order, from its start);
 * - dynalite (no Streams): each committed record write, turned into the stream record DynamoDB
 *   would emit (keys, new and old images: the put asks for the old item back).
 */
import { DynamoDBStreamsClient, DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { ValidationError } from '../lambdas/core/errors.js';
import type { ChangeDetail, ChangeEvent, EventSink } from '../lambdas/core/change-feed.js';

/** An event as EventBridge delivers it to a rule's target (the fields a consumer reads). */
export interface LocalEventEntry {
  readonly id: string;
  readonly source: string;
  readonly 'detail-type': string;
  readonly time: string;
  readonly detail: ChangeDetail;
}

export const MAX_EVENTS_PER_READ = 1000;

/** The bus of the local stack: an append-only log read by position. */
export class LocalEventLog implements EventSink {
  private readonly entries: LocalEventEntry[] = [];
  private waiters: (() => void)[] = [];

  async put(events: readonly ChangeEvent[]): Promise<{ failed: number[] }> {
    const time = new Date().toISOString();
    for (const e of events) this.entries.push({ id: e.id, source: e.source, 'detail-type': e.detailType, time, detail: e.detail });
    for (const w of this.waiters.splice(0)) w();
    return { failed: [] };
  }

  /** Events after `cursor` (absent: from the first), at most `limit`, and the cursor to read on from. */
  read(cursor: string | undefined, limit = MAX_EVENTS_PER_READ): { events: LocalEventEntry[]; cursor: string } {
    const from = cursor === undefined ? 0 : parseCursor(cursor, this.entries.length);
    const events = this.entries.slice(from, from + limit);
    return { events, cursor: String(from + events.length) };
  }

  /** Resolves at the next append (or at once when events exist after `cursor`); for long polling. */
  next(cursor: string | undefined, timeoutMs: number): Promise<void> {
    const from = cursor === undefined ? 0 : parseCursor(cursor, this.entries.length);
    if (this.entries.length > from) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function parseCursor(cursor: string, length: number): number {
  const n = /^(0|[1-9]\d{0,15})$/.test(cursor) ? Number(cursor) : NaN;
  if (!Number.isSafeInteger(n) || n > length) {
    throw new ValidationError('invalid cursor', [{ path: 'after', field: 'after', message: 'must be a cursor this stack returned (events are kept in memory until it stops)' }]);
  }
  return n;
}

export type StreamBatchHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

export interface FeedSource {
  /** Resolves once every change committed before the call has been handed to the handler. */
  drained(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Delivers `records` in order, re-delivering from a reported failure, as Lambda's event source
 * mapping does; a record that fails every attempt is skipped (AWS: its range goes to the DLQ) and
 * the ones after it are still delivered.
 */
export async function deliver(handle: StreamBatchHandler, records: DynamoDBRecord[], onError: (e: unknown) => void, attempts = 3): Promise<void> {
  let pending = records;
  let tries = 0;
  let lastFailed: string | undefined;
  while (pending.length > 0) {
    let failedAt: string | undefined;
    try {
      failedAt = (await handle({ Records: pending })).batchItemFailures[0]?.itemIdentifier;
    } catch (e) {
      onError(e);
      failedAt = pending[0]?.dynamodb?.SequenceNumber;
    }
    if (failedAt === undefined) return;
    const i = pending.findIndex((r) => r.dynamodb?.SequenceNumber === failedAt);
    if (i < 0) return;
    tries = failedAt === lastFailed ? tries + 1 : 1;
    lastFailed = failedAt;
    if (tries >= attempts) {
      onError(new Error(`change feed: stream record ${failedAt} failed ${attempts} times; skipped (AWS: sent to the change feed's DLQ)`));
      pending = pending.slice(i + 1);
      tries = 0;
    } else pending = pending.slice(i);
  }
}

/**
 * Reads the table's stream as Lambda does: every shard from its start (TRIM_HORIZON), a closed
 * shard's children after it, polling each open shard (10 ms apart while busy, up to 100 ms idle).
 */
export function pollTableStream(options: {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  streamArn: string;
  handle: StreamBatchHandler;
  onError: (e: unknown) => void;
}): FeedSource {
  const client = new DynamoDBStreamsClient({
    endpoint: options.endpoint,
    region: 'local',
    credentials: { ...options.credentials },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: 5_000 }),
  });
  const iterators = new Map<string, string | undefined>();
  /** Per shard, the sequence number of the last record delivered (a restarted iterator skips up to it). */
  const delivered = new Map<string, string>();
  const freshIterator = async (shard: string): Promise<string | undefined> => {
    const last = delivered.get(shard);
    const it = await client.send(
      new GetShardIteratorCommand(
        last
          ? { StreamArn: options.streamArn, ShardId: shard, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: last }
          : { StreamArn: options.streamArn, ShardId: shard, ShardIteratorType: 'TRIM_HORIZON' },
      ),
    );
    return it.ShardIterator;
  };
  const finished = new Set<string>();
  let stopped = false;
  let rounds = 0;
  const roundWaiters: { after: number; resolve: () => void }[] = [];

  const discover = async () => {
    const { StreamDescription } = await client.send(new DescribeStreamCommand({ StreamArn: options.streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      const id = shard.ShardId as string;
      if (iterators.has(id) || finished.has(id)) continue;
      // A child shard starts once its parent has been read to its end.
      if (shard.ParentShardId && !finished.has(shard.ParentShardId) && iterators.has(shard.ParentShardId)) continue;
      const it = await client.send(new GetShardIteratorCommand({ StreamArn: options.streamArn, ShardId: id, ShardIteratorType: 'TRIM_HORIZON' }));
      iterators.set(id, it.ShardIterator);
    }
  };

  const loop = async () => {
    let idle = 10;
    let lastDiscovery = 0;
    while (!stopped) {
      let got = 0;
      try {
        if (Date.now() - lastDiscovery > 1000 || iterators.size === 0) {
          await discover();
          lastDiscovery = Date.now();
        }
        for (const [shard, iterator] of iterators) {
          if (!iterator) {
            iterators.delete(shard);
            finished.add(shard);
            lastDiscovery = 0;
            continue;
          }
          let res;
          try {
            res = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
          } catch (e) {
            // DynamoDB Local at times refuses an iterator it handed out ("read past the oldest stream
            // record"), and iterators expire: start again right after the last record delivered, as
            // Lambda's poller does, instead of retrying a dead iterator for ever.
            if (!(e instanceof Error) || !/TrimmedDataAccess|ExpiredIterator/.test(e.name)) throw e;
            iterators.set(shard, await freshIterator(shard));
            continue;
          }
          iterators.set(shard, res.NextShardIterator);
          const fresh = (res.Records ?? []).filter((r) => isAfter(r.dynamodb?.SequenceNumber, delivered.get(shard)));
          const records = fresh.map(toLambdaRecord);
          got += records.length;
          if (records.length > 0) {
            await deliver(options.handle, records, options.onError);
            delivered.set(shard, fresh[fresh.length - 1]?.dynamodb?.SequenceNumber as string);
          }
        }
      } catch (e) {
        if (!stopped) options.onError(e);
      }
      rounds++;
      for (const w of roundWaiters.splice(0)) if (rounds > w.after) w.resolve();
      else roundWaiters.push(w);
      idle = got > 0 ? 10 : Math.min(idle * 2, 100);
      if (!stopped) await new Promise((r) => setTimeout(r, idle));
    }
  };
  const running = loop();
  return {
    // Two full rounds after the call: the first may have started before the write committed.
    drained: () => new Promise<void>((resolve) => roundWaiters.push({ after: rounds + 1, resolve })),
    async close() {
      stopped = true;
      for (const w of roundWaiters.splice(0)) w.resolve();
      await running;
      client.destroy();
    },
  };
}

/** Sequence numbers are decimal strings of up to 40 digits: compare them as such. */
function isAfter(seq: string | undefined, last: string | undefined): boolean {
  if (seq === undefined || last === undefined) return true;
  return seq.length !== last.length ? seq.length > last.length : seq > last;
}

/** A stream record of the SDK's Streams API in the shape Lambda hands a handler. */
function toLambdaRecord(r: _Record): DynamoDBRecord {
  const d = r.dynamodb ?? {};
  return {
    eventID: r.eventID,
    eventName: r.eventName as DynamoDBRecord['eventName'],
    eventVersion: r.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: r.awsRegion,
    dynamodb: {
      ApproximateCreationDateTime: d.ApproximateCreationDateTime ? Math.floor(d.ApproximateCreationDateTime.getTime() / 1000) : undefined,
      Keys: d.Keys as never,
      NewImage: d.NewImage as never,
      OldImage: d.OldImage as never,
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType as never,
    },
  } as DynamoDBRecord;
}

/**
 * For an engine without Streams: a document client whose committed record puts (items under a
 * user's `R#` keys, the only items that become events) are handed to the handler as the
 * INSERT/MODIFY stream records DynamoDB would emit. The put asks for the old item back, which
 * changes nothing for the caller (the store never reads a put's answer).
 */
export function tapRecordWrites(db: DynamoDBDocumentClient, handle: StreamBatchHandler, onError: (e: unknown) => void): { client: DynamoDBDocumentClient; source: FeedSource } {
  let sequence = 0;
  let chain: Promise<void> = Promise.resolve();
  const send = db.send.bind(db) as (command: unknown) => Promise<unknown>;
  const tapped = new Proxy(db, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (command: unknown) => {
        if (!(command instanceof PutCommand) || !String(command.input.Item?.sk ?? '').startsWith('R#')) return send(command);
        command.input.ReturnValues ??= 'ALL_OLD';
        const res = (await send(command)) as { Attributes?: Record<string, unknown> };
        const item = command.input.Item as Record<string, unknown>;
        const seq = String(++sequence).padStart(21, '0');
        const wire = (v: Record<string, unknown>) => marshall(v, { removeUndefinedValues: true }) as Record<string, AttributeValue>;
        const record = {
          eventID: `local-${seq}`,
          eventName: res.Attributes ? 'MODIFY' : 'INSERT',
          eventVersion: '1.1',
          eventSource: 'aws:dynamodb',
          awsRegion: 'local',
          dynamodb: {
            ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
            Keys: wire({ pk: item.pk, sk: item.sk }),
            NewImage: wire(item),
            ...(res.Attributes ? { OldImage: wire(res.Attributes) } : {}),
            SequenceNumber: seq,
            StreamViewType: 'NEW_AND_OLD_IMAGES',
          },
        } as unknown as DynamoDBRecord;
        // One at a time, in commit order, as a shard delivers them.
        chain = chain.then(() => deliver(handle, [record], onError));
        return res;
      };
    },
  });
  return {
    client: tapped,
    source: {
      drained: async () => {
        await chain;
      },
      close: async () => {
        await chain;
      },
    },
  };
}
