/**
 * Unit tests of `JobStore`, the upload queue's persistence: a real WatermelonDB database on an
 * in-memory LokiJS adapter (no server). Round trips, serialized changes, no writes once stopped,
 * tolerance of unreadable stored values, and pruning of old uploaded jobs.
 */
import type { Database } from '@nozbe/watermelondb';
import { describe, expect, it } from 'vitest';
import { JOBS_STORAGE_KEY, JobStore, KEEP_UPLOADED_JOBS, QueueStoppedError, type StoredJob } from '../../client/uploads/job-store.js';
import type { UploadJobStatus } from '../../client/uploads/types.js';
import { inMemoryDatabase } from '../support/watermelon.js';


const memoryDatabase = (): Database => inMemoryDatabase('job-store');

let jobCounter = 0;
function storedJob(overrides: Partial<StoredJob> = {}): StoredJob {
  const n = ++jobCounter;
  return {
    id: `job${n}`,
    uri: `file:///docs/run-${n}.fit`,
    kind: 'fit',
    contentType: 'application/vnd.ant.fit',
    activityId: null,
    status: 'pending',
    attempts: 0,
    uploadId: `Upload${String(n).padStart(10, '0')}`,
    error: null,
    nextAttemptAt: null,
    sizeBytes: null,
    createdAt: 1_000 + n,
    updatedAt: 1_000 + n,
    countedFailures: 0,
    consecutiveFailures: 0,
    ...overrides,
  };
}

const rawStored = (db: Database) => db.localStorage.get<unknown>(JOBS_STORAGE_KEY);

