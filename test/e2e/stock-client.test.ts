/**
 * A stock WatermelonDB client: `synchronize()` with the README's documented snippet (plain fetch,
 * contract v1 fields only, no client module). Two devices create, edit and delete, and converge
 * with the server; a record the server rejects stays dirty on the device (the snippet returns the
 * push answer, so WatermelonDB reads `experimentalRejectedIds`), and lands once fixed.
 */
import { describe, expect, it } from 'vitest';
import { uniqueUser } from '../support/dynamo.js';
import { apiAs, serverWrite, useLocalStack } from '../support/stack.js';
import { failOnSyncDiagnostics } from './support/diagnostics.js';
import { openDevice, withoutBookkeeping, type Device } from './support/devices.js';
import { serverSnapshot } from './support/server.js';
import { stockSync } from './support/stock-client.js';

const stack = useLocalStack();

describe('e2e: a stock WatermelonDB client (the documented snippet, no client module)', () => {
  failOnSyncDiagnostics();

  it('two devices create, edit and delete offline and converge with the server; a rejected record stays dirty until fixed', async () => {
    const s = stack();
    const user = uniqueUser('stock');
    const token = await s.token(user);
    const [phone, tablet] = (await Promise.all(['stock-phone', 'stock-tablet'].map((n) => openDevice(s, user, n)))) as [Device, Device];
    const sync = (d: Device) => stockSync(d.database, s.url, token);
    const run = { sport: 'running', started_at: 1_767_225_600_000, duration_s: 1800, distance_m: 5000, gps_source: 'manual' };

    await phone.createMany('activities', [{ ...run, id: 'r1', title: 'one' }, { ...run, id: 'r2', title: 'two' }]);
    await sync(phone);
    await sync(tablet);
    await tablet.update('activities', 'r1', { notes: 'from the tablet' });
    await tablet.remove('activities', 'r2');
    await phone.create('activities', { ...run, title: 'three' }, 'r3');
    // An app bug: a title over the 16 KB column limit. The server leaves it out, the rest applies.
    await phone.create('activities', { ...run, title: 'x'.repeat(20_000) }, 'bad');
    for (const d of [tablet, phone, tablet]) await sync(d);

    const server = await serverSnapshot(s, user);
    expect(server.activities.map((r) => r.id).sort()).toEqual(['r1', 'r3']);
    expect(server.activities.find((r) => r.id === 'r1')?.notes).toBe('from the tablet');
    const phoneSnap = await phone.snapshot();
    expect(phoneSnap.activities.find((r) => r.id === 'bad')?._status).toBe('created');
    expect(withoutBookkeeping(await tablet.snapshot()).activities).toEqual(server.activities);

    // Fixed on the device: the next sync stores it, and everyone converges.
    await phone.update('activities', 'bad', { title: 'fixed' });
    // The phone pulls once more: a stock client learns the server's stamps of its own writes from pulls.
    for (const d of [phone, tablet, phone]) await sync(d);
    const fixed = await serverSnapshot(s, user);
    expect(fixed.activities.map((r) => r.id).sort()).toEqual(['bad', 'r1', 'r3']);
    for (const d of [phone, tablet]) {
      expect(await d.hasUnsyncedChanges()).toBe(false);
      expect(withoutBookkeeping(await d.snapshot()).activities).toEqual(fixed.activities);
    }
  });
  // docs/conflicts.md, "Known limitations": what a stock client's own WatermelonDB resolves is not
  // judged by the entity rules. The module, beside it, applies them.
  it("a pulled conflict is WatermelonDB's to resolve: a stock device's offline plan edit stands over the plan engine's; through the module the engine's stands and the edit is logged", async () => {
    const s = stack();
    const user = uniqueUser('stock-rules');
    const token = await s.token(user);
    const plan = { name: 'Spring 10k', goal: 'sub 50', race_date: 1_780_000_000_000, status: 'active' };
    const outcome = async (device: Device, sync: () => Promise<void>, id: string) => {
      await device.create('plans', plan, id);
      await sync();
      await device.update('plans', id, { goal: 'device goal' });
      const engine = await serverWrite(s, { user_id: user, table: 'plans', source: 'plan-engine', record: { id, goal: 'engine goal' } });
      expect(engine.status).toBe(200);
      await sync();
      await sync();
      const server = (await serverSnapshot(s, user)).plans.find((p) => p.id === id);
      expect(withoutBookkeeping(await device.snapshot()).plans.find((p) => p.id === id)).toEqual(server);
      return { goal: server?.goal, logged: (await apiAs(s, token).conflicts()).filter((e: { record_id: string }) => e.record_id === id).map((e: { rule: string }) => e.rule) };
    };
    const stock = await openDevice(s, user, 'stock-rules-stock');
    expect(await outcome(stock, () => stockSync(stock.database, s.url, token), `${user}-stock`)).toEqual({ goal: 'device goal', logged: [] });
    const module = await openDevice(s, user, 'stock-rules-module');
    expect(await outcome(module, () => module.sync(), `${user}-module`)).toEqual({ goal: 'engine goal', logged: ['plan-server-wins'] });
  });
});
