/**
 * Where a first-sync pull spends its CPU (issue 11: pulls within 1.3× the raw Query). Loads N
 * activities into one account of the embedded local stack (dynalite in a child process, as
 * `npm run bench`), then, under Node's sampling profiler, runs first syncs through the core
 * (`pullChanges`), over HTTP (the local stack: handler, response serialisation, the client's
 * parse) and the raw Query of the same index range, interleaved, and prints the wall time of
 * each and the self time per area and the hottest functions of each.
 *
 *   npx tsx bench/profile-pull.ts [N=1000] [runs=5] [delta]
 *
 * With `delta`, the pulls profiled are one-change delta pulls in the steady state (the device's
 * last pull before one edit older than the index-lag window), beside the raw Query of that range.
 */
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

import { Session } from 'node:inspector/promises';
import { busyAreas, hottestFunctions, selfTimes, type Profile } from './cpu-profile.js';
import { createDocumentClient } from '../lambdas/adapters/dynamo/client.js';
import { startLocalStack } from '../local/server.js';
import { makeActivities, pushBody, splitPushBodies } from './data.js';
import { startEngine } from './engine.js';
import { CorePath, HttpFloor, HttpPath, RawPath } from './paths.js';

const n = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 5);
/** `delta`: profile one-change delta pulls in the steady state instead of first syncs. */
const delta = process.argv[4] === 'delta';

/** The area a frame belongs to, by its file. */
function area(url: string, fn: string): string {
  if (url.includes('/lambdas/core/')) return 'pull core (pull, records, utf8)';
  if (url.includes('/lambdas/adapters/')) return 'store adapter (items → records)';
  if (url.includes('/lambdas/')) return 'handler, middy chain, response';
  if (url.includes('util-dynamodb')) return 'unmarshalling (util-dynamodb)';
  if (url.includes('lib-dynamodb')) return 'document client';
  if (url.includes('@smithy') || url.includes('@aws-sdk') || url.includes('@aws-crypto')) return 'AWS SDK (deserialise, sign, middleware)';
  if (url.includes('/local/')) return 'local stack (gateway emulation)';
  if (url.includes('/bench/')) return 'bench client (fetch, JSON.parse)';
  if (url.includes('node_modules')) return 'other packages (middy, powertools, jose, ...)';
  if (url.startsWith('node:') || url === '') return fn === '(garbage collector)' ? 'garbage collection' : fn === '(program)' || fn === '(idle)' ? 'idle/program' : 'Node internals (http, net, streams, fetch)';
  return 'other';
}

async function profiled<T>(session: Session, fn: () => Promise<T>): Promise<[T, Profile]> {
  await session.post('Profiler.start');
  const v = await fn();
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
  return [v, profile];
}

function report(title: string, profiles: Profile[], wallMs: number[]): void {
  const { areas, functions } = selfTimes(profiles, area);
  const per = (us: number) => (us / 1000 / wallMs.length).toFixed(wallMs.length > profiles.length ? 3 : 1);
  const sorted = [...wallMs].sort((a, b) => a - b);
  const shown = wallMs.length > 12 ? `${wallMs.length} pulls, ${sorted[0]?.toFixed(1)}–${sorted.at(-1)?.toFixed(1)} ms` : wallMs.map((m) => m.toFixed(0)).join(', ');
  console.log(`\n### ${title}: median wall ${sorted[Math.floor(sorted.length / 2)]?.toFixed(delta ? 2 : 1)} ms (${shown})\n`);
  console.log('| area | CPU ms per pull |\n|---|---:|');
  for (const [a, us] of busyAreas(areas)) console.log(`| ${a} | ${per(us)} |`);
  console.log('\n| hottest functions (self) | CPU ms per pull |\n|---|---:|');
  for (const [name, us] of hottestFunctions(functions, 20)) console.log(`| \`${name}\` | ${per(us)} |`);
}