describe('JobStore', () => {
  it('round-trips jobs through the database, field for field', async () => {
    const db = memoryDatabase();
    const store = new JobStore(db, () => true);
    expect(await store.list()).toEqual([]);
    const a = storedJob({ activityId: 'act_1', sizeBytes: 1234, error: 'HTTP 503', nextAttemptAt: 99_999, attempts: 2, countedFailures: 1 });
    const b = storedJob({ kind: 'image', contentType: 'image/jpeg', status: 'uploaded' });
    const c = storedJob({ status: 'failed', error: 'gone' });
    const d = storedJob({ status: 'uploading', attempts: 1 });
    const returned = await store.mutate((jobs) => {
      jobs.push(a, b, c, d);
      return 'done';
    });
    expect(returned).toBe('done');
    expect(await store.list()).toEqual([a, b, c, d]);
    // A second store on the same database (the app restarted) reads the same.
    expect(await new JobStore(db, () => true).list()).toEqual([a, b, c, d]);
    expect(await rawStored(db)).toEqual([a, b, c, d]);
  });

  it('hands each change a copy: editing it in place changes nothing until the change is stored, and list() results are copies too', async () => {
    const db = memoryDatabase();
    const store = new JobStore(db, () => true);
    await store.mutate((jobs) => void jobs.push(storedJob({ attempts: 0 })));
    const listed = await store.list();
    (listed[0] as { attempts: number }).attempts = 42;
    expect((await store.list())[0]!.attempts).toBe(0);
    await store.mutate((jobs) => {
      (jobs[0] as { attempts: number }).attempts = 7;
    });
    expect((await store.list())[0]!.attempts).toBe(7);
  });

  it('serializes concurrent changes: 50 parallel increments all land, in call order', async () => {
    const db = memoryDatabase();
    const store = new JobStore(db, () => true);
    const job = storedJob();
    await store.mutate((jobs) => void jobs.push(job));
    const seen = await Promise.all(
      Array.from({ length: 50 }, () =>
        store.mutate((jobs) => {
          const j = jobs[0]!;
          jobs[0] = { ...j, attempts: j.attempts + 1 };
          return j.attempts;
        }),
      ),
    );
    // Each change saw the one before it.
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const [after] = await store.list();
    expect(after!.attempts).toBe(50);
  });

  it('list() waits for the changes already asked for', async () => {
    const store = new JobStore(memoryDatabase(), () => true);
    const pending = store.mutate((jobs) => void jobs.push(storedJob()));
    const listed = await store.list();
    expect(listed).toHaveLength(1);
    await pending;
  });

  it('a change that throws rejects with its error, stores nothing, and does not block the next one', async () => {
    const db = memoryDatabase();
    const store = new JobStore(db, () => true);
    const boom = new Error('boom');
    const failing = store.mutate((jobs) => {
      jobs.push(storedJob());
      throw boom;
    });
    const next = store.mutate((jobs) => {
      jobs.push(storedJob({ id: 'after' }));
      return jobs.length;
    });
    await expect(failing).rejects.toBe(boom);
    expect(await next).toBe(1);
    expect((await store.list()).map((j) => j.id)).toEqual(['after']);
  });

  it('once mayWrite() turns false, a change rejects with QueueStoppedError and stores nothing', async () => {
    const db = memoryDatabase();
    let mayWrite = true;
    const store = new JobStore(db, () => mayWrite);
    const kept = storedJob();
    await store.mutate((jobs) => void jobs.push(kept));
    mayWrite = false;
    let ran = false;
    const write = store.mutate((jobs) => {
      ran = true;
      jobs.push(storedJob());
      jobs[0] = { ...jobs[0]!, status: 'failed' };
    });
    await expect(write).rejects.toBeInstanceOf(QueueStoppedError);
    await expect(write).rejects.toMatchObject({ name: 'QueueStoppedError', message: 'the upload queue was stopped' });
    expect(ran).toBe(true); // the check is at the write, after the change ran
    expect(await store.list()).toEqual([kept]);
    expect(await rawStored(db)).toEqual([kept]);
    // A later store (the next queue) writes again.
    await new JobStore(db, () => true).mutate((jobs) => void jobs.push(storedJob({ id: 'next' })));
    expect((await store.list()).map((j) => j.id)).toEqual([kept.id, 'next']);
  });

  it('a stop between queued changes: the ones already written stay, the rest are refused', async () => {
    const db = memoryDatabase();
    let mayWrite = true;
    const store = new JobStore(db, () => mayWrite);
    const first = store.mutate((jobs) => void jobs.push(storedJob({ id: 'first' })));
    const second = store.mutate((jobs) => {
      mayWrite = false; // stop() called while this change waited its turn
      jobs.push(storedJob({ id: 'second' }));
    });
    const third = store.mutate((jobs) => void jobs.push(storedJob({ id: 'third' })));
    await first;
    await expect(second).rejects.toBeInstanceOf(QueueStoppedError);
    await expect(third).rejects.toBeInstanceOf(QueueStoppedError);
    expect((await store.list()).map((j) => j.id)).toEqual(['first']);
  });

  describe('what it cannot read is ignored, not a crash', () => {
    for (const [label, value] of [
      ['an object', { jobs: [] }],
      ['a string', 'garbage'],
      ['a number', 42],
      ['null', null],
      ['true', true],
    ] as const) {
      it(`a stored value that is ${label}: no jobs, and the next change replaces it`, async () => {
        const db = memoryDatabase();
        await db.localStorage.set(JOBS_STORAGE_KEY, value);
        const store = new JobStore(db, () => true);
        expect(await store.list()).toEqual([]);
        const job = storedJob();
        await store.mutate((jobs) => void jobs.push(job));
        expect(await rawStored(db)).toEqual([job]);
      });
    }

    it('entries that are not jobs, or have an unknown status or kind, are dropped; valid ones kept', async () => {
      const db = memoryDatabase();
      const good = storedJob();
      const alsoGood = storedJob({ status: 'uploaded', kind: 'image' });
      const { status: _s, ...noStatus } = storedJob();
      const { countedFailures: _c, ...noCounted } = storedJob();
      const { uploadId: _u, ...noUploadId } = storedJob();
      const { uri: _r, ...noUri } = storedJob();
      await db.localStorage.set(JOBS_STORAGE_KEY, [
        null,
        42,
        'job',
        [],
        {},
        good,
        storedJob({ status: 'cancelled' as UploadJobStatus }),
        storedJob({ kind: 'gpx' as 'fit' }),
        storedJob({ attempts: '1' as unknown as number }),
        storedJob({ id: 7 as unknown as string }),
        noStatus,
        noCounted,
        noUploadId,
        noUri,
        alsoGood,
      ]);
      const store = new JobStore(db, () => true);
      expect(await store.list()).toEqual([good, alsoGood]);
      // A change rewrites the value with the readable jobs only.
      await store.mutate(() => undefined);
      expect(await rawStored(db)).toEqual([good, alsoGood]);
    });

    it('an entry missing any one field of a stored job (or holding the wrong type in it) is dropped', async () => {
      // Every field the queue reads: a job lacking one cannot be run, listed or pruned correctly
      // (e.g. a pending job without a numeric `nextAttemptAt` is never due yet makes the timer
      // fire at once, forever; without `updatedAt` pruning order is undefined).
      const template = storedJob({ activityId: 'act_1', error: 'x', nextAttemptAt: 5, sizeBytes: 3 });
      const wrong: Record<keyof StoredJob, unknown> = {
        id: 1,
        uri: null,
        kind: 'gpx',
        contentType: 5,
        activityId: 5,
        status: 'done',
        attempts: '1',
        uploadId: null,
        error: 5,
        nextAttemptAt: 'soon',
        sizeBytes: '3',
        createdAt: 'yesterday',
        updatedAt: null,
        countedFailures: '0',
        consecutiveFailures: -1,
      };
      const accepted: string[] = [];
      for (const field of Object.keys(wrong) as (keyof StoredJob)[]) {
        for (const variant of ['missing', 'wrong type'] as const) {
          const db = memoryDatabase();
          const entry: Record<string, unknown> = { ...template };
          if (variant === 'missing') delete entry[field];
          else entry[field] = wrong[field];
          await db.localStorage.set(JOBS_STORAGE_KEY, [entry]);
          if ((await new JobStore(db, () => true).list()).length > 0) accepted.push(`${field} ${variant}`);
        }
      }
      expect(accepted, 'entries read as jobs although they are not').toEqual([]);
    });
  });

  describe('pruning', () => {
    it(`keeps the newest ${KEEP_UPLOADED_JOBS} uploaded jobs and forgets older ones, oldest first; pending, uploading and failed jobs are never pruned`, async () => {
      expect(KEEP_UPLOADED_JOBS).toBe(200);
      const db = memoryDatabase();
      const store = new JobStore(db, () => true);
      const extra = 5;
      // Uploaded jobs in shuffled updatedAt order, so "oldest" cannot mean "first in the list".
      const uploaded = Array.from({ length: KEEP_UPLOADED_JOBS + extra }, (_, i) => storedJob({ id: `up${i}`, status: 'uploaded', updatedAt: 10_000 + ((i * 37) % (KEEP_UPLOADED_JOBS + extra)) }));
      // Unfinished and failed jobs, older than every uploaded one.
      const others = [
        storedJob({ id: 'pending-old', status: 'pending', updatedAt: 1 }),
        storedJob({ id: 'uploading-old', status: 'uploading', updatedAt: 2 }),
        storedJob({ id: 'failed-old', status: 'failed', updatedAt: 3 }),
      ];
      await store.mutate((jobs) => void jobs.push(others[0]!, ...uploaded.slice(0, 100), others[1]!, ...uploaded.slice(100), others[2]!));
      const listed = await store.list();
      const oldest = [...uploaded].sort((a, b) => a.updatedAt - b.updatedAt).slice(0, extra).map((j) => j.id);
      expect(listed).toHaveLength(KEEP_UPLOADED_JOBS + others.length);
      expect(listed.filter((j) => j.status === 'uploaded')).toHaveLength(KEEP_UPLOADED_JOBS);
      for (const id of oldest) expect(listed.some((j) => j.id === id), id).toBe(false);
      for (const o of others) expect(listed).toContainEqual(o);
      // Order of what is kept is unchanged.
      const keptIds = [others[0]!, ...uploaded.slice(0, 100), others[1]!, ...uploaded.slice(100), others[2]!].map((j) => j.id).filter((id) => !oldest.includes(id));
      expect(listed.map((j) => j.id)).toEqual(keptIds);
    });

    it('exactly KEEP_UPLOADED_JOBS uploaded jobs: nothing pruned; one more: the oldest goes', async () => {
      const db = memoryDatabase();
      const store = new JobStore(db, () => true);
      await store.mutate((jobs) => void jobs.push(...Array.from({ length: KEEP_UPLOADED_JOBS }, (_, i) => storedJob({ id: `u${i}`, status: 'uploaded', updatedAt: 100 + i }))));
      expect(await store.list()).toHaveLength(KEEP_UPLOADED_JOBS);
      await store.mutate((jobs) => void jobs.push(storedJob({ id: 'newest', status: 'uploaded', updatedAt: 1_000_000 })));
      const ids = (await store.list()).map((j) => j.id);
      expect(ids).toHaveLength(KEEP_UPLOADED_JOBS);
      expect(ids).not.toContain('u0');
      expect(ids).toContain('u1');
      expect(ids.at(-1)).toBe('newest');
    });

    it('never prunes unfinished or failed jobs, however many', async () => {
      const db = memoryDatabase();
      const store = new JobStore(db, () => true);
      const statuses: UploadJobStatus[] = ['pending', 'uploading', 'failed'];
      const many = Array.from({ length: KEEP_UPLOADED_JOBS + 50 }, (_, i) => storedJob({ id: `j${i}`, status: statuses[i % 3]!, updatedAt: i }));
      await store.mutate((jobs) => void jobs.push(...many));
      expect(await store.list()).toEqual(many);
    });
  });
});
