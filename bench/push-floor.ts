/**
 * The push beside its floors, on one engine (issue 16). For N created activities, each by a fresh
 * user, in one table of its own:
 * - core `pushChanges` (the request split into 3 MB bodies as a client splits it);
 * - raw conditional PutItem: the writes the guarantees need and nothing else — per record its id
 *   claim (`attribute_not_exists(pk) OR owner = :me`) and the record (`attribute_not_exists(pk)`),
 *   the same items the store writes, the same writes in flight. The floor of CPU, wall and calls
 *   for per-record conditional writes (a lost race must be detected per record);
 * - raw TransactWriteItems: the same conditional writes in transactions of 100 actions (50
 *   records with their claims), on engines that have transactions: fewer calls, twice the write
 *   units (DynamoDB bills every transactional write twice);
 * - raw BatchWriteItem: unconditional, no claims, no reads: the storage floor.
 * Capacity units come from the engine (ReturnConsumedCapacity TOTAL, added by the meter).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../lambdas/adapters/dynamo/client.js';
import { CLAIM_SK, claimPk } from '../lambdas/adapters/dynamo/keys.js';
import { DynamoSyncStore } from '../lambdas/adapters/dynamo/sync-store.js';
import { loadConfig } from '../lambdas/config.js';
import { resolveConflict } from '../lambdas/core/conflict.js';
import { parsePushBody } from '../lambdas/core/contract.js';
import { pushChanges } from '../lambdas/core/push.js';
import { deleteTable, ensureSyncTable } from '../local/engines.js';
import { makeActivities, splitPushBodies, storeItem, type ActivityRaw } from './data.js';
import { formatCalls, meter, type MeterReading } from './meter.js';
import { stopwatch, type Timing } from './paths.js';

export type FloorPath = 'core pushChanges' | 'raw conditional PutItem (record + claim)' | 'raw TransactWriteItems (100 actions)' | 'raw BatchWriteItem (unconditional)';

export interface FloorRow {
  readonly engine: string;
  readonly n: number;
  readonly path: FloorPath;
  readonly runs: Timing[];
  readonly reading: MeterReading;
  readonly notes: string;
}

export interface FloorResult {
  readonly rows: FloorRow[];
  /** Records of one 3 MB push body of the bench data (the client's split). */
  readonly recordsPer3MbBody: number;
  /** Capacity units of a consistent BatchGetItem of N absent records, per record: the pre-read a push needs. */
  readonly preReadCuPerRecord: number;
  /** A small push (SMALL_PUSH records, the everyday case): its wall and CPU, median of runs. */
  readonly small: Timing;
  /** Structural failures: the core push making more writes than the conditional floor. */
  readonly failures: string[];
}

/** Records of the everyday push, whose duration is mostly waiting for DynamoDB. */
export const SMALL_PUSH = 10;

const PUSH_BODY_MAX = 3_000_000;
const TRANSACT_MAX_ACTIONS = 100;

