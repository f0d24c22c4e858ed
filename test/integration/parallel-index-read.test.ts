/**
 * A pull reads the index while it reads the clock (docs/sync-protocol.md, P4, "the index read with
 * the clock"). What makes that sound: the journals are chosen by the time taken before any read is
 * sent, and the page read with the clock stops at the timestamp. The last two tests each fail if
 * one of those is dropped.
 */
import { describe, expect, it } from 'vitest';
import { parsePushBody } from '../../lambdas/core/contract.js';
import { pullChanges } from '../../lambdas/core/pull.js';
import { pushChanges } from '../../lambdas/core/push.js';
import type { ChangesPage, ChangesQuery, SyncStore } from '../../lambdas/core/store.js';
import { pullDeps, pushDeps, uniqueUser, useSyncTable } from '../support/dynamo.js';
import { BoundedLagIndexStore, DelegatingStore } from '../support/faulty-store.js';
import { activityRaw, pushBody } from '../support/records.js';

const harness = useSyncTable();
const LAG_MS = 5_000;
const create = (ids: string[], t: number | null) => parsePushBody(pushBody({ activities: { created: ids.map((id) => activityRaw(id)) } }, t));
const request = (lastPulledAt: number | null) => ({ lastPulledAt, schemaVersion: 1, migration: null });
const ids = (r: Awaited<ReturnType<typeof pullChanges>>) => r.changes.activities.updated.map((x) => x.id).sort();

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Logs when each read starts and ends; the clock read and the index Query can be held. */
class HeldReadsStore extends DelegatingStore {
  readonly events: string[] = [];
  readonly clockGate = deferred();
  readonly queryGate = deferred();
  override async readClock(u: string, now: number) {
    this.events.push('readClock:start');
    const state = await super.readClock(u, now);
    await this.clockGate.promise;
    this.events.push('readClock:end');
    return state;
  }
  override async queryChanges(u: string, q: ChangesQuery): Promise<ChangesPage> {
    this.events.push('queryChanges:start');
    const page = await super.queryChanges(u, q);
    await this.queryGate.promise;
    this.events.push('queryChanges:end');
    return page;
  }
  override async getRecords(...a: Parameters<SyncStore['getRecords']>) {
    this.events.push('getRecords:start');
    return super.getRecords(...a);
  }
}

/**
 * In virtual time, an index lagging by L: a user whose push of `x` settled L − 10 ms before now, so
 * a pull beginning now must find x through the push's journal (the index may not show it yet).
 */
async function pushedJustInsideWindow(label: string) {
  const { store } = harness();
  const user = uniqueUser(label);
  let now = Date.now();
  const clock = () => now;
  const advance = (ms: number) => void (now += ms);
  const lagging = new BoundedLagIndexStore(store, clock, LAG_MS);
  const t0 = (await pullChanges(user, request(null), pullDeps(lagging, {}, clock))).timestamp;
  advance(1_000);
  await pushChanges(user, create([`${user}-x`], t0), pushDeps(lagging, {}, clock));
  advance(LAG_MS - 10);
  return { store, user, t0, lagging, clock, advance };
}

/** The clock read starts once the first index Query was answered and `meanwhile` has run. */
class ClockReadAfterIndexStore extends DelegatingStore {
  private firstQuery: Promise<unknown> | undefined;
  constructor(
    inner: SyncStore,
    private readonly meanwhile: () => Promise<void>,
  ) {
    super(inner);
  }
  override queryChanges(u: string, q: ChangesQuery) {
    const page = super.queryChanges(u, q);
    this.firstQuery ??= page;
    return page;
  }
  override async readClock(u: string, n: number) {
    await this.firstQuery?.catch(() => undefined);
    await this.meanwhile();
    return super.readClock(u, n);
  }
}