async function main(): Promise<void> {
  const engine = await startEngine();
  const env = Object.fromEntries(['PULL_PAGE_BYTES', 'PULL_QUERY_LIMIT', 'INDEX_LAG_MS'].filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k] as string]));
  const stack = await startLocalStack({ dynamodbEndpoint: engine.endpoint, logLevel: 'SILENT', env });
  const rawDb = createDocumentClient({ endpoint: engine.endpoint });
  try {
    const user = 'profile-pull';
    const api = new HttpPath(stack.url, await stack.token(user));
    const core = new CorePath(stack.runtime);
    const raw = new RawPath(rawDb, stack.tableName);
    const floor = await HttpFloor.start(raw);
    const first = await api.pull(null);
    const activities = makeActivities(n, 7);
    await api.pushAll(splitPushBodies(activities, first.timestamp, 3_000_000));
    const settle = () => new Promise((r) => setTimeout(r, stack.runtime.config.pull.indexLagMs + 100));
    // As in `npm run bench`: the load is older than the index-lag window, so a first sync reads
    // the index only (within the window it reads the load's journal and the records by key).
    await settle();
    // Delta: the device synced after the load, then one activity was edited, longer ago than the
    // lag window (the steady state): every pull carries that one record.
    let since: number | null = null;
    if (delta) {
      since = (await api.pull(null)).timestamp;
      const [edited] = activities;
      await api.push(pushBody('activities', 'updated', [{ ...edited!, title: 'Edited', _status: 'updated', _changed: 'title' }], since));
      await settle();
    }
    const from = since === null ? 1 : since + 1;
    const expected = delta ? 1 : n;
    const limit = stack.runtime.config.pull.queryLimit;
    // Warm up every path (JIT, sockets).
    for (let i = 0; i < 2; i++) {
      await api.pull(since);
      await core.pull(user, since);
      await raw.query(user, from, Number.MAX_SAFE_INTEGER, limit);
      await floor.pull(user, from, Number.MAX_SAFE_INTEGER, limit);
    }
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    const out = { http: [] as Profile[], core: [] as Profile[], raw: [] as Profile[], floor: [] as Profile[] };
    const wall = { http: [] as number[], core: [] as number[], raw: [] as number[], floor: [] as number[] };
    // A delta pull takes a few ms: each profile covers a batch of pulls of one path (starting and
    // stopping the profiler per pull would cost more than the pull), the paths taking turns.
    const perProfile = delta ? Math.min(runs, 50) : 1;
    const check = (path: string, k: number) => {
      if (k !== expected) throw new Error(`${path}: expected ${expected} records, got ${k}`);
    };
    const paths: { name: keyof typeof out; pull: () => Promise<number> }[] = [
      { name: 'http', pull: async () => { const h = await api.pull(since); check('http', h.ids.length); return h.ms; } },
      { name: 'core', pull: async () => { const c = await core.pull(user, since); check('core', c.ids.length); return c.ms; } },
      { name: 'raw', pull: async () => { const r = await raw.query(user, from, Number.MAX_SAFE_INTEGER, limit); check('raw', r.items); return r.ms; } },
      { name: 'floor', pull: async () => { const f = await floor.pull(user, from, Number.MAX_SAFE_INTEGER, limit); check('floor', f.items); return f.ms; } },
    ];
    for (let done = 0; done < runs; done += perProfile) {
      for (const path of paths) {
        const [times, profile] = await profiled(session, async () => {
          const ms: number[] = [];
          for (let i = 0; i < perProfile; i++) ms.push(await path.pull());
          return ms;
        });
        out[path.name].push(profile);
        wall[path.name].push(...times);
      }
    }
    session.disconnect();
    await floor.close();
    const what = delta ? `One-change delta pull (steady state) from an account of ${n} activities` : `First sync of ${n} activities`;
    console.log(`## ${what}, ${runs} runs each (dynalite in a child process; its CPU is not sampled)`);
    report('raw Query (baseline)', out.raw, wall.raw);
    report('core pullChanges', out.core, wall.core);
    report('raw Query over HTTP (HTTP floor)', out.floor, wall.floor);
    report('HTTP (local stack)', out.http, wall.http);
  } finally {
    rawDb.destroy();
    await stack.close();
    await engine.stop();
  }
}

void main();