/** Runs the push rows on the engine at `endpoint`; `reps` runs per path and size, paths rotating. */
export async function measurePushFloor(opts: {
  endpoint: string;
  engine: string;
  sizes: readonly number[];
  reps: (n: number) => number;
  env?: Record<string, string>;
  log: (msg: string) => void;
}): Promise<FloorResult> {
  const tableName = `bench-floor-${Date.now()}`;
  const admin = new DynamoDBClient({ endpoint: opts.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await ensureSyncTable(admin, tableName);
  const config = loadConfig({ ...opts.env, TABLE_NAME: tableName, DYNAMODB_ENDPOINT: opts.endpoint });
  const concurrency = config.push.writeConcurrency;
  const serverDb = createDocumentClient({ endpoint: opts.endpoint });
  const serverMeter = meter(serverDb);
  const rawDb = createDocumentClient({ endpoint: opts.endpoint });
  const rawMeter = meter(rawDb);
  const deps = { store: new DynamoSyncStore(serverDb, tableName), policy: resolveConflict, now: Date.now, config: config.push };
  const raw = new RawWrites(rawDb, tableName, concurrency);
  const transactions = await raw.hasTransactions();
  const rows: FloorRow[] = [];
  let recordsPer3MbBody = 0;
  let preReadCuPerRecord = NaN;
  let small: Timing = { ms: NaN, cpuMs: NaN };
  const failures: string[] = [];
  try {
    /** Records per request of the last core push (for the structural check). */
    let lastCoreBodies: number[] = [];
    const core = async (user: string, records: readonly ActivityRaw[]): Promise<Timing> => {
      const requests = splitPushBodies(records, null, PUSH_BODY_MAX).map((b) => parsePushBody(JSON.parse(b)));
      lastCoreBodies = requests.map((r) => Object.values(r.changes).reduce((s, t) => s + (t?.created.length ?? 0), 0));
      const stop = stopwatch();
      for (const req of requests) await pushChanges(user, req, deps);
      return stop();
    };
    // Warm-up: JIT, sockets, first-call costs of every path.
    const warm = makeActivities(200, 3);
    await core('floor-warm-core', warm.map((r) => ({ ...r, id: `${r.id}wc` })));
    await raw.conditional('floor-warm-cond', warm.map((r) => ({ ...r, id: `${r.id}wp` })));
    if (transactions) await raw.transact('floor-warm-tx', warm.map((r) => ({ ...r, id: `${r.id}wt` })));
    await raw.batch('floor-warm-batch', warm.map((r) => ({ ...r, id: `${r.id}wb` })));

    for (const n of opts.sizes) {
      const base = makeActivities(n, 2000 + n);
      // Records of a full 3 MB body of this data (N may fit in less).
      const avgRawBytes = base.reduce((s, r) => s + Buffer.byteLength(JSON.stringify(r)) + 1, 0) / n;
      recordsPer3MbBody = Math.floor(PUSH_BODY_MAX / avgRawBytes);
      const copyFor = (tag: string): ActivityRaw[] => base.map((r) => ({ ...r, id: `${r.id}${tag}` }));
      const paths: FloorPath[] = ['core pushChanges', 'raw conditional PutItem (record + claim)', ...(transactions ? (['raw TransactWriteItems (100 actions)'] as const) : []), 'raw BatchWriteItem (unconditional)'];
      const runs = new Map<FloorPath, Timing[]>(paths.map((p) => [p, []]));
      const readings = new Map<FloorPath, MeterReading>();
      for (let rep = 0; rep < opts.reps(n); rep++) {
        const order = paths.map((_, i) => paths[(i + rep) % paths.length] as FloorPath);
        for (const path of order) {
          const tag = `f${paths.indexOf(path)}r${rep}`;
          const user = `floor-${n}-${tag}`;
          const records = copyFor(tag);
          const m = path === 'core pushChanges' ? serverMeter : rawMeter;
          m.reset();
          const t =
            path === 'core pushChanges' ? await core(user, records)
            : path === 'raw conditional PutItem (record + claim)' ? await raw.conditional(user, records)
            : path === 'raw TransactWriteItems (100 actions)' ? await raw.transact(user, records)
            : await raw.batch(user, records);
          (runs.get(path) as Timing[]).push(t);
          readings.set(path, m.read());
        }
        opts.log(`${opts.engine} N=${n} push rep ${rep + 1}/${opts.reps(n)}: ${paths.map((p) => `${p.split(' (')[0]} ${((runs.get(p) as Timing[]).at(-1) as Timing).ms.toFixed(0)} ms`).join(', ')}`);
      }
      // The minimum read the design needs: a consistent read of each record the push names (absent here).
      rawMeter.reset();
      await raw.preRead(`floor-${n}-absent`, base);
      preReadCuPerRecord = rawMeter.read().totalCapacity / n;
      const notes: Record<FloorPath, string> = {
        'core pushChanges': `${splitPushBodies(base, null, PUSH_BODY_MAX).length} request(s) ≤ 3 MB, ${concurrency} writes in flight`,
        'raw conditional PutItem (record + claim)': `claim then record per record, ${concurrency} in flight; no reads`,
        'raw TransactWriteItems (100 actions)': `${Math.ceil(n / (TRANSACT_MAX_ACTIONS / 2))} transactions, ${concurrency} in flight; 2× write units`,
        'raw BatchWriteItem (unconditional)': `25 items/batch, ${concurrency} in flight; no claims, no conditions`,
      };
      // Structural: a fresh user's push of N created activities writes its clock, N claims and N
      // records — the floor's 2N PutItem — plus one, and one journal per request (its lease's
      // record keys: one PutItem up to 300 KB of keys), and reads ⌈k/100⌉ BatchGetItem twice per request.
      const coreCalls = (readings.get('core pushChanges') as MeterReading).calls;
      const batchGets = lastCoreBodies.reduce((s, k) => s + 2 * Math.ceil(k / 100), 0);
      const expectedPuts = 2 * n + 1 + lastCoreBodies.length;
      if (coreCalls.PutItem !== expectedPuts) failures.push(`${opts.engine} N=${n}: core push made PutItem×${coreCalls.PutItem}, expected ${expectedPuts} (clock + N claims + N records + a journal per request)`);
      if (coreCalls.BatchGetItem !== batchGets) failures.push(`${opts.engine} N=${n}: core push made BatchGetItem×${coreCalls.BatchGetItem}, expected ${batchGets}`);
      for (const p of paths) rows.push({ engine: opts.engine, n, path: p, runs: runs.get(p) as Timing[], reading: readings.get(p) as MeterReading, notes: notes[p] });
    }
    const smallRuns: Timing[] = [];
    for (let rep = 0; rep < 7; rep++) smallRuns.push(await core(`floor-small-${rep}`, makeActivities(SMALL_PUSH, 50 + rep).map((r) => ({ ...r, id: `${r.id}s${rep}` }))));
    const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    small = { ms: mid(smallRuns.map((t) => t.ms)), cpuMs: mid(smallRuns.map((t) => t.cpuMs)) };
  } finally {
    serverDb.destroy();
    rawDb.destroy();
    await deleteTable(admin, tableName).catch(() => undefined);
    admin.destroy();
  }
  return { rows, recordsPer3MbBody, preReadCuPerRecord, small, failures };
}

/** The raw write patterns, on the items the store writes for a created activity. */
class RawWrites {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly concurrency: number,
  ) {}

  /** The item `DynamoSyncStore.putRecord` writes for a created activity (index attributes included). */
  private item(user: string, r: ActivityRaw, stamp: number): Record<string, unknown> {
    return { ...storeItem(user, r, stamp), w: 'device', live_at: stamp, ...(typeof r.started_at === 'number' ? { started_at: r.started_at } : {}) };
  }

  private claim(user: string, r: ActivityRaw) {
    return {
      TableName: this.tableName,
      Item: { pk: claimPk('activities', r.id), sk: CLAIM_SK, owner: user },
      ConditionExpression: 'attribute_not_exists(pk) OR #owner = :me',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':me': user },
    };
  }

  private async pool<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(this.concurrency, items.length) }, async () => {
        while (next < items.length) await fn(items[next++] as T);
      }),
    );
  }

  async hasTransactions(): Promise<boolean> {
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: [{ Put: { TableName: this.tableName, Item: { pk: 'bench-probe', sk: 'probe' } } }] }));
      return true;
    } catch {
      return false; // dynalite: UnknownOperationException
    }
  }

  async conditional(user: string, records: readonly ActivityRaw[]): Promise<Timing> {
    const stamp = Date.now();
    const stop = stopwatch();
    await this.pool(records, async (r) => {
      await this.db.send(new PutCommand(this.claim(user, r)));
      await this.db.send(
        new PutCommand({ TableName: this.tableName, Item: this.item(user, r, stamp), ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
      );
    });
    return stop();
  }

  async transact(user: string, records: readonly ActivityRaw[]): Promise<Timing> {
    const stamp = Date.now();
    const groups: ActivityRaw[][] = [];
    for (let i = 0; i < records.length; i += TRANSACT_MAX_ACTIONS / 2) groups.push(records.slice(i, i + TRANSACT_MAX_ACTIONS / 2));
    const stop = stopwatch();
    await this.pool(groups, async (g) => {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: g.flatMap((r) => [
            { Put: this.claim(user, r) },
            { Put: { TableName: this.tableName, Item: this.item(user, r, stamp), ConditionExpression: 'attribute_not_exists(pk)' } },
          ]),
        }),
      );
    });
    return stop();
  }

  async batch(user: string, records: readonly ActivityRaw[]): Promise<Timing> {
    const stamp = Date.now();
    const batches: ActivityRaw[][] = [];
    for (let i = 0; i < records.length; i += 25) batches.push(records.slice(i, i + 25));
    const stop = stopwatch();
    await this.pool(batches, async (b) => {
      let pending = b.map((r) => ({ PutRequest: { Item: this.item(user, r, stamp) } }));
      for (let round = 0; pending.length > 0; round++) {
        if (round > 0) await new Promise((res) => setTimeout(res, 10 * 2 ** round));
        const res = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
        pending = (res.UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
      }
    });
    return stop();
  }

  /** Consistent BatchGetItem of the records (100 keys a call), as a push's pre-read. */
  async preRead(user: string, records: readonly ActivityRaw[]): Promise<void> {
    for (let i = 0; i < records.length; i += 100) {
      const keys = records.slice(i, i + 100).map((r) => ({ pk: storeItem(user, r, 0).pk, sk: storeItem(user, r, 0).sk }));
      await this.db.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }));
    }
  }
}

