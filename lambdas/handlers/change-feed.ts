/**
 * The change feed: the sync table's stream (new and old images) → one event per committed change
 * of a synced record on the stack's EventBridge bus (lambdas/core/change-feed.ts decides). The
 * local stack runs this same handler on DynamoDB Local's stream, or on stream-shaped records of
 * each committed write on dynalite, with its event log as the sink.
 *
 * Records are published in stream order, in PutEvents batches. The first record whose event is not
 * accepted is reported as the batch item failure (`ReportBatchItemFailures`): Lambda retries from
 * it, so what was published before it is not re-sent by that retry, and what follows it is sent
 * again (at least once; consumers deduplicate on `detail.event_id`).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { recordOfItem } from '../adapters/dynamo/sync-store.js';
import { eventBridgeSink } from '../adapters/eventbridge/event-sink.js';
import { changeEventOf, putEventsBatches, type ChangeEvent, type EventSink } from '../core/change-feed.js';
import { InternalError } from '../core/errors.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;

/** The change event of one stream record (undefined: an internal item, or no change to publish). */
export function changeEventOfStreamRecord(r: DynamoDBRecord): ChangeEvent | undefined {
  // Records only, as the event source mapping's filter in AWS: other items' images are never decoded.
  if (!isRecordKey(r.dynamodb?.Keys?.sk?.S)) return undefined;
  const image = (i: unknown) => (i ? unmarshall(i as Record<string, AttributeValue>) : undefined);
  const before = image(r.dynamodb?.OldImage);
  const after = image(r.dynamodb?.NewImage);
  const old = before ? recordOfItem(before) : undefined;
  const now = after ? recordOfItem(after) : undefined;
  const subject = now ?? old;
  if (!subject) return undefined;
  return changeEventOf(subject.userId, old?.record, now?.record, now?.writer ?? subject.writer);
}

/** `sk` of a synced record (`R#<table>#<id>`), the ChangeFeed filter's prefix. */
export const RECORD_SK_PREFIX = 'R#';
const isRecordKey = (sk: string | undefined) => typeof sk === 'string' && sk.startsWith(RECORD_SK_PREFIX);

export function createChangeFeedHandler(rt: Runtime, sink: EventSink): StreamHandler {
  return middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
    .use(injectLambdaContext(rt.logger, { resetKeys: true }))
    .use(logMetrics(rt.metrics))
    .handler(async (event) => {
      const items: { event: ChangeEvent; sequence: string }[] = [];
      for (const record of event.Records ?? []) {
        const sequence = record.dynamodb?.SequenceNumber ?? record.eventID ?? '';
        let change: ChangeEvent | undefined;
        try {
          change = changeEventOfStreamRecord(record);
        } catch (e) {
          // Undecodable: publish what came before it; Lambda retries it, then sends it to the DLQ.
          rt.logger.error('stream record not decodable', { sequence, error: e as Error });
          return publish(items, sink, rt, sequence);
        }
        if (change) items.push({ event: change, sequence });
      }
      return publish(items, sink, rt);
    }) as unknown as StreamHandler;
}

async function publish(items: readonly { event: ChangeEvent; sequence: string }[], sink: EventSink, rt: Runtime, failAt?: string): Promise<DynamoDBBatchResponse> {
  let published = 0;
  for (const batch of putEventsBatches(items)) {
    let failed: readonly number[];
    try {
      failed = (await sink.put(batch.map((b) => b.event))).failed;
    } catch (e) {
      rt.logger.warn('publishing change events failed; the batch is retried from its first record', { error: e as Error });
      failed = [0];
    }
    if (failed.length > 0) {
      const first = batch[Math.min(...failed)]!;
      published += Math.min(...failed);
      rt.metrics.addMetric('ChangeEventsPublished', MetricUnit.Count, published);
      return { batchItemFailures: [{ itemIdentifier: first.sequence }] };
    }
    published += batch.length;
  }
  rt.metrics.addMetric('ChangeEventsPublished', MetricUnit.Count, published);
  return { batchItemFailures: failAt === undefined ? [] : [{ itemIdentifier: failAt }] };
}

let built: Promise<StreamHandler> | undefined;
export const handler: StreamHandler = async (event, context) => {
  built ??= lambdaRuntime().then((rt) => {
    if (!rt.config.eventBusName) throw new InternalError('EVENT_BUS_NAME is not configured');
    return createChangeFeedHandler(rt, eventBridgeSink(rt.config.eventBusName));
  });
  return (await built)(event, context);
};