describe('the index read in parallel with the clock', () => {
  it('a 1-record delta right after a push: the Query goes out before the clock read returns, and nothing else is read', async () => {
    const { store } = harness();
    const user = uniqueUser('parallel');
    const t0 = (await pullChanges(user, request(null), pullDeps(store))).timestamp;
    await pushChanges(user, create([`${user}-a`], t0), pushDeps(store));
    const held = new HeldReadsStore(store);
    const pulling = pullChanges(user, request(t0), pullDeps(held));
    // The clock read is held: anything sent by now was sent without waiting for it.
    await new Promise((r) => setImmediate(r));
    expect(held.events).toEqual(['queryChanges:start', 'readClock:start']);
    // The push just settled: its journal copy names the record at the version the index shows, so
    // the record is not read again.
    held.clockGate.resolve();
    held.queryGate.resolve();
    const result = await pulling;
    expect(ids(result)).toEqual([`${user}-a`]);
    expect(held.events).not.toContain('getRecords:start');
    expect(result.stats).toMatchObject({ roundTrips: 1, baseTableReads: 0 });
  });

  it('a write that settled just inside the lag window before the pull began, the clock read slow: the journal still names it', async () => {
    const { user, t0, lagging, clock, advance } = await pushedJustInsideWindow('slowclock');
    // The clock read returns 20 ms later, after the Query already on its way was answered.
    const slowClock = new ClockReadAfterIndexStore(lagging, async () => advance(20));
    const first = await pullChanges(user, request(t0), pullDeps(slowClock, {}, clock));
    // Judged by the time the pull began (not when the clock read returned), the push is recent.
    expect(ids(first)).toEqual([`${user}-x`]);
    advance(LAG_MS + 1_000);
    expect(ids(await pullChanges(user, request(first.timestamp), pullDeps(lagging, {}, clock)))).toEqual([]);
  });

  it('a clock read that comes back late (retries): the page read with it is dropped and the index read again, so a lease cleaned off the clock meanwhile is not missed', async () => {
    const { store, user, t0, lagging, clock, advance } = await pushedJustInsideWindow('lateclock');
    // The index is read at once (it does not show x yet); the clock read takes 6 s, and in the
    // meantime another push's allocation removes x's settled entry (older than L + 5 s by then).
    const lateClock = new ClockReadAfterIndexStore(lagging, async () => {
      advance(6_000);
      await pushChanges(user, create([`${user}-y`], t0), pushDeps(store, {}, clock));
    });
    const pulled = await pullChanges(user, request(t0), pullDeps(lateClock, {}, clock));
    expect(ids(pulled)).toEqual([`${user}-x`, `${user}-y`]);
  });

  it('a write that lands between the clock read and the index read: past the timestamp, so not in this pull; the next pull brings it, once', async () => {
    const { store } = harness();
    const user = uniqueUser('past');
    const t0 = (await pullChanges(user, request(null), pullDeps(store))).timestamp;
    await pushChanges(user, create([`${user}-a`], t0), pushDeps(store));
    let clockRead!: () => void;
    const clockDone = new Promise<void>((r) => (clockRead = r));
    const racing = new (class extends DelegatingStore {
      override async readClock(u: string, n: number) {
        const state = await super.readClock(u, n);
        clockRead();
        return state;
      }
      // The index is read after another push completed, which the clock read did not see.
      override async queryChanges(u: string, q: ChangesQuery) {
        await clockDone;
        await pushChanges(user, create([`${user}-late`], t0), pushDeps(store));
        return super.queryChanges(u, q);
      }
    })(store);
    const first = await pullChanges(user, request(t0), pullDeps(racing));
    expect(ids(first)).toEqual([`${user}-a`]);
    for (const raw of first.changes.activities.updated) expect(raw.updated_at).toBeLessThanOrEqual(first.timestamp);
    const second = await pullChanges(user, request(first.timestamp), pullDeps(store));
    expect(ids(second)).toEqual([`${user}-late`]);
    expect(ids(await pullChanges(user, request(second.timestamp), pullDeps(store)))).toEqual([]);
  });
});