/** Lambda's CPU share: 1 vCPU at 1,769 MB, proportional below (AWS Lambda docs, "Memory and computing power"). */
export const MB_PER_VCPU = 1_769;

/**
 * The floor table and the 3 MB estimate, as markdown. `timeoutMs`: the API Gateway integration
 * timeout the push must stay a third under; `memories`: Lambda sizes to estimate for.
 */
export function floorReport(results: readonly FloorResult[], opts: { timeoutMs: number; memories: readonly number[]; chosenMb: number; fmtMs: (ms: number) => string; median: (xs: readonly number[]) => number }): string[] {
  const { fmtMs, median } = opts;
  const out: string[] = [];
  out.push('### Push of N created activities beside its floors, per engine (issue 16)');
  out.push('');
  out.push('| engine | N | path | median ms (runs) | ratio to batch | CPU ms | CPU µs/record | CPU ratio to batch | CPU ratio to conditional floor | DynamoDB calls | CU | CU/record | notes |');
  out.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|');
  for (const res of results) {
    for (const r of res.rows) {
      const peers = res.rows.filter((x) => x.engine === r.engine && x.n === r.n);
      const of = (p: FloorPath) => peers.find((x) => x.path === p);
      const batch = of('raw BatchWriteItem (unconditional)') as FloorRow;
      const cond = of('raw conditional PutItem (record + claim)') as FloorRow;
      const ms = median(r.runs.map((t) => t.ms));
      const cpu = median(r.runs.map((t) => t.cpuMs));
      const batchCpu = median(batch.runs.map((t) => t.cpuMs));
      const condCpu = median(cond.runs.map((t) => t.cpuMs));
      // Engines under-report transactions (DynamoDB Local counts about one unit per item); the
      // price list bills each transactional write twice: twice the conditional row's units.
      const notes = r.path === 'raw TransactWriteItems (100 actions)' ? `${r.notes}: DynamoDB bills ≈ ${((2 * cond.reading.totalCapacity) / r.n).toFixed(2)} CU/record` : r.notes;
      out.push(
        `| ${r.engine} | ${r.n.toLocaleString('en-US')} | ${r.path} | ${fmtMs(ms)} (${r.runs.length}) | ×${(ms / median(batch.runs.map((t) => t.ms))).toFixed(2)} | ${fmtMs(cpu)} | ${((cpu * 1000) / r.n).toFixed(0)} | ×${(cpu / batchCpu).toFixed(1)} | ×${(cpu / condCpu).toFixed(2)} | ${formatCalls(r.reading.calls)} | ${r.reading.totalCapacity.toFixed(0)} | ${(r.reading.totalCapacity / r.n).toFixed(2)} | ${notes} |`,
      );
    }
  }
  out.push('');
  for (const res of results) {
    const n = Math.max(...res.rows.map((r) => r.n));
    const at = (p: FloorPath) => res.rows.find((r) => r.n === n && r.path === p);
    const core = at('core pushChanges') as FloorRow;
    const batch = at('raw BatchWriteItem (unconditional)') as FloorRow;
    const engine = core.engine;
    // The capacity floor: the record write with its index copies (the batch row, same items),
    // one claim write (1 unit: global ids), and one consistent read of the record (the plan needs it).
    const floorCu = batch.reading.totalCapacity / n + 1 + res.preReadCuPerRecord;
    const coreCu = core.reading.totalCapacity / n;
    out.push(
      `**${engine}, N=${n.toLocaleString('en-US')}: capacity floor ${floorCu.toFixed(2)} CU per created record** = record write with its index copies ${(batch.reading.totalCapacity / n).toFixed(2)} (the batch row) + claim write 1 + consistent pre-read ${res.preReadCuPerRecord.toFixed(2)}; ` +
        `core push ${coreCu.toFixed(2)} CU/record = ×${(coreCu / floorCu).toFixed(2)} of the floor (goal ≤ ×1.3).`,
    );
    const cpuPerRecordMs = median(core.runs.map((t) => t.cpuMs)) / n;
    const cpu3Mb = cpuPerRecordMs * res.recordsPer3MbBody;
    const budget = opts.timeoutMs / 3;
    // Duration at a memory size: the CPU stretched by the vCPU share, plus the time spent waiting
    // for DynamoDB (wall − CPU here; an upper bound, real DynamoDB answers faster than an emulator).
    const duration = (cpuMs: number, waitMs: number, mb: number) => cpuMs / Math.min(1, mb / MB_PER_VCPU) + waitMs;
    const coreWall = median(core.runs.map((t) => t.ms));
    const wait3Mb = (Math.max(0, coreWall - median(core.runs.map((t) => t.cpuMs))) / n) * res.recordsPer3MbBody;
    const smallWait = Math.max(0, res.small.ms - res.small.cpuMs);
    out.push(
      `**${engine}: a 3 MB push request** (${res.recordsPer3MbBody} activities of this data) needs ${fmtMs(cpu3Mb)} ms of CPU at this machine's core speed (${(cpuPerRecordMs * 1000).toFixed(0)} µs/record); ` +
        `scaled to the Lambda's vCPU share (1 vCPU at ${MB_PER_VCPU} MB), against a third of the ${opts.timeoutMs / 1000} s timeout (${(budget / 1000).toFixed(1)} s), and the billed cost per push ` +
        `(GB-s, CPU stretched by the share + waiting for DynamoDB) beside a ${SMALL_PUSH}-record push (${fmtMs(res.small.cpuMs)} ms CPU, ${fmtMs(smallWait)} ms waiting):`,
    );
    out.push('');
    out.push(`| memory | vCPU share | 3 MB push: CPU-bound time | ≤ ${(budget / 1000).toFixed(1)} s | 3 MB push GB-s | ${SMALL_PUSH}-record push GB-s | |`);
    out.push('|---:|---:|---:|---|---:|---:|---|');
    for (const mb of opts.memories) {
      const share = Math.min(1, mb / MB_PER_VCPU);
      const cpuBound = cpu3Mb / share;
      const gbs = (ms: number) => ((mb / 1024) * ms) / 1000;
      out.push(
        `| ${mb} MB | ${share.toFixed(2)} | ${(cpuBound / 1000).toFixed(1)} s | ${cpuBound < budget ? '✓' : '✗'} | ${gbs(duration(cpu3Mb, wait3Mb, mb)).toFixed(2)} | ${gbs(duration(res.small.cpuMs, smallWait, mb)).toFixed(4)} | ${mb === opts.chosenMb ? '← deployed (lib/handler-sizing.ts)' : ''} |`,
      );
    }
    out.push('');
  }
  return out;
}
