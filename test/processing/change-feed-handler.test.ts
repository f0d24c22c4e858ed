/**
 * The change-feed Lambda (lambdas/handlers/change-feed.ts) on real stream records: writes through
 * the real store on DynamoDB Local, the table's stream read back with the DynamoDB Streams API and
 * handed to the handler as Lambda would (clock and conflict-log items included, with DynamoDB
 * Local's own image encoding). A sink that refuses entries makes the handler report the first
 * unpublished record, and a redelivery from there publishes the rest, each event id unchanged.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/config.js';
import type { ChangeEvent, EventSink } from '../../lambdas/core/change-feed.js';
import { applyServerWrite } from '../../lambdas/core/server-write.js';
import { createChangeFeedHandler } from '../../lambdas/handlers/change-feed.js';
import { createRuntime, SERVICE_NAME } from '../../lambdas/runtime.js';
import { syncTableStreamArn } from '../../local/engines.js';
import { lambdaContext } from '../../local/lambda-event.js';
import { pushDeps, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { testEngine } from '../support/engine.js';
import { pushChanges } from '../../lambdas/core/push.js';

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Every record of the table's stream so far, in the shape Lambda hands a handler. */
async function streamRecords(endpoint: string, tableName: string): Promise<DynamoDBRecord[]> {
  const raw = new DynamoDBClient({ endpoint, region: 'local', credentials: CREDENTIALS });
  const streamArn = (await syncTableStreamArn(raw, tableName)) as string;
  raw.destroy();
  const client = new DynamoDBStreamsClient({ endpoint, region: 'local', credentials: CREDENTIALS });
  const out: DynamoDBRecord[] = [];
  const { StreamDescription } = await client.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  for (const shard of StreamDescription?.Shards ?? []) {
    let iterator = (await client.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    while (iterator) {
      const res = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
      if ((res.Records ?? []).length === 0) break;
      for (const r of res.Records ?? []) {
        out.push({ eventID: r.eventID, eventName: r.eventName as DynamoDBRecord['eventName'], eventSource: 'aws:dynamodb', dynamodb: { ...(r.dynamodb as object), ApproximateCreationDateTime: undefined } as DynamoDBRecord['dynamodb'] });
      }
      iterator = res.NextShardIterator;
    }
  }
  client.destroy();
  return out;
}

class Sink implements EventSink {
  readonly published: ChangeEvent[] = [];
  refuse?: (e: ChangeEvent) => boolean;
  async put(events: readonly ChangeEvent[]) {
    const failed = events.flatMap((e, i) => (this.refuse?.(e) ? [i] : []));
    // EventBridge publishes the accepted entries of a partly failed request.
    events.forEach((e, i) => failed.includes(i) || this.published.push(e));
    return { failed };
  }
}

describe.runIf(testEngine() === 'dynamodb-local')('change-feed handler on DynamoDB Local stream records', () => {
  const dynamo = useSyncTable();

  it('records only, one event each, in stream order; a refused entry → its record is the batch item failure; redelivery from it publishes the rest', async () => {
    const { store, endpoint, tableName, db } = dynamo();
    const user = uniqueUser('stream');
    const deps = pushDeps(store);
    const workout = (id: string, day: string) => ({ id, plan_id: 'p', scheduled_on: day, workout_type: 'easy', target_distance_m: null, target_duration_s: null, description: null, completed_activity_id: null });
    // Two pushes, so the stream order of the creates is known (one push writes its records concurrently).
    for (const w of [workout('w1', '2027-03-01'), workout('w2', '2027-03-02')]) {
      await pushChanges(user, { changes: { planned_workouts: { created: [w], updated: [], deleted: [] } }, lastPulledAt: null } as never, deps);
    }
    await applyServerWrite(user, { source: 'plan-engine', table: 'planned_workouts', id: 'w2', values: { scheduled_on: '2027-03-05' } }, deps);
    await applyServerWrite(user, { source: 'plan-engine', table: 'planned_workouts', id: 'w1', values: { description: 'strides' } }, deps);

    const records = await streamRecords(endpoint, tableName);
    // The stream holds the clock item's writes too (its empty `settling` map included), and never decodes them.
    expect(records.some((r) => r.dynamodb?.Keys?.sk?.S === 'CLOCK')).toBe(true);
    const metrics = new Metrics({ namespace: 'RunningCoachSync', serviceName: SERVICE_NAME });
    metrics.setThrowOnEmptyMetrics(false);
    const rt = createRuntime(loadConfig({ TABLE_NAME: tableName }), { db, store, logger: new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' }), metrics });
    const sink = new Sink();
    const handle = createChangeFeedHandler(rt, sink);
    const ctx = lambdaContext('change-feed', 60_000);

    // The w2 move is refused once: everything before it is published, it is the failure.
    sink.refuse = (e) => e.detail.record_id === 'w2' && e.detail.writer === 'plan-engine';
    const first = await handle({ Records: records }, ctx);
    const refusedAt = records.find((r) => r.dynamodb?.NewImage?.sk?.S === 'R#planned_workouts#w2' && r.dynamodb?.NewImage?.w?.S === 'plan-engine');
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: refusedAt?.dynamodb?.SequenceNumber }]);
    // EventBridge publishes the accepted entries of the same request (the w1 update after it) too.
    expect(sink.published.map((e) => [e.detailType, e.detail.record_id, e.detail.writer])).toEqual([
      ['planned_workouts.created', 'w1', 'device'],
      ['planned_workouts.created', 'w2', 'device'],
      ['planned_workouts.updated', 'w1', 'plan-engine'],
    ]);

    // Lambda retries from the failed record (a retry of a partly accepted PutEvents may repeat entries: same ids).
    sink.refuse = undefined;
    const from = records.indexOf(refusedAt!);
    expect((await handle({ Records: records.slice(from) }, ctx)).batchItemFailures).toEqual([]);
    // At least once: the w1 update came twice, with one id; deduplicated, every change once, each record's in version order.
    expect(sink.published.map((e) => [e.detailType, e.detail.record_id, e.detail.writer, e.detail.changed])).toEqual([
      ['planned_workouts.created', 'w1', 'device', ['plan_id', 'scheduled_on', 'workout_type']],
      ['planned_workouts.created', 'w2', 'device', ['plan_id', 'scheduled_on', 'workout_type']],
      ['planned_workouts.updated', 'w1', 'plan-engine', ['description']],
      ['planned_workouts.updated', 'w2', 'plan-engine', ['scheduled_on']],
      ['planned_workouts.updated', 'w1', 'plan-engine', ['description']],
    ]);
    expect(sink.published[4]!.id).toBe(sink.published[2]!.id);
    const unique = [...new Map(sink.published.map((e) => [e.id, e])).values()];
    expect(unique).toHaveLength(4);
    for (const id of ['w1', 'w2']) {
      const versions = unique.filter((e) => e.detail.record_id === id).map((e) => e.detail.version);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    }
    // The same stream records handled again (a replay) give the same event ids.
    const again = new Sink();
    await createChangeFeedHandler(rt, again)({ Records: records }, ctx);
    expect(again.published.map((e) => e.id).sort()).toEqual(unique.map((e) => e.id).sort());
  });

  it('a sink that throws (EventBridge unreachable) → the first record of the batch is the failure, nothing is lost', async () => {
    const { endpoint, tableName, db, store } = dynamo();
    const records = (await streamRecords(endpoint, tableName)).filter((r) => r.dynamodb?.Keys?.sk?.S?.startsWith('R#'));
    const metrics = new Metrics({ namespace: 'RunningCoachSync', serviceName: SERVICE_NAME });
    metrics.setThrowOnEmptyMetrics(false);
    const rt = createRuntime(loadConfig({ TABLE_NAME: tableName }), { db, store, logger: new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' }), metrics });
    const down: EventSink = { put: async () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' })) };
    const res = await createChangeFeedHandler(rt, down)({ Records: records }, lambdaContext('change-feed', 60_000));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: records[0]!.dynamodb!.SequenceNumber }]);
  });
});
