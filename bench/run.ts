/**
 * `npm run bench`: sync performance against an in-memory dynalite, each server path beside the
 * raw DynamoDB operation on the same data in the same run. Prints markdown to stdout (progress
 * goes to stderr). Timings are printed, never asserted; structural checks (a one-change delta
 * pull is one Query page, pages stay within the byte budget, a pull returns every record) make
 * the process exit non-zero. See bench/README.md for how to read the table.
 */
// The local stack's metrics would print one EMF line per request to stdout.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

import { formatBundleReport, measureBundleReport } from './bundles.js';
import { fitTable, measureFit } from './fit.js';
import { measureUploadQueue, uploadQueueFailures, uploadQueueTable } from './upload-queue.js';
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { createDocumentClient } from '../lambdas/adapters/dynamo/client.js';
import { DynamoSyncStore } from '../lambdas/adapters/dynamo/sync-store.js';
import { parsePushBody } from '../lambdas/core/contract.js';
import type { Runtime } from '../lambdas/runtime.js';
import { startLocalStack, type LocalStack } from '../local/server.js';
import { makeActivities, pushBody, splitPushBodies, storeItem, type ActivityRaw } from './data.js';
import { startEngine } from './engine.js';
import { formatCalls, meter, modelRoundTrip, type MeterReading } from './meter.js';
import { CorePath, HttpFloor, HttpPath, RawPath, type PullRun, type Timing } from './paths.js';
import { floorReport, measurePushFloor, type FloorResult } from './push-floor.js';
import { dynamoDbLocalUnavailable, startDynamoDbLocal } from '../local/engines.js';
import { API_HANDLER_TIMEOUT_S, SYNC_PUSH_MEMORY_MB } from '../lib/handler-sizing.js';

const SIZES = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map((s) => Number(s.trim()));
/** A client splits pushes into bodies of at most this many bytes. */
const PUSH_BODY_MAX = 3_000_000;
/** The large-account first sync must span at least this many pages. */
const MIN_PAGES = 5;
const PULL_REPS = 3;
const DELTA_REPS = 5;
/** Records pushed and pulled once through every path before measuring (JIT, pools, engine). */
const WARMUP_RECORDS = 1_000;
/** Server config variables a bench run may override from its environment (e.g. INDEX_LAG_MS=0). */
const CONFIG_VARS = ['PULL_PAGE_BYTES', 'PULL_QUERY_LIMIT', 'INDEX_LAG_MS', 'MAX_PUSH_MS', 'INFLIGHT_GRACE_MS', 'PUSH_WRITE_CONCURRENCY', 'CURSOR_TTL_MS'];
const configEnv = Object.fromEntries(CONFIG_VARS.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k] as string]));
const pushReps = (n: number) => (n <= 2_000 ? 3 : 1);

