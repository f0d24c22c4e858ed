/** Store faults through the real HTTP path: throttling → 429 + Retry-After; anything else → a 500 that leaks nothing. */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AwsStub } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../lambdas/adapters/dynamo/client.js';
import { DynamoSyncStore } from '../../lambdas/adapters/dynamo/sync-store.js';
import { uniqueUser } from '../support/dynamo.js';
import { activityRaw, pushBody } from '../support/records.js';
import { mockInFrontOf, sdkError } from '../support/sdk-faults.js';
import { apiAs, useLocalStack } from '../support/stack.js';

let faults: { mock: AwsStub<any, any, any>; realSend: (c: unknown) => Promise<unknown> } | undefined;
const stack = useLocalStack({
  runtime: (rt) => {
    const db = createDocumentClient({ endpoint: rt.config.dynamodbEndpoint });
    faults = mockInFrontOf(db);
    return { ...rt, store: new DynamoSyncStore(db, rt.config.tableName) };
  },
});

describe('store faults over HTTP', () => {
  it('a throttled Query → 429 throttled with Retry-After; the retry succeeds', async () => {
    const api = apiAs(stack(), await stack().token(uniqueUser('thr')));
    faults!.mock.on(QueryCommand).rejectsOnce(sdkError('ThrottlingException', 'Rate of requests exceeds the allowed throughput'));
    const r = await api.pull({ last_pulled_at: null });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(r.body.error.code).toBe('throttled');
    faults!.mock.on(QueryCommand).callsFake((input) => faults!.realSend(new QueryCommand(input)));
    expect((await api.pull({ last_pulled_at: null })).status).toBe(200);
  });

  it('an unexpected store failure → 500 internal_error without internals, and the retried push lands', async () => {
    const api = apiAs(stack(), await stack().token(uniqueUser('boom')));
    // The first record write fails as DynamoDB's own 500 does; every other call reaches the engine.
    // (Not `rejectsOnce`: the calls after it resolve to nothing, so the user's clock was never written
    // and the 500 came from the clock, not from this fault.)
    let recordPuts = 0;
    faults!.mock.on(PutCommand).callsFake((input: { Item?: { sk?: string } }) => {
      if (String(input.Item?.sk).startsWith('R#') && ++recordPuts === 1) throw sdkError('InternalServerError', 'disk 7 of node ip-10-0-0-1 is on fire');
      return faults!.realSend(new PutCommand(input as never));
    });
    const body = pushBody({ activities: { created: [activityRaw('x1')] } }, null);
    const r = await api.push(body);
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ error: { code: 'internal_error', message: 'internal error', details: [] } });
    expect(recordPuts).toBe(1);
    faults!.mock.on(PutCommand).callsFake((input) => faults!.realSend(new PutCommand(input)));
    expect((await api.push(body)).status).toBe(200);
    const pulled = await api.pull({ last_pulled_at: null });
    expect(pulled.body.changes.activities.updated.map((x: { id: string }) => x.id)).toEqual(['x1']);
  });
});
