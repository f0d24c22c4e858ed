/**
 * What exact pulls cost (docs/sync-protocol.md, P5), on Amazon DynamoDB Local (its own capacity
 * accounting and GSIs), through the core with `DynamoSyncStore`, beside the raw Query of the same
 * data in the same run:
 * - per push: the journal write, against everything else the push writes;
 * - two devices, one edit: what each device's next pull carries and reads, inside the index-lag
 *   window (journals read) and after it (index only);
 * - first sync of N records and a delta pull, against the raw Query of the same index range.
 *
 *   npm run bench:exact-pulls [-- N=1000]
 *   BENCH_RTT_MS=4 npm run bench:exact-pulls   # every DynamoDB call also waits 4 ms, as a network round trip would
 *
 * Locally a DynamoDB call costs CPU on both sides of a loopback socket, and the engine serves
 * concurrent calls mostly one after another, so reads sent together take about as long as the
 * same reads one after another. In AWS a call is mostly network and the service serves calls in
 * parallel. `BENCH_RTT_MS` adds that round trip to every call (the server's and the baselines'
 * alike): reads that overlap then wait for it once, reads in sequence once each.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../lambdas/adapters/dynamo/client.js';
import { CLOCK_SK, LIVE_AT_ATTRIBUTE, LIVE_INDEX, UPDATED_AT_INDEX, userPk } from '../lambdas/adapters/dynamo/keys.js';
import { DynamoSyncStore } from '../lambdas/adapters/dynamo/sync-store.js';
import { hmacSigner } from '../lambdas/adapters/hmac-signer.js';
import { loadConfig } from '../lambdas/config.js';
import { resolveConflict } from '../lambdas/core/conflict.js';
import { parsePushBody } from '../lambdas/core/contract.js';
import { pullChanges } from '../lambdas/core/pull.js';
import { pushChanges } from '../lambdas/core/push.js';
import { ensureSyncTable, startDynamoDbLocal } from '../local/engines.js';
import { makeActivities, pushBody } from './data.js';
import { formatCalls, meter, modelRoundTrip, type MeterReading } from './meter.js';

const n = Number(process.argv[2] ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const RTT_MS = Number(process.env.BENCH_RTT_MS ?? 0);
if (!Number.isFinite(RTT_MS) || RTT_MS < 0) throw new Error(`BENCH_RTT_MS must be a number of ms ≥ 0, got ${process.env.BENCH_RTT_MS}`);

async function main(): Promise<void> {
  const engine = await startDynamoDbLocal();
  const tableName = `exact-${Date.now()}`;
  const admin = new DynamoDBClient({ endpoint: engine.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await ensureSyncTable(admin, tableName);
  admin.destroy();
  const config = loadConfig({ TABLE_NAME: tableName, DYNAMODB_ENDPOINT: engine.endpoint });
  const db = createDocumentClient({ endpoint: engine.endpoint });
  const m = meter(db);
  // Capacity of the journal items alone (sk J#…), beside the meter's totals.
  let journalCu = 0;
  db.middlewareStack.add(
    (next) => async (args) => {
      // Inside the meter (it asks for ConsumedCapacity); keys in document or wire form.
      const skOf = (item: { sk?: unknown } | undefined) => String((item?.sk as { S?: string } | undefined)?.S ?? item?.sk ?? '');
      const input = args.input as { Item?: { sk?: unknown }; RequestItems?: Record<string, { PutRequest?: { Item?: { sk?: unknown } } }[]> };
      const result = await next(args);
      const isJournal = skOf(input.Item).startsWith('J#') || Object.values(input.RequestItems ?? {}).some((reqs) => Array.isArray(reqs) && reqs.some((r) => skOf(r.PutRequest?.Item).startsWith('J#')));
      if (isJournal) {
        const cc = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }).ConsumedCapacity;
        journalCu += Array.isArray(cc) ? cc.reduce((s, c) => s + (c.CapacityUnits ?? 0), 0) : (cc?.CapacityUnits ?? 0);
      }
      return result;
    },
    { step: 'initialize', priority: 'low', name: 'journalCapacity' },
  );
  modelRoundTrip(db, () => RTT_MS);
  const store = new DynamoSyncStore(db, tableName);
  let virtual = 0;
  const now = () => Date.now() + virtual;
  const pushDeps = { store, policy: resolveConflict, now, config: config.push };
  const pullDeps = { store, signer: hmacSigner('b'.repeat(32)), now, config: config.pull };
  const lagMs = config.pull.indexLagMs;
  const pull = (user: string, last: number | null, deviceId?: string) =>
    pullChanges(user, { lastPulledAt: last, schemaVersion: 2, migration: null, ...(deviceId ? { deviceId } : {}) }, pullDeps);
  const count = (r: Awaited<ReturnType<typeof pull>>) => Object.values(r.changes).reduce((s, t) => s + t.updated.length + t.deleted.length, 0);
  const metered = async <T>(fn: () => Promise<T>): Promise<[T, MeterReading, number]> => {
    m.reset();
    const t0 = performance.now();
    const out = await fn();
    return [out, m.read(), performance.now() - t0];
  };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const rawQuery = async (user: string, after: number, live: boolean) => {
    let items = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const res = await db.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: live ? LIVE_INDEX : UPDATED_AT_INDEX,
          KeyConditionExpression: '#pk = :pk AND #s > :after',
          ExpressionAttributeNames: { '#pk': 'pk', '#s': live ? LIVE_AT_ATTRIBUTE : 'updated_at' },
          ExpressionAttributeValues: { ':pk': userPk(user), ':after': after },
          ExclusiveStartKey: start,
          Limit: config.pull.queryLimit,
        }),
      );
      items += res.Items?.length ?? 0;
      start = res.LastEvaluatedKey;
    } while (start);
    return items;
  };

  const out: string[] = [];
  out.push(`## Exact pulls (DynamoDB Local, core + DynamoSyncStore; INDEX_LAG_MS ${lagMs}; ${RTT_MS > 0 ? `a modelled network round trip of ${RTT_MS} ms added to every DynamoDB call; ` : ''}medians of ${RUNS})`, '');

  // ---- the journal's write cost per push ----
  out.push('| push of N created activities | push CU (all writes and reads) | of which the journal | journal CU/record | journal share | DynamoDB calls |', '|---:|---:|---:|---:|---:|---|');
  for (const size of [1, 10, 100, n]) {
    const user = `push-${size}`;
    const body = parsePushBody(JSON.parse(pushBody('activities', 'created', makeActivities(size, 7 + size).map((r) => ({ ...r, id: `${user}-${r.id}` })), null)));
    journalCu = 0;
    const [, reading] = await metered(() => pushChanges(user, body, pushDeps));
    out.push(`| ${size} | ${reading.totalCapacity.toFixed(1)} | ${journalCu.toFixed(1)} | ${(journalCu / size).toFixed(3)} | ${((100 * journalCu) / reading.totalCapacity).toFixed(1)} % | ${formatCalls(reading.calls)} |`);
  }
  out.push('');

  // ---- two devices, one edit ----
  const user = 'devices';
  const data = makeActivities(n, 99).map((r) => ({ ...r, id: `${user}-${r.id}` }));
  await pushChanges(user, parsePushBody(JSON.parse(pushBody('activities', 'created', data, null))), pushDeps);
  virtual += lagMs + 1_000;
  const phone0 = (await pull(user, null)).timestamp;
  const tablet0 = (await pull(user, null)).timestamp;
  out.push(
    '| step | pull | records carried | DynamoDB calls | CU | median ms | raw Query (same range): items, median ms | raw GetItem of the clock, then that Query: median ms | raw GetItem of the clock ‖ that Query: median ms |',
    '|---|---|---:|---|---:|---:|---|---|---|',
  );
  const rows: string[] = [];
  const measurePull = async (label: string, device: string, from: number, live = false, deviceId?: string) => {
    const ms: number[] = [];
    let last: [Awaited<ReturnType<typeof pull>>, MeterReading, number] | undefined;
    for (let i = 0; i < RUNS; i++) {
      last = await metered(() => pull(user, from, deviceId));
      ms.push(last[2]);
    }
    const rawMs: number[] = [];
    const floorMs: number[] = [];
    const parallelFloorMs: number[] = [];
    const readClock = () => db.send(new GetCommand({ TableName: tableName, Key: { pk: userPk(user), sk: CLOCK_SK }, ConsistentRead: true }));
    let rawItems = 0;
    for (let i = 0; i < RUNS; i++) {
      let t0 = performance.now();
      rawItems = await rawQuery(user, from, live);
      rawMs.push(performance.now() - t0);
      // An exact pull's own floor: it must read the clock item (consistently) to know what has
      // committed, before it bounds the Query, or while the Query runs.
      t0 = performance.now();
      await readClock();
      await rawQuery(user, from, live);
      floorMs.push(performance.now() - t0);
      t0 = performance.now();
      await Promise.all([readClock(), rawQuery(user, from, live)]);
      parallelFloorMs.push(performance.now() - t0);
    }
    const [r, reading] = last!;
    const ratio = (base: number[]) => `×${(median(ms) / median(base)).toFixed(2)}`;
    rows.push(
      `| ${label} | ${device} | ${count(r)} | ${formatCalls(reading.calls)} | ${reading.totalCapacity.toFixed(1)} | ${median(ms).toFixed(1)} | ${rawItems}, ${median(rawMs).toFixed(1)} ms (${ratio(rawMs)}) | ${median(floorMs).toFixed(1)} ms (${ratio(floorMs)}) | ${median(parallelFloorMs).toFixed(1)} ms (${ratio(parallelFloorMs)}) |`,
    );
    return r;
  };
  // The phone edits one record; both devices pull right away (inside the lag window) ...
  const edited = data[3]!;
  // The phone sends its device id (as the client module does): its own pull leaves out its write (P12).
  const PHONE = 'bench-phone-0001';
  const editBody = JSON.parse(pushBody('activities', 'updated', [{ ...edited, title: 'edited', _status: 'updated', _changed: 'title' }], phone0)) as Record<string, unknown>;
  await pushChanges(user, parsePushBody({ ...editBody, device_id: PHONE }), pushDeps);
  const t1 = await measurePull('one edit, pulled at once (within the lag window)', 'tablet', tablet0);
  const own = await measurePull('one edit, pulled at once (within the lag window)', 'phone (its own write, `device_id`)', phone0, false, PHONE);
  await measurePull('one edit, pulled at once (within the lag window)', 'phone as a stock client (no `device_id`: echo)', phone0);
  if (count(t1) !== 1 || count(own) !== 0) throw new Error(`two devices, one edit: the tablet's pull carried ${count(t1)} records (expected 1), the phone's own ${count(own)} (expected 0)`);
  virtual += lagMs + 1_000;
  await measurePull('one edit, pulled after the window (index only)', 'tablet', tablet0);
  await measurePull('steady state, nothing new', 'tablet', t1.timestamp);
  out.push(...rows, '');

  // ---- first sync ----
  const first: number[] = [];
  let firstReading: MeterReading | undefined;
  let firstCount = 0;
  for (let i = 0; i < RUNS; i++) {
    const [pages, reading, ms] = await metered(async () => {
      const all = [];
      let cursor: string | undefined;
      do {
        const p = await pullChanges(user, { lastPulledAt: null, schemaVersion: 2, migration: null, cursor }, pullDeps);
        all.push(p);
        cursor = p.cursor;
      } while (cursor);
      return all;
    });
    first.push(ms);
    firstReading = reading;
    firstCount = pages.reduce((s, p) => s + count(p), 0);
  }
  const rawFirst: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await rawQuery(user, 0, true);
    rawFirst.push(performance.now() - t0);
  }
  out.push('| first sync | records | DynamoDB calls | CU | median ms | raw Query of the live index | ratio |', '|---|---:|---|---:|---:|---:|---:|');
  out.push(`| N = ${n}, after the window | ${firstCount} | ${formatCalls(firstReading!.calls)} | ${firstReading!.totalCapacity.toFixed(1)} | ${median(first).toFixed(1)} | ${median(rawFirst).toFixed(1)} | ×${(median(first) / median(rawFirst)).toFixed(2)} |`);
  out.push('');
  console.log(out.join('\n'));
  await engine.close();
  process.exit(0);
}

void main();
