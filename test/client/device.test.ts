/** The device id (contract `device_id`): one per database, kept, sent with every pull and push. */
import { describe, expect, it } from 'vitest';
import { createSyncAdapter } from '../../client/index.js';
import { deviceIdOf, DEVICE_ID_STORAGE_KEY } from '../../client/device.js';
import { deviceId as deviceIdSchema } from '../../lambdas/core/contract.js';
import { inMemoryDatabase } from '../support/watermelon.js';
import { BASE_URL, fakeFetch, page } from './support/fake-fetch.js';

describe('device id', () => {
  it('is made once per database, kept in its localStorage, valid for the contract, and differs between databases', async () => {
    const phone = inMemoryDatabase('device-phone');
    const tablet = inMemoryDatabase('device-tablet');
    const id = await deviceIdOf(phone);
    expect(deviceIdSchema.safeParse(id).success).toBe(true);
    expect(await deviceIdOf(phone)).toBe(id);
    expect(await phone.localStorage.get(DEVICE_ID_STORAGE_KEY)).toBe(id);
    const ids = new Set([id, await deviceIdOf(tablet), ...(await Promise.all(Array.from({ length: 50 }, (_, i) => deviceIdOf(inMemoryDatabase(`device-${i}`)))))]);
    expect(ids.size).toBe(52);
  });

  it('a stored value that is not a valid id is replaced', async () => {
    const db = inMemoryDatabase('device-bad');
    await db.localStorage.set(DEVICE_ID_STORAGE_KEY, 'not valid!');
    const id = await deviceIdOf(db);
    expect(id).not.toBe('not valid!');
    expect(deviceIdSchema.safeParse(id).success).toBe(true);
  });

  it('goes with every pull page (query) and every push request (body) of an adapter given one', async () => {
    const fake = fakeFetch((req) => (req.method === 'GET' ? page({}, 2000) : { body: { timestamp: 2000, versions: {} } }));
    const adapter = createSyncAdapter({ baseUrl: BASE_URL, getToken: () => 'tok', fetch: fake.fetch }, { deviceId: 'device-0001' });
    await adapter.pullChanges({ lastPulledAt: 1500, schemaVersion: 2, migration: null } as never);
    await adapter.pushChanges({ changes: { plans: { created: [{ id: 'p1', name: 'x' }], updated: [], deleted: [] } }, lastPulledAt: 2000 } as never);
    expect(fake.requests[0]?.url.searchParams.get('device_id')).toBe('device-0001');
    expect(fake.requests[1]?.json).toMatchObject({ device_id: 'device-0001', last_pulled_at: 2000 });
    // Without one (a bare adapter), neither carries it: contract v1 exactly.
    const bare = fakeFetch((req) => (req.method === 'GET' ? page({}, 2000) : { body: { timestamp: 2000, versions: {} } }));
    const plain = createSyncAdapter({ baseUrl: BASE_URL, getToken: () => 'tok', fetch: bare.fetch });
    await plain.pullChanges({ lastPulledAt: 1500, schemaVersion: 2, migration: null } as never);
    await plain.pushChanges({ changes: { plans: { created: [{ id: 'p1', name: 'x' }], updated: [], deleted: [] } }, lastPulledAt: 2000 } as never);
    expect(bare.requests[0]?.url.searchParams.has('device_id')).toBe(false);
    expect(bare.requests[1]?.json).not.toHaveProperty('device_id');
  });
});
