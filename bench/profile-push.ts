/**
 * Where a core push spends its CPU (issue: "profile first"). Pushes N created activities through
 * `pushChanges` with `DynamoSyncStore` against the bench engine (dynalite in a child process, or
 * DynamoDB Local with BENCH_ENGINE=dynamodb-local), under Node's sampling profiler, and prints the
 * self time per area (validation, planning, marshalling, SDK, HTTP, ...) and the hottest functions.
 *
 *   npx tsx bench/profile-push.ts [N=1000] [runs=3]
 */
import { Session } from 'node:inspector/promises';
import { busyAreas, hottestFunctions, selfTimes, type Profile } from './cpu-profile.js';
import { createDocumentClient } from '../lambdas/adapters/dynamo/client.js';
import { DynamoSyncStore } from '../lambdas/adapters/dynamo/sync-store.js';
import { resolveConflict } from '../lambdas/core/conflict.js';
import { parsePushBody } from '../lambdas/core/contract.js';
import { pushChanges } from '../lambdas/core/push.js';
import { loadConfig } from '../lambdas/config.js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureSyncTable, startDynamoDbLocal } from '../local/engines.js';
import { makeActivities, pushBody } from './data.js';
import { startEngine } from './engine.js';

const n = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 3);

/** The area a frame belongs to, by its file. */
function area(url: string, fn: string): string {
  if (url.includes('/lambdas/core/contract')) return 'validation (contract/zod, parsing not timed)';
  if (url.includes('zod')) return 'validation (zod)';
  if (url.includes('/lambdas/core/plan-push') || url.includes('/lambdas/core/conflict') || url.includes('/lambdas/core/records')) return 'planning (plan-push, conflict, records)';
  if (url.includes('/lambdas/core/push')) return 'push orchestration';
  if (url.includes('util-dynamodb')) return 'marshalling (util-dynamodb)';
  if (url.includes('lib-dynamodb')) return 'document client';
  if (url.includes('/lambdas/adapters/')) return 'store adapter';
  if (url.includes('@smithy') || url.includes('@aws-sdk') || url.includes('@aws-crypto')) return 'AWS SDK (serialise, sign, middleware)';
  if (url.startsWith('node:') || url === '') return fn === '(garbage collector)' ? 'garbage collection' : fn === '(program)' || fn === '(idle)' ? 'idle/program' : 'Node internals (http, net, crypto, streams)';
  return 'other';
}

async function main(): Promise<void> {
  const useDdbl = process.env.BENCH_ENGINE === 'dynamodb-local';
  const engine = useDdbl ? await startDynamoDbLocal() : await startEngine();
  const tableName = `profile-${Date.now()}`;
  const raw = new DynamoDBClient({ endpoint: engine.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await ensureSyncTable(raw, tableName);
  raw.destroy();
  const config = loadConfig({ TABLE_NAME: tableName, DYNAMODB_ENDPOINT: engine.endpoint });
  const store = new DynamoSyncStore(createDocumentClient({ endpoint: engine.endpoint }), tableName);
  const deps = { store, policy: resolveConflict, now: Date.now, config: config.push };
  // Each user its own records: ids of activities are global (claimed by their first writer).
  const request = (seed: number) => parsePushBody(JSON.parse(pushBody('activities', 'created', makeActivities(n, seed), null)));

  // Warm up (JIT, connections), then profile `runs` pushes of N records, each by a fresh user.
  await pushChanges('warm', request(1), deps);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  const requests = Array.from({ length: runs }, (_, i) => request(100 + i));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await session.post('Profiler.start');
  for (let i = 0; i < runs; i++) await pushChanges(`user-${i}`, requests[i]!, deps);
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  session.disconnect();

  const { areas, functions: fns } = selfTimes([profile], area);
  const busy = [...areas].filter(([a]) => a !== 'idle/program').reduce((s, [, us]) => s + us, 0);
  const records = n * runs;
  console.log(`\n## core pushChanges, ${runs} × ${n} created activities (${'where' in engine ? engine.where : 'DynamoDB Local'})\n`);
  console.log(`wall ${wall.toFixed(0)} ms, process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (${((cpu.user + cpu.system) / records).toFixed(0)} µs/record), sampled busy ${(busy / 1000).toFixed(0)} ms\n`);
  console.log('| area | CPU ms | µs/record | share of busy |\n|---|---|---|---|');
  for (const [a, us] of busyAreas(areas)) {
    console.log(`| ${a} | ${(us / 1000).toFixed(0)} | ${(us / records).toFixed(0)} | ${((100 * us) / busy).toFixed(1)} % |`);
  }
  console.log('\n| hottest functions (self) | CPU ms |\n|---|---|');
  for (const [name, us] of hottestFunctions(fns, 25)) {
    console.log(`| \`${name}\` | ${(us / 1000).toFixed(0)} |`);
  }
  await ("close" in engine ? engine.close() : engine.stop());
  process.exit(0);
}

void main();
