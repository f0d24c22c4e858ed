/**
 * The server-write ingress's consumer (lambdas/handlers/server-write-queue.ts) on SQS FIFO events,
 * against the real store on the run's engine: a re-optimised week in one message; refusals go to
 * the DLQ with their reason and never block the batch or their user's later messages; a passing
 * failure returns the message AND its group's later messages to the queue (FIFO order), other
 * users go on; redelivery ends in the state of one clean application (no duplicate, no half).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { recordSk, userPk } from '../../lambdas/adapters/dynamo/keys.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lambdas/config.js';
import { InternalError, ThrottledError } from '../../lambdas/core/errors.js';
import type { DeadLetters, QueuedMessage } from '../../lambdas/core/server-write-queue.js';
import type { SyncStore } from '../../lambdas/core/store.js';
import { createServerWriteQueueHandler } from '../../lambdas/handlers/server-write-queue.js';
import { createRuntime, SERVICE_NAME } from '../../lambdas/runtime.js';
import { lambdaContext } from '../../local/lambda-event.js';
import { useSyncTable, uniqueUser } from '../support/dynamo.js';
import { DelegatingStore } from '../support/faulty-store.js';

const dynamo = useSyncTable();

/** Fails the next `n` record writes of `userId` with `error()`. */
class FailingWrites extends DelegatingStore {
  private plan = new Map<string, { n: number; error: () => Error }>();
  failNext(userId: string, n: number, error: () => Error) {
    this.plan.set(userId, { n, error });
  }
  override async putRecord(...args: Parameters<SyncStore['putRecord']>) {
    const p = this.plan.get(args[0]);
    if (p && p.n > 0) {
      p.n--;
      throw p.error();
    }
    return super.putRecord(...args);
  }
}

class RecordingDeadLetters implements DeadLetters {
  readonly sent: { message: QueuedMessage; reason: string }[] = [];
  failing = false;
  async send(message: QueuedMessage, reason: string) {
    if (this.failing) throw new Error('SQS unavailable');
    this.sent.push({ message, reason });
  }
}

