import { describe, expect, it } from 'vitest';
import { createSyncAdapter, SyncHttpError, SyncProtocolError } from '../../client/index.js';
import { BASE_URL, fakeFetch, page } from './support/fake-fetch.js';

const FIRST_SYNC = { lastPulledAt: null as unknown as undefined, schemaVersion: 1, migration: null };
const adapterWith = (handler: Parameters<typeof fakeFetch>[0], getToken: () => string = () => 'tok') => {
  const fake = fakeFetch(handler);
  return { ...fake, adapter: createSyncAdapter({ baseUrl: BASE_URL, getToken, fetch: fake.fetch }) };
};
const invalidCursor = { status: 400, body: { error: { code: 'invalid_cursor', message: 'cursor expired', details: [{ path: 'cursor', message: 'expired' }] } } };

describe('client pull: one request per page', () => {
  it('sends a first sync as last_pulled_at=null with schema_version and migration, authenticated', async () => {
    const { adapter, requests } = adapterWith(() => page({ activities: { updated: [{ id: 'a1' }] } }, 1000));
    const result = await adapter.pullChanges(FIRST_SYNC);
    expect(result).toEqual({ changes: { activities: { created: [], updated: [{ id: 'a1' }], deleted: [] } }, timestamp: 1000 });
    expect(requests).toHaveLength(1);
    const [req] = requests;
    expect(req?.method).toBe('GET');
    expect(`${req?.url.origin}${req?.url.pathname}`).toBe(`${BASE_URL}/api/v1/sync`);
    expect(Object.fromEntries(req?.url.searchParams ?? [])).toEqual({ last_pulled_at: 'null', schema_version: '1', migration: 'null' });
    expect(req?.headers.authorization).toBe('Bearer tok');
  });

  it('sends last_pulled_at and a migration as URL-encoded JSON', async () => {
    const { adapter, requests } = adapterWith(() => page({}, 2000));
    const migration = { from: 1, tables: ['plans'], columns: [{ table: 'activities', columns: ['notes', 'title'] }] };
    await adapter.pullChanges({ lastPulledAt: 1500, schemaVersion: 2, migration });
    const q = requests[0]?.url.searchParams;
    expect(q?.get('last_pulled_at')).toBe('1500');
    expect(q?.get('schema_version')).toBe('2');
    expect(JSON.parse(q?.get('migration') ?? '')).toEqual(migration);
    expect(requests[0]?.url.search).not.toMatch(/[{}"\[\]]/);
  });

  it('asks getToken before every request, so a refreshed token is used', async () => {
    let n = 0;
    const { adapter, requests } = adapterWith(
      (_, i) => page({}, 10, i < 2 ? `c${i}` : undefined),
      () => `tok${++n}`,
    );
    await adapter.pullChanges(FIRST_SYNC);
    expect(requests.map((r) => r.headers.authorization)).toEqual(['Bearer tok1', 'Bearer tok2', 'Bearer tok3']);
  });
});

describe('client pull: paged', () => {
  it('follows the cursor until it is absent, repeating the same pull parameters', async () => {
    const pages = [
      page({ activities: { updated: [{ id: 'a1' }] } }, 5000, 'cur-1'),
      page({ activities: { updated: [{ id: 'a2' }] }, plans: { updated: [{ id: 'p1' }] } }, 5000, 'cur-2'),
      page({ settings: { updated: [{ id: 'units', value: '"km"' }] } }, 5000),
    ];
    const { adapter, requests } = adapterWith((_, i) => pages[i] as ReturnType<typeof page>);
    const result = await adapter.pullChanges({ lastPulledAt: 4000, schemaVersion: 1, migration: null });
    expect(requests.map((r) => r.url.searchParams.get('cursor'))).toEqual([null, 'cur-1', 'cur-2']);
    for (const r of requests) expect(r.url.searchParams.get('last_pulled_at')).toBe('4000');
    expect(result.timestamp).toBe(5000);
    expect(result.changes).toEqual({
      activities: { created: [], updated: [{ id: 'a1' }, { id: 'a2' }], deleted: [] },
      plans: { created: [], updated: [{ id: 'p1' }], deleted: [] },
      settings: { created: [], updated: [{ id: 'units', value: '"km"' }], deleted: [] },
    });
  });

  it('merges pages so each id appears once per table, the later page winning', async () => {
    const pages = [
      page({ activities: { updated: [{ id: 'a1', title: 'v1' }, { id: 'a2' }, { id: 'a5' }], deleted: ['a3'] } }, 7, 'c1'),
      page({ activities: { updated: [{ id: 'a1', title: 'v2' }, { id: 'a3', title: 'back' }], deleted: ['a2', 'a4'] } }, 7, 'c2'),
      page({ activities: { deleted: ['a4'] }, plans: { updated: [{ id: 'a1' }] } }, 7),
    ];
    const { adapter } = adapterWith((_, i) => pages[i] as ReturnType<typeof page>);
    const { changes } = await adapter.pullChanges(FIRST_SYNC);
    expect(changes.activities).toEqual({
      created: [],
      // a1 replaced by its later version; a2 deleted later leaves `updated`; a3 updated later leaves `deleted`
      updated: [{ id: 'a5' }, { id: 'a1', title: 'v2' }, { id: 'a3', title: 'back' }],
      deleted: ['a2', 'a4'],
    });
    // ids are per table: the same id in another table is another record
    expect(changes.plans?.updated).toEqual([{ id: 'a1' }]);
  });

  it('passes `created` records through (never merged into `updated`), so WatermelonDB still flags the server', async () => {
    const { adapter } = adapterWith(() => page({ activities: { created: [{ id: 'a1' }] } }, 7));
    expect((await adapter.pullChanges(FIRST_SYNC)).changes.activities?.created).toEqual([{ id: 'a1' }]);
  });

  it('rejects pages that disagree on the timestamp', async () => {
    const pages = [page({}, 7, 'c1'), page({}, 8)];
    const { adapter } = adapterWith((_, i) => pages[i] as ReturnType<typeof page>);
    await expect(adapter.pullChanges(FIRST_SYNC)).rejects.toThrow(SyncProtocolError);
  });

  it('rejects a server that hands back the cursor it was given (it would loop forever)', async () => {
    const { adapter, requests } = adapterWith(() => page({}, 7, 'same'));
    await expect(adapter.pullChanges(FIRST_SYNC)).rejects.toThrow(/cursor it was given/);
    expect(requests).toHaveLength(2);
  });

  it.each([
    ['no changes object', { body: { timestamp: 5 } }],
    ['a zero timestamp', { body: { changes: {}, timestamp: 0 } }],
    ['a string timestamp', { body: { changes: {}, timestamp: '5' } }],
    ['a table without arrays', { body: { changes: { activities: { updated: {} } }, timestamp: 5 } }],
    ['an empty cursor', { body: { changes: {}, timestamp: 5, cursor: '' } }],
    ['a body that is not JSON', { text: '<html>' }],
  ])('rejects an answer with %s as a SyncProtocolError', async (_, answer) => {
    const { adapter } = adapterWith(() => answer);
    await expect(adapter.pullChanges(FIRST_SYNC)).rejects.toThrow(SyncProtocolError);
  });
});

describe('client pull: invalid_cursor', () => {
  it('restarts the pull once from its first page and keeps only the restarted pages', async () => {
    const script = [
      page({ activities: { updated: [{ id: 'stale' }] } }, 7, 'c1'),
      invalidCursor,
      page({ activities: { updated: [{ id: 'a1' }] } }, 9, 'd1'),
      page({ activities: { updated: [{ id: 'a2' }] } }, 9),
    ];
    const { adapter, requests } = adapterWith((_, i) => script[i] as ReturnType<typeof page>);
    const result = await adapter.pullChanges({ lastPulledAt: 3, schemaVersion: 1, migration: null });
    expect(requests.map((r) => r.url.searchParams.get('cursor'))).toEqual([null, 'c1', null, 'd1']);
    expect(requests.every((r) => r.url.searchParams.get('last_pulled_at') === '3')).toBe(true);
    expect(result).toEqual({ changes: { activities: { created: [], updated: [{ id: 'a1' }, { id: 'a2' }], deleted: [] } }, timestamp: 9 });
  });

  it('gives up with the SyncHttpError when the restarted pull is refused a cursor again', async () => {
    const { adapter, requests } = adapterWith((req) => (req.url.searchParams.get('cursor') ? invalidCursor : page({}, 7, 'c1')));
    const error = await adapter.pullChanges(FIRST_SYNC).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncHttpError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_cursor' });
    expect(requests).toHaveLength(4);
  });

  it('does not restart on other 400s', async () => {
    const { adapter, requests } = adapterWith((req) =>
      req.url.searchParams.get('cursor') ? { status: 400, body: { error: { code: 'validation_error', message: 'bad', details: [] } } } : page({}, 7, 'c1'),
    );
    await expect(adapter.pullChanges(FIRST_SYNC)).rejects.toMatchObject({ code: 'validation_error' });
    expect(requests).toHaveLength(2);
  });
});

describe('client pull: replacement syncs (P10)', () => {
  const replacing = (p: ReturnType<typeof page>) => ({ body: { ...p.body, experimentalStrategy: 'replacement' } });

  it("keeps the pages' replacement strategy through the merge (a bare adapter hands WatermelonDB 'replacement')", async () => {
    const pages = [replacing(page({ activities: { updated: [{ id: 'a1' }] } }, 7000, 'c1')), replacing(page({ activities: { updated: [{ id: 'a2' }] } }, 7000))];
    const { adapter } = adapterWith((_, i) => pages[i] as ReturnType<typeof page>);
    const result = await adapter.pullChanges({ lastPulledAt: 10, schemaVersion: 1, migration: null });
    expect(result.experimentalStrategy).toBe('replacement');
    expect(result.changes.activities?.updated.map((r) => r.id)).toEqual(['a1', 'a2']);
  });

  it('an ordinary pull carries no strategy', async () => {
    const { adapter } = adapterWith(() => page({}, 10));
    expect('experimentalStrategy' in (await adapter.pullChanges(FIRST_SYNC))).toBe(false);
  });

  it.each([
    ['pages that disagree on the strategy', [replacing(page({}, 7000, 'c1')), page({}, 7000)]],
    ['an unknown strategy', [{ body: { ...page({}, 7000).body, experimentalStrategy: 'incremental-ish' } }]],
  ])('%s → SyncProtocolError', async (_name, pages) => {
    const { adapter } = adapterWith((_, i) => pages[i] as ReturnType<typeof page>);
    await expect(adapter.pullChanges({ lastPulledAt: 10, schemaVersion: 1, migration: null })).rejects.toBeInstanceOf(SyncProtocolError);
  });
});
