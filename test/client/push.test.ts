import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSyncAdapter, SyncHttpError, SyncNetworkError, type ChangeSet } from '../../client/index.js';
import { splitPush } from '../../client/push.js';
import { BASE_URL, fakeFetch, type FakeRequest } from './support/fake-fetch.js';

const utf8 = new TextEncoder();
const bytes = (s: string) => utf8.encode(s).length;

const raw = (id: string, notes = '') => ({ id, _status: 'created', _changed: '', sport: 'running', started_at: 1, notes, created_at: 0, updated_at: 0 });
const empty = () => ({ created: [], updated: [], deleted: [] });
/** All records of a set of request bodies, in order, as `table/kind/id`. */
const recordsOf = (bodies: { changes: ChangeSet }[]) =>
  bodies.flatMap((b) =>
    Object.entries(b.changes).flatMap(([t, set]) => [
      ...set.created.map((r) => `${t}/created/${r.id}`),
      ...set.updated.map((r) => `${t}/updated/${r.id}`),
      ...set.deleted.map((id) => `${t}/deleted/${id}`),
    ]),
  );
const ok = () => ({ body: { timestamp: 99 } });

function adapterWith(handler: Parameters<typeof fakeFetch>[0], maxPushBytes?: number) {
  const fake = fakeFetch(handler);
  return { ...fake, adapter: createSyncAdapter({ baseUrl: BASE_URL, getToken: () => 'tok', fetch: fake.fetch, maxPushBytes }) };
}

/** A change set of `n` activities with notes of `size` bytes, plus updates and deletes elsewhere. */
function bigChanges(n: number, size: number): ChangeSet {
  return {
    activities: { created: Array.from({ length: n }, (_, i) => raw(`a${i}`, 'x'.repeat(size))), updated: [], deleted: ['gone1', 'gone2'] },
    plans: { created: [], updated: [{ id: 'p1', _status: 'updated', _changed: 'name', name: 'ü'.repeat(size / 2) }], deleted: [] },
    uploads: empty(),
  };
}

