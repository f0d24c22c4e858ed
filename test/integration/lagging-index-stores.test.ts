/**
 * The lagging-index stores of test/support are the model the consistency proofs run against; a
 * model that drops a committed write makes those proofs fail for the wrong reason (seen on DynamoDB
 * Local, where the two snapshot reads of overlapping first writes both came back empty).
 */
import { describe, expect, it } from 'vitest';
import { ConditionFailedError } from '../../lambdas/core/errors.js';
import type { StoredRecord } from '../../lambdas/core/records.js';
import type { SyncStore } from '../../lambdas/core/store.js';
import { uniqueUser, useSyncTable } from '../support/dynamo.js';
import { BoundedLagIndexStore, DelegatingStore, LaggingIndexStore } from '../support/faulty-store.js';

const harness = useSyncTable();

/**
 * Reads at once but hands each answer over only when released, in the order the test picks: the
 * engine answered both snapshot reads before either write, the second answer arrived after the
 * first write landed (two HTTP connections, as on DynamoDB Local).
 */
class HeldReadsStore extends DelegatingStore {
  calls = 0;
  private readonly answered: Promise<() => void>[] = [];
  override getRecords(u: string, keys: readonly { table: StoredRecord['table']; id: string }[]) {
    this.calls += 1;
    let handOver!: () => void;
    const released = new Promise<void>((r) => (handOver = r));
    const answer = super.getRecords(u, keys);
    this.answered.push(answer.then(() => handOver));
    return answer.then(async (records) => {
      await released;
      return records;
    });
  }
  /** Hands over the n-th answer (0-based) once it has arrived. */
  async release(n: number): Promise<void> {
    (await this.answered[n]!)();
  }
  /** Resolves when every read made so far has its answer (none handed over yet). */
  async allAnswered(): Promise<void> {
    await Promise.all(this.answered);
  }
}

const record = (id: string, stamp: number): StoredRecord => ({
  table: 'activities',
  id,
  data: { sport: 'running', title: 'same', started_at: 1_764_000_000_000, distance_m: 5000 } as StoredRecord['data'],
  created_at: stamp,
  updated_at: stamp,
  deleted_at: null,
});

/** Two creates of one record at once, as two pushes of the same new record make them: one lands, one loses the race. */
async function overlappingFirstWrites(store: SyncStore, held: HeldReadsStore, user: string, id: string) {
  const settle = (p: Promise<void>) => p.then(() => ({ landed: true as const }), (error: unknown) => ({ landed: false as const, error }));
  const first = settle(store.putRecord(user, record(id, 1_000), null));
  const second = settle(store.putRecord(user, record(id, 1_001), null));
  await held.allAnswered();
  await held.release(0);
  const results = [await first];
  // A second snapshot read (if the store made one) answered before the first write; it is handed over after it landed.
  if (held.calls > 1) await held.release(1);
  results.push(await second);
  expect(results.filter((r) => r.landed)).toHaveLength(1);
  expect(results.find((r) => !r.landed)).toMatchObject({ error: expect.any(ConditionFailedError) });
}

describe('lagging-index test stores keep every committed write', () => {
  it('BoundedLagIndexStore: overlapping first writes of one key → the index shows the winner once the lag has passed', async () => {
    const held = new HeldReadsStore(harness().store);
    let now = 0;
    const index = new BoundedLagIndexStore(held, () => now, 5_000);
    const user = uniqueUser('bounded');
    await overlappingFirstWrites(index, held, user, 'r1');
    expect(held.calls).toBe(1);
    now += 10_000;
    const page = await index.queryChanges(user, { after: 0, upTo: 10_000, limit: 100 });
    expect(page.records.map((r) => r.id)).toEqual(['r1']);
  });

  it('LaggingIndexStore: overlapping first writes of one key → hidden while lagging, shown after replicate()', async () => {
    const held = new HeldReadsStore(harness().store);
    const index = new LaggingIndexStore(held);
    const user = uniqueUser('lagging');
    await overlappingFirstWrites(index, held, user, 'r1');
    expect(held.calls).toBe(1);
    expect((await index.queryChanges(user, { after: 0, upTo: 10_000, limit: 100 })).records).toEqual([]);
    index.replicate();
    expect((await index.queryChanges(user, { after: 0, upTo: 10_000, limit: 100 })).records.map((r) => r.id)).toEqual(['r1']);
  });
});
