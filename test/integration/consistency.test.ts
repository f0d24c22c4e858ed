/**
 * "A pull never skips a change" (docs/sync-protocol.md): writes committing after a concurrent
 * pull read, racing pushes, and a lagging delta index, with controlled interleavings.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { pullChanges } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import type { SyncStore } from '../../lambdas/core/store.js';
import { pullDeps, pushDeps, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { BoundedLagIndexStore, DelegatingStore, GatedWriteStore, LaggingIndexStore } from '../support/faulty-store.js';
import { activityRaw, pushBody } from '../support/records.js';

const harness = useSyncTable();
// Virtual time: these tests never depend on how fast the machine runs them.
const FROZEN = Date.now();
const frozen = () => FROZEN;
const pull = (store: SyncStore, user: string, lastPulledAt: number | null, window = 5_000, now = frozen) =>
  pullChanges(user, { lastPulledAt, schemaVersion: 1, migration: null }, pullDeps(store, { indexLagMs: window }, now));
const create = (ids: string[], t: number | null) => parsePushBody(pushBody({ activities: { created: ids.map((id) => activityRaw(id)) } }, t));
const ids = (r: Awaited<ReturnType<typeof pull>>) => r.changes.activities.updated.map((x) => x.id).sort();

describe('a pull never skips a change', () => {
  it('a write committing after a concurrent pull read reaches the next pull (in-flight watermark)', async () => {
    const { store } = harness();
    const user = uniqueUser('inflight');
    const t0 = (await pull(store, user, null)).timestamp;
    const gated = new GatedWriteStore(store);
    const pushing = pushChanges(user, create(['late'], t0), pushDeps(gated, {}, frozen));
    await gated.writeWaiting; // the push holds its stamp, its write not yet made

    const during = await pull(store, user, t0, 0);
    expect(ids(during)).toEqual([]);
    gated.release();
    const pushed = await pushing;
    // The pull reported a timestamp below the in-flight stamp, so the next delta includes it.
    expect(during.timestamp).toBeLessThan(pushed.timestamp);
    expect(ids(await pull(store, user, during.timestamp, 0))).toEqual(['late']);
  });

  it("a write the index shows late is delivered at once, from the base table through its lease's journal, and never again", async () => {
    const { store } = harness();
    const user = uniqueUser('lag');
    const lagging = new LaggingIndexStore(store);
    const t0 = (await pull(store, user, null)).timestamp;
    const pushed = await pushChanges(user, create(['x1'], t0), pushDeps(lagging, {}, frozen));
    const first = await pull(lagging, user, t0);
    // Committed, not yet in the index: the journal names it, the base table holds it.
    expect(ids(first)).toEqual(['x1']);
    expect(first.timestamp).toBe(pushed.timestamp);
    lagging.replicate();
    expect(ids(await pull(lagging, user, first.timestamp))).toEqual([]);
  });

  it('a lease without a journal holds the timestamp below its stamp until it has settled (older writers stay safe)', async () => {
    const { store } = harness();
    const user = uniqueUser('nojournal');
    let now = FROZEN;
    const clockFn = () => now;
    const lagging = new LaggingIndexStore(store);
    const t0 = (await pull(store, user, null, 5_000, clockFn)).timestamp;
    // A writer from before journals: a lease without one, one record, then settled.
    const lease = await store.beginWrite(user, now, { inflightExpiryMs: 30_000, indexLagMs: 5_000 });
    await lagging.putRecord(user, { table: 'activities', id: 'old1', data: activityRaw('old1') as never, created_at: lease.stamp, updated_at: lease.stamp, deleted_at: null }, null);
    await store.endWrite(user, [lease], now);
    const held = await pull(lagging, user, t0, 5_000, clockFn);
    expect(ids(held)).toEqual([]);
    expect(held.timestamp).toBe(lease.stamp - 1);
    lagging.replicate();
    now += 6_000;
    const after = await pull(lagging, user, held.timestamp, 5_000, clockFn);
    expect(ids(after)).toEqual(['old1']);
    expect(after.timestamp).toBeGreaterThanOrEqual(lease.stamp);
  });

  it('a paged pull goes through journaled records by offset after the index: each once, a record changed between pages comes in the next pull', async () => {
    const { store } = harness();
    const user = uniqueUser('pagedjournal');
    const lagging = new LaggingIndexStore(store);
    const t0 = (await pull(store, user, null)).timestamp;
    const many = Array.from({ length: 30 }, (_, i) => `${user}-p${String(i).padStart(2, '0')}`);
    const body = parsePushBody(pushBody({ activities: { created: many.map((id) => activityRaw(id, { notes: 'n'.repeat(2_000) })) } }, t0));
    await pushChanges(user, body, pushDeps(lagging, {}, frozen));
    // The index shows none of them yet: every record comes from the journal, 4 KB pages.
    const deps = pullDeps(lagging, { pageBytes: 8_000 }, frozen);
    const pages: Awaited<ReturnType<typeof pullChanges>>[] = [];
    let cursor: string | undefined;
    do {
      const page = await pullChanges(user, { lastPulledAt: t0, schemaVersion: 1, migration: null, cursor }, deps);
      pages.push(page);
      cursor = page.cursor;
      if (pages.length === 2) {
        // Between pages another push changes a record not yet sent: its new version is above the
        // pinned timestamp, so this pull leaves it out and the next one sends it.
        const later = many.at(-1) as string;
        await pushChanges(user, parsePushBody(pushBody({ activities: { updated: [activityRaw(later, { title: 'changed between pages' })] } }, t0)), pushDeps(store, {}, frozen));
      }
    } while (cursor);
    expect(pages.length).toBeGreaterThan(3);
    const sent = pages.flatMap((p) => p.changes.activities.updated.map((r) => r.id));
    expect(new Set(sent).size).toBe(sent.length);
    expect(sent.sort()).toEqual(many.slice(0, -1).sort());
    expect(new Set(pages.map((p) => p.timestamp)).size).toBe(1);
    const next = await pull(store, user, pages[0]!.timestamp);
    expect(ids(next)).toEqual([many.at(-1)]);
    expect(next.changes.activities.updated[0]).toMatchObject({ title: 'changed between pages' });
  });

  it('with INDEX_LAG_MS below the real lag no journal is read, and the same interleaving loses the change (why the bound matters)', async () => {
    const { store } = harness();
    const user = uniqueUser('nolag');
    const lagging = new LaggingIndexStore(store);
    const t0 = (await pull(store, user, null)).timestamp;
    await pushChanges(user, create(['x2'], t0), pushDeps(lagging, {}, frozen));
    const blind = await pull(lagging, user, t0, 0);
    lagging.replicate();
    expect(ids(await pull(lagging, user, blind.timestamp, 0))).toEqual([]);
  });

  it('a slow push that ends after a later-stamped push: its last write, late in the index, reaches the first pull after it ends, once', async () => {
    // Virtual time: the slow push takes its stamp at +1 s, a fast push at +7 s; the slow one ends at +7 s.
    const { store } = harness();
    const user = uniqueUser('slow');
    let now = Date.now();
    const clockFn = () => now;
    const lagging = new LaggingIndexStore(store);
    const t0 = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 1, migration: null }, pullDeps(store, {}, clockFn))).timestamp;
    now += 1_000;
    const gated = new GatedWriteStore(lagging);
    const slow = pushChanges(user, create(['slow1'], t0), pushDeps(gated, {}, clockFn));
    await gated.writeWaiting;
    now += 6_000;
    lagging.lag = false; // the fast push's write is in the index at once
    await pushChanges(user, create(['fast1'], t0), pushDeps(store, {}, clockFn));
    lagging.lag = true; // the slow push's write will lag
    gated.release();
    await slow;
    now += 500;
    const first = await pullChanges(user, { lastPulledAt: t0, schemaVersion: 1, migration: null }, pullDeps(lagging, {}, clockFn));
    // The slow push's write is not in the index yet: its journal names it.
    expect(ids(first)).toEqual(['fast1', 'slow1']);
    lagging.replicate();
    now += 10_000;
    const second = await pullChanges(user, { lastPulledAt: first.timestamp, schemaVersion: 1, migration: null }, pullDeps(lagging, {}, clockFn));
    // Nothing is sent twice.
    expect(ids(second)).toEqual([]);
    // The next push cleans settled entries off the clock item; only its own stamp is left settling.
    const next = await pushChanges(user, create(['after1'], second.timestamp), pushDeps(store, {}, clockFn));
    expect((await store.readClock(user, now)).settling.map((x) => x.stamp)).toEqual([next.timestamp]);
  });

  it("a dead push's stamp holds pulls back only until it expires; its writes are still delivered", async () => {
    const { store } = harness();
    const user = uniqueUser('dead');
    let now = Date.now();
    const clockFn = () => now;
    const t0 = (await pullChanges(user, { lastPulledAt: null, schemaVersion: 1, migration: null }, pullDeps(store, {}, clockFn))).timestamp;
    // A push that took its stamp, wrote one record, and died before releasing the stamp.
    const { stamp } = await store.beginWrite(user, now, { inflightExpiryMs: 30_000, indexLagMs: 5_000 });
    await store.putRecord(user, { table: 'activities', id: `${user}-d1`, data: activityRaw('d1') as never, created_at: stamp, updated_at: stamp, deleted_at: null }, null);
    now += 10_000;
    const held = await pullChanges(user, { lastPulledAt: t0, schemaVersion: 1, migration: null }, pullDeps(store, {}, clockFn));
    expect(held.timestamp).toBe(stamp - 1);
    now += 25_000; // past MAX_PUSH_MS + INFLIGHT_GRACE_MS
    const freed = await pullChanges(user, { lastPulledAt: held.timestamp, schemaVersion: 1, migration: null }, pullDeps(store, {}, clockFn));
    expect(freed.timestamp).toBeGreaterThanOrEqual(stamp);
    expect(ids(freed)).toEqual([`${user}-d1`]);
    // The next allocation moves the dead entry out of flight.
    await pushChanges(user, create([`${user}-d2`], freed.timestamp), pushDeps(store, {}, clockFn));
    expect((await store.readClock(user, now)).inflight).toEqual([]);
  });

  // Without index lag and with no re-delivery window, only the in-flight watermark protects
  // the pulls; with a lagging index, the settle window does. Each variant fails if its mechanism is
  // removed (checked by mutation).
  it.each([
    { name: 'in-flight leases alone (no index lag, window 0)', lag: false, window: 0 },
    { name: 'index lagging up to 5 s, journals read for 5 s', lag: true, window: 5_000 },
  ])('property: random interleavings of racing pushes and pulls: nothing skipped, nothing past the timestamp, no version twice — $name', async ({ lag, window }) => {
    const { store } = harness();
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.record({ device: fc.nat(2), records: fc.uniqueArray(fc.nat(5), { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 6 }),
        // Each pull starts after a random number of scheduler turns, so pulls land anywhere in the run.
        fc.array(fc.record({ device: fc.nat(2), delay: fc.nat(120) }), { minLength: 1, maxLength: 6 }),
        async (s, pushes, pulls) => {
          const user = uniqueUser('prop');
          // Virtual time advancing 200 ms per clock reading: settle windows open and close within a
          // run, while in-flight entries (30 s) never expire under a write still scheduled.
          let t = FROZEN;
          const tick = () => (t += 200);
          const index = lag ? new BoundedLagIndexStore(store, () => t, window) : store;
          // Every store call of the pushes and pulls is scheduled by fast-check: arbitrary interleaving.
          const scheduled = new ScheduledStore(index, s);
          const seen = new Map<number, Map<string, number>>(); // device → id → updated_at
          const lastPulled = new Map<number, number | null>();
          const delivered = new Map<number, Set<string>>(); // device → id@version it received
          const doPull = async ({ device, delay }: { device: number; delay: number }, via: SyncStore = scheduled) => {
            for (let i = 0; i < delay; i++) await s.schedule(Promise.resolve(), 'wait');
            const from = lastPulled.get(device) ?? null;
            const r = await pull(via, user, from, window, tick);
            const view = seen.get(device) ?? new Map<string, number>();
            const got = delivered.get(device) ?? new Set<string>();
            for (const raw of r.changes.activities.updated) {
              // Exact (P4, P5): each version in (last_pulled_at, timestamp], and never twice to one device.
              expect(raw.updated_at).toBeLessThanOrEqual(r.timestamp);
              if (from !== null) expect(raw.updated_at).toBeGreaterThan(from);
              expect(got.has(`${raw.id}@${raw.updated_at}`)).toBe(false);
              got.add(`${raw.id}@${raw.updated_at}`);
              view.set(raw.id, raw.updated_at);
            }
            delivered.set(device, got);
            seen.set(device, view);
            lastPulled.set(device, r.timestamp);
          };
          const tasks = [
            // A push may give up under contention (the client retries it); what it committed must still reach everyone.
            ...pushes.map((p) => pushChanges(user, create(p.records.map((n) => `${user}-r${n}`), null), pushDeps(scheduled, {}, tick)).catch(() => undefined)),
            ...pulls.map((d) => doPull(d)),
          ];
          await s.waitFor(Promise.all(tasks));
          // Right after the run, while the index may still lag the last writes, each device pulls again.
          for (const device of [0, 1, 2]) await doPull({ device, delay: 0 }, index);
          // Then time passes (the index catches up) and everyone pulls once more, unscheduled.
          t += 60_000;
          const final = await pull(store, user, null, window, () => t);
          for (const device of [0, 1, 2]) {
            const r = await pull(index, user, lastPulled.get(device) ?? null, window, () => t);
            const view = seen.get(device) ?? new Map<string, number>();
            for (const raw of r.changes.activities.updated) {
              expect(delivered.get(device)?.has(`${raw.id}@${raw.updated_at}`) ?? false).toBe(false);
              view.set(raw.id, raw.updated_at);
            }
            // Each device holds every record, at the server's latest version.
            for (const raw of final.changes.activities.updated) expect(view.get(raw.id)).toBe(raw.updated_at);
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});

/** Routes every store call through a fast-check scheduler, so the property explores interleavings. */
class ScheduledStore extends DelegatingStore {
  constructor(
    inner: SyncStore,
    private readonly s: fc.Scheduler,
  ) {
    super(inner);
  }
  /** Each call starts only when the scheduler picks it, and its result is delivered when picked again. */
  private async turn<T>(label: string, call: () => Promise<T>): Promise<T> {
    await this.s.schedule(Promise.resolve(), `${label}:start`);
    const settled = await call().then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    await this.s.schedule(Promise.resolve(), `${label}:end`);
    if (!settled.ok) throw settled.error;
    return settled.value;
  }
  override readClock(...a: Parameters<SyncStore['readClock']>) {
    return this.turn('readClock', () => super.readClock(...a));
  }
  override beginWrite(...a: Parameters<SyncStore['beginWrite']>) {
    return this.turn('beginWrite', () => super.beginWrite(...a));
  }
  override endWrite(...a: Parameters<SyncStore['endWrite']>) {
    return this.turn('endWrite', () => super.endWrite(...a));
  }
  override readJournals(...a: Parameters<SyncStore['readJournals']>) {
    return this.turn('readJournals', () => super.readJournals(...a));
  }
  override getRecords(...a: Parameters<SyncStore['getRecords']>) {
    return this.turn('getRecords', () => super.getRecords(...a));
  }
  override putRecord(...a: Parameters<SyncStore['putRecord']>) {
    return this.turn('putRecord', () => super.putRecord(...a));
  }
  override queryChanges(...a: Parameters<SyncStore['queryChanges']>) {
    return this.turn('queryChanges', () => super.queryChanges(...a));
  }
}