describe('client push', () => {
  it('sends a small push as one request, as WatermelonDB produced it (bookkeeping and empty tables included)', async () => {
    const { adapter, requests } = adapterWith(ok);
    const changes = { activities: { created: [raw('a1')], updated: [], deleted: ['a9'] }, uploads: empty() };
    await adapter.pushChanges({ changes, lastPulledAt: 1234 });
    expect(requests).toHaveLength(1);
    const [req] = requests as [FakeRequest];
    expect(req.method).toBe('POST');
    expect(req.url.pathname).toBe('/api/v1/sync');
    expect(req.url.searchParams.get('last_pulled_at')).toBe('1234');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers.authorization).toBe('Bearer tok');
    expect(req.json).toEqual({ changes, last_pulled_at: 1234 });
  });

  it('splits a large push into requests under maxPushBytes, each with the same last_pulled_at, every record exactly once and in order', async () => {
    const max = 50_000;
    const changes = bigChanges(40, 4000);
    const { adapter, requests } = adapterWith(ok, max);
    await adapter.pushChanges({ changes, lastPulledAt: 777 });
    expect(requests.length).toBeGreaterThanOrEqual(4);
    for (const r of requests) {
      expect(bytes(r.body ?? '')).toBeLessThanOrEqual(max);
      expect(r.json.last_pulled_at).toBe(777);
      expect(r.url.searchParams.get('last_pulled_at')).toBe('777');
      expect(Object.keys(r.json.changes)).toEqual(['activities', 'plans', 'uploads']);
    }
    expect(recordsOf(requests.map((r) => r.json))).toEqual(recordsOf([{ changes }]));
    // The budget is used, not wasted: all but the last request are more than half full.
    for (const r of requests.slice(0, -1)) expect(bytes(r.body ?? '')).toBeGreaterThan(max / 2);
  });

  it('uses 3,000,000 bytes by default', async () => {
    const { adapter, requests } = adapterWith(ok);
    await adapter.pushChanges({ changes: bigChanges(100, 70_000), lastPulledAt: 1 });
    expect(requests.length).toBe(3);
    for (const r of requests) expect(bytes(r.body ?? '')).toBeLessThanOrEqual(3_000_000);
  });

  it('sends a record larger than the budget on its own, and the rest around it', async () => {
    const { adapter, requests } = adapterWith(ok, 10_000);
    const changes = { activities: { created: [raw('s1', 'a'), raw('huge', 'h'.repeat(20_000)), raw('s2', 'b')], updated: [], deleted: [] } };
    await adapter.pushChanges({ changes, lastPulledAt: 1 });
    expect(requests.map((r) => recordsOf([r.json]))).toEqual([['activities/created/s1'], ['activities/created/huge'], ['activities/created/s2']]);
  });

  it('stops at the first failed request and rejects with its error (the rest is pushed on the next sync)', async () => {
    const { adapter, requests } = adapterWith((_, i) => (i === 1 ? { status: 503, body: { error: { code: 'push_deadline_exceeded', message: 'retry', details: [] } }, headers: { 'Retry-After': '1' } } : ok()), 50_000);
    const error = await adapter.pushChanges({ changes: bigChanges(40, 4000), lastPulledAt: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncHttpError);
    expect(error).toMatchObject({ status: 503, code: 'push_deadline_exceeded', retryAfterSeconds: 1 });
    expect(requests).toHaveLength(2);
  });

  it('rejects with a SyncNetworkError when a request gets no answer', async () => {
    const { adapter } = adapterWith((_, i) => {
      if (i === 1) throw new TypeError('fetch failed');
      return ok();
    }, 50_000);
    await expect(adapter.pushChanges({ changes: bigChanges(40, 4000), lastPulledAt: 5 })).rejects.toBeInstanceOf(SyncNetworkError);
  });

  it('halves a request the server refuses as too large (413), down to single records', async () => {
    const tooLarge = { status: 413, body: { message: 'Request Entity Too Large', error: { code: 'payload_too_large', message: 'too large', details: [] } } };
    // A gateway whose real limit is 25 KB, below the configured 100 KB budget.
    const { adapter, requests } = adapterWith((req) => (bytes(req.body ?? '') > 25_000 ? tooLarge : ok()), 100_000);
    const changes = bigChanges(20, 4000);
    await adapter.pushChanges({ changes, lastPulledAt: 5 });
    const accepted = requests.filter((r) => bytes(r.body ?? '') <= 25_000);
    expect(recordsOf(accepted.map((r) => r.json))).toEqual(recordsOf([{ changes }]));

    const { adapter: strict } = adapterWith(() => tooLarge, 100_000);
    await expect(strict.pushChanges({ changes: { activities: { created: [raw('one')], updated: [], deleted: [] } }, lastPulledAt: 5 })).rejects.toMatchObject({
      status: 413,
      code: 'payload_too_large',
    });
  });

  it('sends a push without records as one request', async () => {
    const { adapter, requests } = adapterWith(ok);
    await adapter.pushChanges({ changes: { activities: empty() }, lastPulledAt: 8 });
    expect(requests.map((r) => r.json)).toEqual([{ changes: { activities: empty() }, last_pulled_at: 8 }]);
  });
});

describe('splitPush (property)', () => {
  const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme-ascii', maxLength: 3000 }));
  const tableChanges = fc.record({
    created: fc.array(fc.record({ id: fc.uuid(), notes: text }), { maxLength: 15 }),
    updated: fc.array(fc.record({ id: fc.uuid(), title: text, _changed: fc.constant('title') }), { maxLength: 15 }),
    deleted: fc.array(fc.uuid(), { maxLength: 15 }),
  });
  const changeSets = fc.dictionary(fc.constantFrom('activities', 'plans', 'planned_workouts', 'settings'), tableChanges, { minKeys: 1 });

  it('keeps every body under the budget unless it holds one record, loses and reorders nothing', () => {
    fc.assert(
      fc.property(changeSets, fc.integer({ min: 400, max: 20_000 }), fc.option(fc.integer({ min: 1, max: 2 ** 45 })), (changes, max, lastPulledAt) => {
        const bodies = splitPush(changes, lastPulledAt, max);
        expect(bodies.length).toBeGreaterThanOrEqual(1);
        for (const b of bodies) {
          expect(b.last_pulled_at).toBe(lastPulledAt);
          expect(Object.keys(b.changes)).toEqual(Object.keys(changes));
          if (recordsOf([b]).length > 1) expect(bytes(JSON.stringify(b))).toBeLessThanOrEqual(max);
        }
        expect(recordsOf(bodies)).toEqual(recordsOf([{ changes }]));
      }),
      { numRuns: 200 },
    );
  });
});
