/**
 * The change feed and the server-write ingress on the local stack, over HTTP, on every engine:
 * DynamoDB Local (the table's stream, read as Lambda reads it) and dynalite (the stack's own record
 * writes as stream records). Both run the AWS stream handler; what comes out must be the same.
 */
import { describe, expect, it, vi } from 'vitest';
import { changeDetailSchema, EVENT_SOURCE } from '../../lambdas/core/change-feed.js';
import { startLocalStack, type LocalStack } from '../../local/server.js';
import { availableEngines, createTableOn, type TestTable } from '../support/engine.js';
import { apiAs } from '../support/stack.js';
import { uniqueUser } from '../support/dynamo.js';
import { afterAll, beforeAll } from 'vitest';

async function readEvents(stack: LocalStack, after?: string, extra = ''): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.url}/local/events?${after === undefined ? '' : `after=${encodeURIComponent(after)}`}${extra}`);
  return { status: res.status, body: await res.json() };
}

async function post(stack: LocalStack, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${stack.url}/local/server-write`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** Every event of `user` the feed holds once `count` of them arrived (bounded wait: the stream is asynchronous). */
async function eventsOf(stack: LocalStack, user: string, count: number): Promise<any[]> {
  return vi.waitFor(
    async () => {
      const { body } = await readEvents(stack);
      const mine = body.events.filter((e: any) => e.detail.user_id === user);
      expect(mine.length).toBeGreaterThanOrEqual(count);
      return mine;
    },
    { timeout: 30_000, interval: 20 },
  );
}

const workout = (id: string, o: Record<string, unknown> = {}) => ({ id, plan_id: 'p1', scheduled_on: '2027-03-01', workout_type: 'easy', target_distance_m: 8000, ...o });