const T0 = performance.now();
const log = (msg: string) => process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(1)}s] ${msg}\n`);
const failures: string[] = [];
const fail = (msg: string) => {
  if (failures.includes(msg)) return;
  failures.push(msg);
  log(`FAIL: ${msg}`);
};

// ---------- small helpers ----------

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtInt = (n: number) => n.toLocaleString('en-US');
const fmtBytes = (b: number) => (b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : `${(b / 1e3).toFixed(1)} kB`);
const fmtCu = (cu: number) => (Number.isInteger(cu) ? fmtInt(cu) : cu.toFixed(1));
const fmtPerRec = (cu: number, n: number) => (n > 0 ? (cu / n).toFixed(2) : '–');

interface Row {
  n: number;
  op: string;
  path: string;
  records: string;
  runs: Timing[];
  baseMs?: number;
  calls?: string;
  cu?: string;
  cuPerRecord?: string;
  notes?: string;
}
const rows: Row[] = [];

interface PagedRow {
  n: number;
  budget: number;
  pages: number;
  totalBytes: number;
  maxPage: number;
  runs: Timing[];
  records: number;
}
const pagedRows: PagedRow[] = [];

function checkComplete(what: string, run: PullRun, expected: readonly string[]) {
  const got = new Set(run.ids);
  if (run.created > 0) fail(`${what}: ${run.created} records came in 'created' (sendCreatedAsUpdated expects none)`);
  if (got.size !== run.ids.length) fail(`${what}: ${run.ids.length - got.size} ids came more than once`);
  const missing = expected.filter((id) => !got.has(id));
  if (missing.length > 0 || got.size !== expected.length) fail(`${what}: ${got.size} ids, expected ${expected.length} (${missing.length} missing)`);
}

function checkBudget(what: string, run: PullRun, budget: number) {
  const max = Math.max(...run.pageBytes);
  if (max > budget) fail(`${what}: a page of ${max} bytes exceeds the ${budget}-byte budget`);
}

// ---------- setup ----------

const engine = await startEngine();
log(`engine: ${engine.where} at ${engine.endpoint}`);
const serverDb = createDocumentClient({ endpoint: engine.endpoint });
const serverMeter = meter(serverDb);
const rawDb = createDocumentClient({ endpoint: engine.endpoint });
const rawMeter = meter(rawDb);
const meteredStore = (rt: Runtime): Runtime => ({ ...rt, store: new DynamoSyncStore(serverDb, rt.config.tableName) });
/**
 * A network round trip added to every DynamoDB call, the server's and the baselines' alike, while
 * set: the engine here answers in a fraction of a millisecond and serves calls one at a time, where
 * DynamoDB is a few ms away and serves them in parallel (the modelled-round-trip delta rows).
 */
let modelledRttMs = 0;
const DELTA_RTT_MS = Number(process.env.BENCH_RTT_MS ?? 4);
if (!Number.isFinite(DELTA_RTT_MS) || DELTA_RTT_MS < 0) throw new Error(`BENCH_RTT_MS must be a number of ms ≥ 0, got ${process.env.BENCH_RTT_MS}`);
const RTT_REPS = 15;
for (const db of [serverDb, rawDb]) modelRoundTrip(db, () => modelledRttMs);

const loadBefore = loadavg()[0] as number;
const stacks: LocalStack[] = [];
const closers: (() => Promise<void>)[] = [];
try {
  const stack = await startLocalStack({ dynamodbEndpoint: engine.endpoint, logLevel: 'SILENT', runtime: meteredStore, env: configEnv });
  stacks.push(stack);
  const rt = stack.runtime;
  const cfg = rt.config;
  const core = new CorePath(rt);
  const raw = new RawPath(rawDb, stack.tableName);
  const floor = await HttpFloor.start(raw);
  closers.push(() => floor.close());
  const http = async (user: string) => new HttpPath(stack.url, await stack.token(user));

  /** Runs `fn` with the server's meter reset; returns its result and what the server called. */
  const serverMetered = async <T>(fn: () => Promise<T>): Promise<[T, MeterReading]> => {
    serverMeter.reset();
    const v = await fn();
    return [v, serverMeter.read()];
  };
  const rawMetered = async <T>(fn: () => Promise<T>): Promise<[T, MeterReading]> => {
    rawMeter.reset();
    const v = await fn();
    return [v, rawMeter.read()];
  };

  // ---------- warm-up: JIT, connection pools, first-call costs ----------
  {
    const warm = makeActivities(WARMUP_RECORDS, 7);
    const api = await http('bench-warmup-http');
    const first = await api.pull(null);
    await api.pushAll(splitPushBodies(warm, first.timestamp, PUSH_BODY_MAX));
    await api.pull(null);
    const c0 = await core.pull('bench-warmup-core', null);
    const warmCore = warm.map((r) => ({ ...r, id: `${r.id}c` })); // ids are global: the core user needs its own
    await core.pushAll('bench-warmup-core', [parsePushBody(JSON.parse(pushBody('activities', 'created', warmCore, c0.timestamp)))]);
    await core.pull('bench-warmup-core', null);
    await raw.batchWrite(warm.map((r) => storeItem('bench-warmup-raw', r, Date.now())), cfg.push.writeConcurrency);
    await raw.query('bench-warmup-raw', 1, Date.now() + 1000, cfg.pull.queryLimit);
    log('warm-up done');
  }

  for (const n of SIZES) {
    // Record ids are global (one owner each, docs/data-model.md): each user gets its own copy of the
    // data set with a suffix on every id. `records` is the copy of the user the pull rows read.
    const base = makeActivities(n, 1000 + n);
    const copyFor = (tag: string): ActivityRaw[] => base.map((r) => ({ ...r, id: `${r.id}${tag}` }));
    const records = copyFor('h0');
    const ids = records.map((r) => r.id);
    const avgRawBytes = records.reduce((s, r) => s + Buffer.byteLength(JSON.stringify(r)), 0) / n;
    const polyBytes = records.filter((r) => r.route_polyline).map((r) => (r.route_polyline as string).length);
    log(`N=${n}: ${fmtBytes(avgRawBytes * n)} of raws, ${fmtInt(Math.round(avgRawBytes))} B/raw, polylines ${Math.min(...polyBytes)}–${Math.max(...polyBytes)} B`);

    // ---------- push of N created records ----------
    // Each rep writes to fresh users; the order of the three paths rotates between reps.
    const reps = pushReps(n);
    const pushRuns: Record<'http' | 'core' | 'raw', Timing[]> = { http: [], core: [], raw: [] };
    const readings: Partial<Record<'http' | 'core' | 'raw', MeterReading>> = {};
    let bodiesCount = 0;
    let dataUser = '';
    let dataPushedAt = 0;
    for (let rep = 0; rep < reps; rep++) {
      const users = { http: `bench-${n}-http-${rep}`, core: `bench-${n}-core-${rep}`, raw: `bench-${n}-raw-${rep}` };
      const order = (['raw', 'core', 'http'] as const).map((_, i, a) => a[(i + rep) % a.length] as 'raw' | 'core' | 'http');
      for (const path of order) {
        if (path === 'raw') {
          const items = copyFor(`r${rep}`).map((r) => storeItem(users.raw, r, Date.now()));
          const [res, reading] = await rawMetered(() => raw.batchWrite(items, cfg.push.writeConcurrency));
          pushRuns.raw.push(res);
          readings.raw = reading;
        } else if (path === 'core') {
          // A client pulls before it pushes; its push carries that pull's timestamp.
          const prev = await core.pull(users.core, null);
          const requests = splitPushBodies(copyFor(`c${rep}`), prev.timestamp, PUSH_BODY_MAX).map((b) => parsePushBody(JSON.parse(b)));
          const [res, reading] = await serverMetered(() => core.pushAll(users.core, requests));
          pushRuns.core.push(res);
          readings.core = reading;
        } else {
          const api = await http(users.http);
          const prev = await api.pull(null);
          const bodies = splitPushBodies(copyFor(`h${rep}`), prev.timestamp, PUSH_BODY_MAX);
          bodiesCount = bodies.length;
          const [res, reading] = await serverMetered(() => api.pushAll(bodies));
          pushRuns.http.push(res);
          readings.http = reading;
          if (rep === 0) dataPushedAt = Date.now();
        }
      }
      if (rep === 0) dataUser = users.http;
      const last = (p: 'raw' | 'core' | 'http') => fmtMs((pushRuns[p].at(-1) as Timing).ms);
      log(`N=${n} push rep ${rep + 1}/${reps} (${order.join(', ')}): raw ${last('raw')} ms, core ${last('core')} ms, http ${last('http')} ms (${bodiesCount} bodies)`);
    }
    const rawPushMs = median(pushRuns.raw.map((t) => t.ms));
    const w = (r: MeterReading | undefined) => r ?? { calls: {}, capacity: {}, totalCapacity: 0, totalCalls: 0 };
    const meterCols = (r: MeterReading | undefined, records: number) => ({
      calls: formatCalls(w(r).calls),
      cu: fmtCu(w(r).totalCapacity),
      cuPerRecord: fmtPerRec(w(r).totalCapacity, records),
    });
    rows.push(
      { n, op: 'push N created', path: 'HTTP (local stack)', records: fmtInt(n), runs: pushRuns.http, baseMs: rawPushMs, ...meterCols(readings.http, n), notes: `${bodiesCount} request(s) ≤ ${fmtBytes(PUSH_BODY_MAX)}, ${cfg.push.writeConcurrency} writes in flight` },
      { n, op: 'push N created', path: 'core pushChanges', records: fmtInt(n), runs: pushRuns.core, baseMs: rawPushMs, ...meterCols(readings.core, n), notes: `same ${bodiesCount} chunk(s), one pushChanges each` },
      { n, op: 'push N created', path: 'raw BatchWriteItem (baseline)', records: fmtInt(n), runs: pushRuns.raw, ...meterCols(readings.raw, n), notes: `25 items/batch, ${cfg.push.writeConcurrency} batches in flight` },
    );

    // ---------- first sync: pull all N ----------
    const api = await http(dataUser);
    const window = cfg.pull.indexLagMs;
    // Within the lag window of the bulk load (another device signing in at once), the pull cannot
    // trust the index for the load's records: it reads them through the push's journals. One run
    // of each path, if the window is still open; the rows below measure the steady state after it.
    const inWindow: { path: string; run: PullRun; reading: MeterReading }[] = [];
    for (const path of ['HTTP (local stack)', 'core pullChanges'] as const) {
      if (Date.now() - dataPushedAt >= window) break;
      const [run, reading] = await serverMetered(() => (path === 'core pullChanges' ? core.pull(dataUser, null) : api.pull(null)));
      checkComplete(`N=${n} ${path} first sync within the lag window`, run, ids);
      inWindow.push({ path, run, reading });
      log(`N=${n} first sync within the lag window, ${path}: ${fmtMs(run.ms)} ms, ${formatCalls(reading.calls)}`);
    }
    const settled = dataPushedAt + window + 100 - Date.now();
    if (settled > 0) {
      log(`N=${n}: waiting ${settled} ms so that the bulk load is older than the ${window} ms lag window`);
      await sleep(settled);
    }
    const fsHttp: PullRun[] = [];
    const fsCore: PullRun[] = [];
    const fsRaw: Timing[] = [];
    const fsFloor: Timing[] = [];
    let floorPages = 0;
    let fsHttpReading: MeterReading | undefined;
    let fsRawReading: MeterReading | undefined;
    let rawPages = 0;
    for (let rep = 0; rep < PULL_REPS; rep++) {
      const [h, hr] = await serverMetered(() => api.pull(null));
      fsHttp.push(h);
      fsHttpReading = hr;
      checkComplete(`N=${n} HTTP first sync`, h, ids);
      checkBudget(`N=${n} HTTP first sync`, h, cfg.pull.pageBytes);

      const c = await core.pull(dataUser, null);
      fsCore.push(c);
      checkComplete(`N=${n} core first sync`, c, ids);

      // The same index range the pull reads: (0, upTo], upTo = the clock the pull pinned.
      const [r, rr] = await rawMetered(() => raw.query(dataUser, 1, Number.MAX_SAFE_INTEGER, cfg.pull.queryLimit));
      fsRaw.push(r);
      fsRawReading = rr;
      rawPages = r.pages;
      if (r.items !== n) fail(`N=${n} raw Query returned ${r.items} items, expected ${n}`);
      const f = await floor.pull(dataUser, 1, Number.MAX_SAFE_INTEGER, cfg.pull.queryLimit);
      if (f.items !== n) fail(`N=${n} HTTP floor returned ${f.items} items, expected ${n}`);
      fsFloor.push(f);
      floorPages = f.pages;
      log(`N=${n} first sync rep ${rep + 1}/${PULL_REPS}: http ${fmtMs(h.ms)} ms (${h.pages} pages), core ${fmtMs(c.ms)} ms, raw ${fmtMs(r.ms)} ms`);
    }
    const rawFsMs = median(fsRaw.map((t) => t.ms));
    const floorFsMs = median(fsFloor.map((t) => t.ms));
    const ofFloor = (runs: Timing[], floorMs: number) => `×${(median(runs.map((t) => t.ms)) / floorMs).toFixed(2)} of the HTTP floor`;
    const h0 = fsHttp[0] as PullRun;
    const c0 = fsCore[0] as PullRun;
    const httpBytes = h0.pageBytes.reduce((s, b) => s + b, 0);
    rows.push(
      { n, op: 'first-sync pull', path: 'HTTP (local stack)', records: fmtInt(h0.ids.length), runs: fsHttp, baseMs: rawFsMs, ...meterCols(fsHttpReading, n), notes: `${h0.pages} HTTP page(s), ${fmtBytes(httpBytes)}; ${ofFloor(fsHttp, floorFsMs)}` },
      { n, op: 'first-sync pull', path: 'core pullChanges', records: fmtInt(c0.ids.length), runs: fsCore, baseMs: rawFsMs, calls: `Query×${c0.roundTrips}`, cu: fmtCu(c0.queryCapacity), cuPerRecord: fmtPerRec(c0.queryCapacity, n), notes: `${c0.pages} page(s); CU from the core's Query stats` },
      { n, op: 'first-sync pull', path: 'raw Query (baseline)', records: fmtInt(n), runs: fsRaw, ...meterCols(fsRawReading, n), notes: `Limit ${cfg.pull.queryLimit}, ${rawPages} page(s) by LastEvaluatedKey` },
      { n, op: 'first-sync pull', path: 'raw Query over HTTP (HTTP floor)', records: fmtInt(n), runs: fsFloor, baseMs: rawFsMs, notes: `the same Query pages, one bare HTTP response each (${floorPages})` },
    );
    for (const w of inWindow) {
      const pages = w.path === 'core pullChanges' ? `${w.run.pages} page(s)` : `${w.run.pages} HTTP page(s)`;
      rows.push({ n, op: 'first-sync pull within the lag window of the bulk load', path: w.path, records: fmtInt(w.run.ids.length), runs: [w.run], baseMs: rawFsMs, ...meterCols(w.reading, n), notes: `${pages}; one run, the load's records through its journals; baseline: the raw Query above` });
    }
    if (h0.pages >= MIN_PAGES) {
      pagedRows.push({ n, budget: cfg.pull.pageBytes, pages: h0.pages, totalBytes: httpBytes, maxPage: Math.max(...h0.pageBytes), runs: fsHttp, records: h0.ids.length });
    } else {
      // Several pages: a second stack on the same table with a budget of ~1/6 of this account.
      const budget = Math.max(1_000, Math.floor(httpBytes / (MIN_PAGES + 1)));
      const small = await startLocalStack({
        dynamodbEndpoint: engine.endpoint,
        s3Endpoint: stack.s3Endpoint,
        logLevel: 'SILENT',
        runtime: meteredStore,
        env: { ...configEnv, PULL_PAGE_BYTES: String(budget) },
      });
      stacks.push(small);
      const smallApi = new HttpPath(small.url, await small.token(dataUser));
      const runs: PullRun[] = [];
      for (let rep = 0; rep < PULL_REPS; rep++) {
        const r = await smallApi.pull(null);
        checkComplete(`N=${n} paged first sync`, r, ids);
        checkBudget(`N=${n} paged first sync`, r, budget);
        runs.push(r);
      }
      const p0 = runs[0] as PullRun;
      if (p0.pages < MIN_PAGES) fail(`N=${n} paged first sync took ${p0.pages} pages, expected ≥ ${MIN_PAGES}`);
      pagedRows.push({ n, budget, pages: p0.pages, totalBytes: p0.pageBytes.reduce((s, b) => s + b, 0), maxPage: Math.max(...p0.pageBytes), runs, records: p0.ids.length });
      log(`N=${n} paged first sync @ ${budget} B: ${p0.pages} pages, ${fmtMs(median(runs.map((r) => r.ms)))} ms`);
    }

    // ---------- delta pulls ----------
    const edit = (raw: ActivityRaw, column: 'title' | 'notes', value: string, lastPulledAt: number) =>
      pushBody('activities', 'updated', [{ ...raw, [column]: value, _status: 'updated', _changed: column }], lastPulledAt);

    /** Delta pulls by HTTP and core from `prev`, beside the raw Query of the same index range. */
    const deltaRows = async (op: string, prev: number, mustBeOnePage: boolean, newIds: string[]) => {
      const httpRuns: { run: PullRun; reading: MeterReading }[] = [];
      const coreRuns: PullRun[] = [];
      const rawRuns: Timing[] = [];
      const floorRuns: Timing[] = [];
      let rawItems = 0;
      let rawReading: MeterReading | undefined;
      for (let rep = 0; rep < DELTA_REPS; rep++) {
        const [h, hr] = await serverMetered(() => api.pull(prev));
        httpRuns.push({ run: h, reading: hr });
        const c = await core.pull(dataUser, prev);
        coreRuns.push(c);
        const [r, rr] = await rawMetered(() => raw.query(dataUser, prev + 1, Number.MAX_SAFE_INTEGER, cfg.pull.queryLimit));
        rawRuns.push(r);
        rawItems = r.items;
        rawReading = rr;
        floorRuns.push(await floor.pull(dataUser, prev + 1, Number.MAX_SAFE_INTEGER, cfg.pull.queryLimit));
        for (const id of newIds) if (!h.ids.includes(id) || !c.ids.includes(id)) fail(`N=${n} ${op}: the new change ${id} is missing`);
        // Exact pulls (P5): nothing the device's previous pull delivered comes again.
        if (h.ids.length !== newIds.length || c.ids.length !== newIds.length) fail(`N=${n} ${op}: carried ${h.ids.length} (HTTP) / ${c.ids.length} (core) records, expected exactly the ${newIds.length} new`);
        const httpQueries = hr.calls.Query ?? 0;
        if (mustBeOnePage && (httpQueries !== 1 || c.roundTrips !== 1)) {
          fail(`N=${n} ${op}: took ${httpQueries} Query page(s) over HTTP and ${c.roundTrips} in the core, expected exactly 1`);
        }
      }
      const h = (httpRuns[0] as { run: PullRun; reading: MeterReading });
      const c = coreRuns[0] as PullRun;
      const baseMs = median(rawRuns.map((t) => t.ms));
      const floorMs = median(floorRuns.map((t) => t.ms));
      const redelivered = h.run.ids.length - newIds.length;
      const returned = `${fmtInt(h.run.ids.length)} (${newIds.length} new + ${fmtInt(redelivered)} re-delivered)`;
      const onePage = (q: number) => (mustBeOnePage ? (q === 1 ? ' ✓ one page' : ' ✗ MORE THAN ONE PAGE') : q > 1 ? ' ⚠ not one page' : '');
      rows.push(
        { n, op, path: 'HTTP (local stack)', records: returned, runs: httpRuns.map((r) => r.run), baseMs, calls: formatCalls(h.reading.calls) + onePage(h.reading.calls.Query ?? 0), cu: fmtCu(h.reading.totalCapacity), cuPerRecord: fmtPerRec(h.reading.totalCapacity, h.run.ids.length), notes: `${h.run.pages} HTTP page(s), ${fmtBytes(h.run.pageBytes.reduce((s, b) => s + b, 0))}; ${ofFloor(httpRuns.map((r) => r.run), floorMs)}` },
        { n, op, path: 'core pullChanges', records: fmtInt(c.ids.length), runs: coreRuns, baseMs, calls: `Query×${c.roundTrips}` + onePage(c.roundTrips), cu: fmtCu(c.queryCapacity), cuPerRecord: fmtPerRec(c.queryCapacity, c.ids.length), notes: 'CU from the core\'s Query stats' },
        { n, op, path: 'raw Query (baseline)', records: fmtInt(rawItems), runs: rawRuns, ...meterCols(rawReading, rawItems), notes: 'updated_at > last_pulled_at' },
        { n, op, path: 'raw Query over HTTP (HTTP floor)', records: fmtInt(rawItems), runs: floorRuns, baseMs, notes: 'the same Query, one bare HTTP response' },
      );
      log(`N=${n} ${op}: http ${fmtMs(median(httpRuns.map((r) => r.run.ms)))} ms, ${h.run.ids.length} records, Query×${h.reading.calls.Query ?? 0}`);
    };

    // (a) The literal sequence: the device's previous pull is its first sync, made right after the
    // bulk load (within the lag window, when the bench was quick enough to make one); one record
    // changes; the device pulls from that timestamp. Pulls are exact (P5): the bulk load,
    // delivered by the first sync, does not come again.
    const prevA = (inWindow[0]?.run ?? h0).timestamp;
    const changeA = records[0] as ActivityRaw;
    await api.push(edit(changeA, 'title', 'Edited after the first sync', prevA));
    await deltaRows('delta pull, 1 change, after the first sync', prevA, false, [changeA.id]);

    // (b) The steady state: the bulk load is older than the lag window (it is since the first
    // syncs above). The device's previous sync saw change W; then change X happens; the pull from
    // that sync's timestamp must read one Query page and carry X only (X's journal comes with the
    // clock item, and its version with it: the index shows X at it, so nothing more is read).
    const clockNow = (await api.pull(prevA)).timestamp;
    const changeW = records[1] as ActivityRaw;
    const changeX = records[2] as ActivityRaw;
    await api.push(edit(changeW, 'notes', 'edited on the other device', clockNow));
    const prevB = (await api.pull(clockNow)).timestamp;
    await api.push(edit(changeX, 'title', 'One more edit', prevB));
    await deltaRows('delta pull, 1 change, steady state', prevB, true, [changeX.id]);

    // (c) The same pulls with a modelled network round trip on every DynamoDB call: the pull's
    // clock read and Query go out together, as does the parallel floor's; the raw Query is one.
    if (DELTA_RTT_MS > 0) {
      const op = `delta pull, 1 change, steady state, ${DELTA_RTT_MS} ms modelled round trip`;
      const runs = { http: [] as PullRun[], core: [] as PullRun[], raw: [] as Timing[], parallel: [] as Timing[], floor: [] as Timing[] };
      modelledRttMs = DELTA_RTT_MS;
      try {
        for (let rep = 0; rep < RTT_REPS; rep++) {
          const h = await api.pull(prevB);
          const c = await core.pull(dataUser, prevB);
          for (const run of [h, c]) if (run.ids.length !== 1 || run.ids[0] !== changeX.id) fail(`N=${n} ${op}: carried ${run.ids.join(', ')}, expected ${changeX.id} only`);
          runs.http.push(h);
          runs.core.push(c);
          runs.raw.push(await raw.query(dataUser, prevB + 1, Number.MAX_SAFE_INTEGER, cfg.pull.queryLimit));
          runs.parallel.push(await raw.clockAndQuery(dataUser, prevB + 1, Number.MAX_SAFE_INTEGER, cfg.pull.queryLimit));
          runs.floor.push(await floor.pull(dataUser, prevB + 1, Number.MAX_SAFE_INTEGER, cfg.pull.queryLimit));
        }
      } finally {
        modelledRttMs = 0;
      }
      const baseMs = median(runs.raw.map((t) => t.ms));
      const parallelMs = median(runs.parallel.map((t) => t.ms));
      const floorMs = median(runs.floor.map((t) => t.ms));
      const ofParallel = (rs: Timing[]) => `×${(median(rs.map((t) => t.ms)) / parallelMs).toFixed(2)} of the clock read ‖ Query`;
      rows.push(
        { n, op, path: 'HTTP (local stack)', records: '1', runs: runs.http, baseMs, notes: `${ofFloor(runs.http, floorMs)}` },
        { n, op, path: 'core pullChanges', records: '1', runs: runs.core, baseMs, calls: `Query×${(runs.core[0] as PullRun).roundTrips}`, notes: ofParallel(runs.core) },
        { n, op, path: 'raw Query (baseline)', records: '1', runs: runs.raw, notes: 'updated_at > last_pulled_at' },
        { n, op, path: 'raw GetItem of the clock ‖ Query (parallel floor)', records: '1', runs: runs.parallel, baseMs, notes: 'the least an exact pull reads: its clock, consistently, beside the Query' },
        { n, op, path: 'raw Query over HTTP (HTTP floor)', records: '1', runs: runs.floor, baseMs, notes: 'the same Query, one bare HTTP response' },
      );
      log(`N=${n} ${op}: core ${fmtMs(median(runs.core.map((r) => r.ms)))} ms, raw ${fmtMs(baseMs)} ms, clock ‖ Query ${fmtMs(parallelMs)} ms`);
    }
  }

  // ---------- output ----------
  const cpu = cpus();
  const dynaliteVersion = (JSON.parse(readFileSync(new URL('../node_modules/dynalite/package.json', import.meta.url), 'utf8')) as { version: string }).version;
  const out: string[] = [];
  out.push('## Sync bench');
  out.push('');
  out.push(
    `Node ${process.version} on ${platform()} ${arch()} (${release()}), ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM; ` +
      `${process.env.BENCH_ENGINE === 'dynamodb-local' ? 'DynamoDB Local' : `dynalite ${dynaliteVersion}`} in memory (${engine.where}). Load average (1 min) ${loadBefore.toFixed(2)} before, ${(loadavg()[0] as number).toFixed(2)} after.`,
  );
  out.push(
    `Config: PULL_PAGE_BYTES ${fmtInt(cfg.pull.pageBytes)}, PULL_QUERY_LIMIT ${cfg.pull.queryLimit}, PUSH_WRITE_CONCURRENCY ${cfg.push.writeConcurrency}, ` +
      `INDEX_LAG_MS ${cfg.pull.indexLagMs}${Object.keys(configEnv).length > 0 ? ` (overridden: ${Object.keys(configEnv).join(', ')})` : ''}. Times are medians of the runs shown in brackets; ratio = path ÷ raw baseline.`,
  );
  out.push('');
  out.push('| N | operation | path | records | median ms (runs) | raw ms | ratio | CPU ms | µs/record | DynamoDB calls | CU | CU/record | notes |');
  out.push('|---:|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|');
  for (const r of rows) {
    const m = median(r.runs.map((t) => t.ms));
    const cpuMs = median(r.runs.map((t) => t.cpuMs));
    const ratio = r.baseMs !== undefined ? `×${(m / r.baseMs).toFixed(2)}` : '×1';
    const count = Number(r.records.split(' ')[0]?.replace(/,/g, ''));
    out.push(
      `| ${fmtInt(r.n)} | ${r.op} | ${r.path} | ${r.records} | ${fmtMs(m)} (${r.runs.length}) | ${fmtMs(r.baseMs ?? m)} | ${ratio} | ${fmtMs(cpuMs)} | ${count > 0 ? fmtMs((m * 1000) / count) : '–'} | ${r.calls ?? ''} | ${r.cu ?? ''} | ${r.cuPerRecord ?? ''} | ${r.notes ?? ''} |`,
    );
  }
  out.push('');
  out.push(`### First sync of an account several times larger than one page (HTTP, cursor pages followed)`);
  out.push('');
  out.push('| N | page budget | pages | total bytes | max page bytes | max ≤ budget | records | median ms (runs) | ms/page |');
  out.push('|---:|---:|---:|---:|---:|---|---:|---:|---:|');
  for (const p of pagedRows) {
    const m = median(p.runs.map((t) => t.ms));
    out.push(
      `| ${fmtInt(p.n)} | ${fmtInt(p.budget)} | ${p.pages} | ${fmtInt(p.totalBytes)} | ${fmtInt(p.maxPage)} | ${p.maxPage <= p.budget ? '✓' : '✗'} | ${fmtInt(p.records)} | ${fmtMs(m)} (${p.runs.length}) | ${fmtMs(m / p.pages)} |`,
    );
  }
  out.push('');
  out.push(
    'CU = capacity units as the engine reports them (ReturnConsumedCapacity TOTAL, added by the bench to every server call): ' +
      'table units only — real DynamoDB also bills the write to the `by_updated_at` GSI (projection ALL), roughly doubling every write figure. ' +
      `Whole bench: ${((performance.now() - T0) / 1000).toFixed(0)} s.`,
  );
  // The push beside its floors (issue 16), on this engine and on Amazon DynamoDB Local, in this run.
  const floorResults: FloorResult[] = [];
  const mainEngine = process.env.BENCH_ENGINE === 'dynamodb-local' ? 'DynamoDB Local' : 'dynalite';
  floorResults.push(await measurePushFloor({ endpoint: engine.endpoint, engine: mainEngine, sizes: SIZES, reps: pushReps, env: configEnv, log }));
  if (mainEngine !== 'DynamoDB Local') {
    const why = dynamoDbLocalUnavailable();
    if (why) log(`push floor on DynamoDB Local skipped: ${why}`);
    else {
      const ddbl = await startDynamoDbLocal();
      try {
        floorResults.push(await measurePushFloor({ endpoint: ddbl.endpoint, engine: 'DynamoDB Local', sizes: SIZES, reps: pushReps, env: configEnv, log }));
      } finally {
        await ddbl.close();
      }
    }
  }
  for (const f of floorResults.flatMap((r) => r.failures)) fail(f);
  out.push('', ...floorReport(floorResults, { timeoutMs: API_HANDLER_TIMEOUT_S * 1000, memories: [512, 768, 1024, 1769], chosenMb: SYNC_PUSH_MEMORY_MB, fmtMs, median }));
  // FIT processing: the fit-process handler, bundled as deployed, end to end per file.
  const fitRows = await measureFit({ log: (m) => log(`fit: ${m}`) });
  for (const r of fitRows) if (!r.fitsLambda) fail(`FIT ${r.name}: peak RSS ${r.handler.peakRssMb.toFixed(0)} MB, ${Math.max(r.handler.coldMs, r.handler.warmMs).toFixed(0)} ms`);
  out.push('', ...fitTable(fitRows));
  // The client upload queue: drain time and the uploader's memory (each uploader in its own child process).
  const uploadRows = await measureUploadQueue({ log: (m) => log(`upload queue: ${m}`) });
  for (const f of uploadQueueFailures(uploadRows)) fail(f);
  out.push('', ...uploadQueueTable(uploadRows));
  if (failures.length > 0) {
    out.push('');
    out.push('### Structural checks FAILED');
    for (const f of failures) out.push(`- ${f}`);
  } else {
    out.push('');
    out.push('Structural checks passed: every steady-state one-change delta pull read one Query page; every page stayed within its budget; every pull returned each record exactly once, in `updated`.');
  }
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  for (const close of closers) await close();
  for (const s of stacks.reverse()) await s.close();
  serverDb.destroy();
  rawDb.destroy();
  await engine.stop();
}

// Per-Lambda bundle size and cold import, against a minimal SDK-v3 handler bundled the same way
// (run after the DynamoDB engine stopped, so the imports are timed on a quiet machine).
process.stdout.write(`\n${formatBundleReport(await measureBundleReport()).join('\n')}\n`);
if (failures.length > 0) process.exitCode = 1;