let store: FailingWrites;
let dlq: RecordingDeadLetters;
let handle: ReturnType<typeof createServerWriteQueueHandler>;
beforeAll(() => {
  const { db, tableName, store: inner } = dynamo();
  store = new FailingWrites(inner);
  dlq = new RecordingDeadLetters();
  const metrics = new Metrics({ namespace: 'RunningCoachSync', serviceName: SERVICE_NAME });
  metrics.setThrowOnEmptyMetrics(false);
  const rt = createRuntime(loadConfig({ TABLE_NAME: tableName }), { db, store, logger: new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' }), metrics });
  handle = createServerWriteQueueHandler(rt, dlq);
});

let seq = 0;
function sqsRecord(group: string, body: unknown): SQSRecord {
  const messageId = `m-${++seq}`;
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      SequenceNumber: String(seq).padStart(20, '0'),
      MessageGroupId: group,
      MessageDeduplicationId: `dedup-${messageId}`,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:ServerWrites.fifo',
    awsRegion: 'eu-west-1',
  };
}
const run = (records: SQSRecord[]) => handle({ Records: records } as SQSEvent, lambdaContext('server-write-queue', 60_000));
const failedIds = async (records: SQSRecord[]) => (await run(records)).batchItemFailures.map((f) => f.itemIdentifier);

const workout = (id: string, o: Record<string, unknown> = {}) => ({ id, plan_id: 'plan-1', scheduled_on: '2027-03-01', workout_type: 'easy', target_distance_m: 8000, ...o });
const week = (user: string, label: string) => ({
  user_id: user,
  source: 'plan-engine',
  writes: [1, 2, 3].map((d) => ({ table: 'planned_workouts', record: workout(`${user}-${label}${d}`, { scheduled_on: `2027-03-0${d}` }) })),
});
async function stored(user: string, ids: string[]) {
  const records = await dynamo().store.getRecords(user, ids.map((id) => ({ table: 'planned_workouts' as const, id })));
  // In the order asked (BatchGet answers in any order).
  return Object.fromEntries(ids.flatMap((id) => records.filter((r) => r.id === id).map((r) => [r.id, { scheduled_on: r.data.scheduled_on, updated_at: r.updated_at }])));
}
/** The writer the item carries for the change feed (the `w` attribute). */
async function writerOf(user: string, id: string) {
  const { Item } = await dynamo().db.send(new GetCommand({ TableName: dynamo().tableName, Key: { pk: userPk(user), sk: recordSk('planned_workouts', id) }, ConsistentRead: true }));
  return Item?.w;
}

describe('server-write queue consumer', () => {
  it('a re-optimised week in one message: every record written by plan-engine, in order; the same message delivered again changes nothing', async () => {
    const user = uniqueUser('sq-week');
    const message = sqsRecord(user, week(user, 'w'));
    expect(await failedIds([message])).toEqual([]);
    const ids = [1, 2, 3].map((d) => `${user}-w${d}`);
    const first = await stored(user, ids);
    expect(Object.values(first).map((r) => r.scheduled_on)).toEqual(['2027-03-01', '2027-03-02', '2027-03-03']);
    for (const id of ids) expect(await writerOf(user, id)).toBe('plan-engine');
    const stamps = ids.map((id) => first[id]!.updated_at);
    expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);
    // Past SQS's 5-minute deduplication window the same message may come again: a no-op.
    expect(await failedIds([{ ...message, messageId: 'again' }])).toEqual([]);
    expect(await stored(user, ids)).toEqual(first);
    expect(dlq.sent.filter((s) => s.message.groupId === user)).toEqual([]);
  });

  it('refusals go to the DLQ with the reason naming the field, and never block the batch or their own group', async () => {
    const a = uniqueUser('sq-a');
    const b = uniqueUser('sq-b');
    const records = [
      sqsRecord(a, { user_id: a, source: 'plan-engine', table: 'planned_workouts', record: workout(`${a}-1`) }),
      sqsRecord(a, '{not json'),
      sqsRecord(a, { user_id: a, source: 'plan-engine', table: 'planned_workouts', record: workout(`${a}-2`, { scheduled_on: 'next tuesday' }) }),
      sqsRecord(a, { user_id: a, source: 'garmin', table: 'planned_workouts', record: workout(`${a}-3`) }),
      sqsRecord(a, { user_id: a, source: 'plan-engine', writes: [{ table: 'planned_workouts', record: workout(`${a}-4`) }, { table: 'planned_workouts', record: { id: `${a}-5` } }] }),
      sqsRecord(b, { user_id: a, source: 'plan-engine', table: 'planned_workouts', record: workout(`${a}-6`) }),
      sqsRecord(a, { user_id: a, source: 'plan-engine', table: 'planned_workouts', record: workout(`${a}-7`) }),
      sqsRecord(b, { user_id: b, source: 'plan-engine', table: 'planned_workouts', record: workout(`${b}-1`) }),
    ];
    const before = dlq.sent.length;
    expect(await failedIds(records)).toEqual([]);
    const sent = dlq.sent.slice(before);
    expect(sent.map((s) => s.message.messageId)).toEqual([1, 2, 3, 4, 5].map((i) => records[i]!.messageId));
    expect(sent.map((s) => s.reason)).toEqual([
      expect.stringMatching(/not valid JSON/),
      expect.stringMatching(/record\.scheduled_on: must be YYYY-MM-DD/),
      expect.stringMatching(/table: source 'garmin' may write only activities/),
      expect.stringMatching(/writes\.1\.record\.plan_id: required/),
      expect.stringMatching(/user_id: the message group must be the user/),
    ]);
    // The refused message's body goes to the DLQ as it came, in its group.
    expect(sent[0]!.message).toEqual({ messageId: records[1]!.messageId, groupId: a, body: '{not json' });
    expect(Object.keys(await stored(a, [`${a}-1`, `${a}-2`, `${a}-3`, `${a}-4`, `${a}-5`, `${a}-6`, `${a}-7`])).sort()).toEqual([`${a}-1`, `${a}-7`]);
    expect(Object.keys(await stored(b, [`${b}-1`]))).toEqual([`${b}-1`]);
  });

  for (const [name, error] of [
    ['a store failure (500)', () => new InternalError('injected store failure')],
    ['throttling (429)', () => new ThrottledError('injected throttle')],
  ] as const) {
    it(`${name} on the 2nd write of a message: it and its group's later messages come back, other users go on; redelivery completes it exactly once`, async () => {
      const a = uniqueUser('sq-fault-a');
      const b = uniqueUser('sq-fault-b');
      const first = sqsRecord(a, week(a, 'x'));
      const later = sqsRecord(a, { user_id: a, source: 'plan-engine', table: 'planned_workouts', record: { id: `${a}-x1`, scheduled_on: '2027-03-09' } });
      const other = sqsRecord(b, week(b, 'y'));
      store.failNext(a, 2, error);
      // The message fails at its first write and returns to the queue, and so does `later` (same group).
      expect(await failedIds([first, later, other])).toEqual([first.messageId, later.messageId]);
      expect(Object.keys(await stored(b, [1, 2, 3].map((d) => `${b}-y${d}`)))).toHaveLength(3);
      // SQS redelivers the group in order; the store fails once more, then recovers.
      expect(await failedIds([first, later])).toEqual([first.messageId, later.messageId]);
      expect(await failedIds([first, later])).toEqual([]);
      const ids = [1, 2, 3].map((d) => `${a}-x${d}`);
      const final = await stored(a, ids);
      // `later` applied after the week: x1 moved to the 9th, nothing else from it.
      expect(Object.values(final).map((r) => r.scheduled_on)).toEqual(['2027-03-09', '2027-03-02', '2027-03-03']);
      expect(dlq.sent.filter((s) => s.message.groupId === a)).toEqual([]);
    });
  }

  it('a half-applied message (the store fails at its 2nd record) is completed by the redelivery, the 1st record written once', async () => {
    const a = uniqueUser('sq-half');
    const message = sqsRecord(a, week(a, 'h'));
    const ids = [1, 2, 3].map((d) => `${a}-h${d}`);
    // Let the first record through, then fail: one real write, then the fault.
    const real = store.putRecord.bind(store);
    let writes = 0;
    store.putRecord = async (...args) => {
      if (args[0] === a && ++writes === 2) throw new InternalError('injected after the first record');
      return real(...args);
    };
    try {
      expect(await failedIds([message])).toEqual([message.messageId]);
      const half = await stored(a, ids);
      expect(Object.keys(half)).toEqual([`${a}-h1`]);
      expect(await failedIds([message])).toEqual([]);
      const whole = await stored(a, ids);
      expect(Object.keys(whole).sort()).toEqual([...ids].sort());
      // The first record was not rewritten by the redelivery (a no-op keeps its version).
      expect(whole[`${a}-h1`]!.updated_at).toBe(half[`${a}-h1`]!.updated_at);
    } finally {
      store.putRecord = real;
    }
  });

  it('a refusal whose DLQ send fails is retried, not dropped (and blocks its group meanwhile)', async () => {
    const a = uniqueUser('sq-dlq-down');
    const bad = sqsRecord(a, '[]');
    const next = sqsRecord(a, { user_id: a, source: 'plan-engine', table: 'planned_workouts', record: workout(`${a}-1`) });
    dlq.failing = true;
    try {
      expect(await failedIds([bad, next])).toEqual([bad.messageId, next.messageId]);
    } finally {
      dlq.failing = false;
    }
    expect(await failedIds([bad, next])).toEqual([]);
    expect(dlq.sent.filter((s) => s.message.groupId === a).map((s) => s.message.messageId)).toEqual([bad.messageId]);
    expect(Object.keys(await stored(a, [`${a}-1`]))).toEqual([`${a}-1`]);
  });
});