for (const engine of availableEngines()) {
  describe(`local change feed on ${engine}`, () => {
    let table: TestTable;
    let stack: LocalStack;
    beforeAll(async () => {
      table = await createTableOn(engine, 'feed');
      // No index-lag hold-back: a pull's timestamp covers the writes before it (the delete below is based on it).
      stack = await startLocalStack({ logLevel: 'SILENT', dynamodbEndpoint: table.endpoint, tableName: table.tableName, env: { INDEX_LAG_MS: '0', INFLIGHT_GRACE_MS: '5000' } });
    });
    afterAll(async () => {
      await stack?.close();
      await table?.close();
    });

    it(`reads from ${engine === 'dynamodb-local' ? "the table's stream" : 'its own record writes'}`, () => {
      expect(stack.changeFeedSource).toBe(engine === 'dynamodb-local' ? 'stream' : 'writes');
    });

    it('a device push, a multi-record plan-engine message, a delete: one event per change, with writer, version, changed columns and values; no internal item', async () => {
      const user = uniqueUser('feed');
      const api = apiAs(stack, await stack.token(user));
      const pushed = await api.push({
        changes: {
          plans: { created: [{ id: `${user}-p`, name: 'Marathon', goal: null, race_date: null, status: 'active' }], updated: [], deleted: [] },
          planned_workouts: { created: [workout(`${user}-w1`, { plan_id: `${user}-p` }), workout(`${user}-w2`, { plan_id: `${user}-p`, scheduled_on: '2027-03-03' })], updated: [], deleted: [] },
        },
        last_pulled_at: null,
      });
      expect(pushed.status).toBe(200);
      const written = await post(stack, {
        user_id: user,
        source: 'plan-engine',
        writes: [
          { table: 'planned_workouts', record: { id: `${user}-w1`, description: 'strides' } },
          { table: 'planned_workouts', record: { id: `${user}-w2`, scheduled_on: '2027-03-04' } },
        ],
      });
      expect(written.status).toBe(200);
      expect(written.body.results).toEqual([
        expect.objectContaining({ table: 'planned_workouts', id: `${user}-w1`, action: 'update', version: expect.any(Number) }),
        expect.objectContaining({ table: 'planned_workouts', id: `${user}-w2`, action: 'update', version: expect.any(Number) }),
      ]);
      const pulled = await api.pull({ last_pulled_at: null });
      const w2 = pulled.body.changes.planned_workouts.updated.find((r: any) => r.id === `${user}-w2`);
      expect(w2).not.toHaveProperty('w');
      const del = await api.push({ changes: { planned_workouts: { created: [], updated: [], deleted: [`${user}-w1`] } }, last_pulled_at: pulled.body.timestamp });
      expect(del.status).toBe(200);

      const events = await eventsOf(stack, user, 6);
      expect(events).toHaveLength(6);
      for (const e of events) {
        expect(e).toEqual({ id: e.detail.event_id, source: EVENT_SOURCE, 'detail-type': `${e.detail.table}.${e.detail.change}`, time: expect.any(String), detail: expect.any(Object) });
        expect(e.detail.event_id).toBe(`${e.detail.table}:${e.detail.record_id}:${e.detail.version}:${user}`);
        // The documented schema (docs/events.schema.json is generated from it), strictly.
        expect(changeDetailSchema.safeParse(e.detail).success, JSON.stringify(e.detail)).toBe(true);
      }
      const of = (id: string) => events.filter((e) => e.detail.record_id === id).sort((a, b) => a.detail.version - b.detail.version);
      expect(of(`${user}-p`).map((e) => [e['detail-type'], e.detail.writer])).toEqual([['plans.created', 'device']]);
      expect(of(`${user}-p`)[0].detail).toMatchObject({ previous_version: null, changed: ['name', 'status'], values: { name: 'Marathon', goal: null, race_date: null, status: 'active' } });
      const w1 = of(`${user}-w1`);
      expect(w1.map((e) => [e['detail-type'], e.detail.writer, e.detail.changed])).toEqual([
        ['planned_workouts.created', 'device', ['plan_id', 'scheduled_on', 'target_distance_m', 'workout_type']],
        ['planned_workouts.updated', 'plan-engine', ['description']],
        ['planned_workouts.deleted', 'device', []],
      ]);
      expect(w1[1].detail.previous_version).toBe(w1[0].detail.version);
      expect(w1[1].detail.values).toMatchObject({ description: 'strides', scheduled_on: '2027-03-01' });
      expect(of(`${user}-w2`).map((e) => [e['detail-type'], e.detail.writer, e.detail.changed, e.detail.values.scheduled_on])).toEqual([
        ['planned_workouts.created', 'device', ['plan_id', 'scheduled_on', 'target_distance_m', 'workout_type'], '2027-03-03'],
        ['planned_workouts.updated', 'plan-engine', ['scheduled_on'], '2027-03-04'],
      ]);
      // No id twice: one event per committed change.
      expect(new Set(events.map((e) => e.id)).size).toBe(6);
    });

    it('a write that changes nothing (a retried message) is no event; a conflict restore is written by `restore`', async () => {
      const user = uniqueUser('feed-noop');
      const api = apiAs(stack, await stack.token(user));
      const run = { id: `${user}-a`, sport: 'running', started_at: 1_767_225_600_000, duration_s: 1800, distance_m: 5000, gps_source: 'manual' };
      expect((await api.push({ changes: { activities: { created: [run], updated: [], deleted: [] } }, last_pulled_at: null })).status).toBe(200);
      const body = { user_id: user, table: 'activities', source: 'garmin', record: { id: run.id, started_at: run.started_at, duration_s: 1790, distance_m: 5200 } };
      const garmin = await post(stack, body);
      expect(garmin.body).toMatchObject({ action: 'update', conflict_ids: [expect.any(String)] });
      expect((await post(stack, body)).body).toMatchObject({ action: 'noop' });
      expect((await api.request('POST', `/api/v1/conflicts/${garmin.body.conflict_ids[0]}/restore`)).status).toBe(200);
      await stack.eventsSettled();
      const events = await eventsOf(stack, user, 3);
      expect(events.map((e) => [e['detail-type'], e.detail.writer, e.detail.values.distance_m, e.detail.values.gps_source])).toEqual([
        ['activities.created', 'device', 5000, 'manual'],
        ['activities.updated', 'garmin', 5200, 'garmin'],
        ['activities.updated', 'restore', 5000, 'manual'],
      ]);
    });

    it('cursors: reading on from a cursor returns only later events; a foreign cursor, bad limit or wait_ms → 400 naming the field; wait_ms waits for the next event', async () => {
      const first = await readEvents(stack);
      expect(first.status).toBe(200);
      const cursor = first.body.cursor as string;
      expect((await readEvents(stack, cursor)).body).toEqual({ events: [], cursor });
      for (const [query, field] of [
        ['after=abc', 'after'],
        ['after=99999999', 'after'],
        ['after=-1', 'after'],
        ['limit=0', 'limit'],
        ['wait_ms=x', 'wait_ms'],
        ['wait_ms=20001', 'wait_ms'],
      ] as const) {
        const res = await fetch(`${stack.url}/local/events?${query}`);
        expect(res.status, query).toBe(400);
        expect(((await res.json()) as any).error.details[0].field, query).toBe(field);
      }
      expect((await fetch(`${stack.url}/local/events`, { method: 'POST' })).status).toBe(405);

      const user = uniqueUser('feed-wait');
      const waiting = readEvents(stack, cursor, '&wait_ms=10000');
      await post(stack, { user_id: user, table: 'plans', source: 'plan-engine', record: { id: `${user}-p`, name: 'Base', goal: null, race_date: null, status: 'active' } });
      const { body } = await waiting;
      expect(body.events.length).toBeGreaterThanOrEqual(1);
      expect(body.events[0].detail).toMatchObject({ user_id: user, table: 'plans', change: 'created', writer: 'plan-engine' });
      expect(Number(body.cursor)).toBe(Number(cursor) + body.events.length);
    });

    it('a bad multi-record message → 400 naming the record, nothing written (not even the valid records before it)', async () => {
      const user = uniqueUser('feed-bad');
      const before = (await readEvents(stack)).body.cursor;
      const cases: [unknown, string][] = [
        [{ user_id: user, source: 'plan-engine', writes: [{ table: 'planned_workouts', record: workout(`${user}-ok`) }, { table: 'activities', record: { id: `${user}-x` } }] }, 'writes.1.table'],
        [{ user_id: user, source: 'plan-engine', writes: [{ table: 'planned_workouts', record: workout(`${user}-ok`) }, { table: 'planned_workouts', record: { id: `${user}-new` } }] }, 'writes.1.record.plan_id'],
        [{ user_id: user, source: 'plan-engine', writes: [{ table: 'planned_workouts', record: workout(`${user}-ok`, { scheduled_on: 'tomorrow' }) }] }, 'writes.0.record.scheduled_on'],
        [{ user_id: user, source: 'plan-engine', writes: [{ table: 'planned_workouts', record: workout(`${user}-ok`) }, { table: 'planned_workouts', record: workout(`${user}-ok`) }] }, 'writes.1.record.id'],
        [{ user_id: user, source: 'plan-engine', writes: [] }, 'writes'],
      ];
      for (const [body, path] of cases) {
        const res = await post(stack, body);
        expect(res.status, path).toBe(400);
        expect(res.body.error.details.map((d: any) => d.path), path).toContain(path);
      }
      const api = apiAs(stack, await stack.token(user));
      expect((await api.pull({ last_pulled_at: null })).body.changes.planned_workouts.updated).toEqual([]);
      await stack.eventsSettled();
      expect((await readEvents(stack, before)).body.events.filter((e: any) => e.detail.user_id === user)).toEqual([]);
    });
  });
}
