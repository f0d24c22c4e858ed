/**
 * FIT processing rows for `npm run bench`: the `fit-process` handler end to end (S3 HeadObject +
 * GetObject from s3rver, SHA-256 check, decode, activity and upload writes to dynalite), per
 * file, beside a raw baseline on the same data in the same run (GetObject of the same object +
 * one PutItem of the record the handler wrote).
 *
 * Garmin's FIT Protocol License forbids publishing benchmarks of the SDK itself, so nothing
 * here times the decoder alone: every timing is the whole handler invocation (or the baseline).
 *
 * Each case runs in a FRESH CHILD PROCESS, so its peak memory is its own: plain `node
 * --enable-source-maps` (the NODE_OPTIONS the stack sets) importing the handler bundled exactly as
 * the stack deploys it (bench/bundles.ts `bundleLikeLambda`), with the AWS SDK external as on
 * Lambda; no tsx, no test code. Peak RSS is the OS high-water mark of that process
 * (`process.resourceUsage().maxRSS`); peak heap is the largest heap-in-use V8 reported before any
 * garbage collection in it (`--trace-gc`). The child holds only the handler and its SDK clients:
 * dynalite runs in its own child process (bench/engine.ts), s3rver in the parent. In the child the
 * handler runs twice, on two uploads of the same bytes: a cold invocation (the first: it builds
 * the runtime, as the first event after a Lambda cold start does) and a warm one.
 *
 *   tsx bench/fit.ts        # this table alone
 *   run.ts: `out.push(...fitTable(await measureFit()))`
 */
import { fork } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = fileURLToPath(import.meta.url);
const REPO = fileURLToPath(new URL('../', import.meta.url));
const MiB = 1024 * 1024;
/** The fit-process Lambda (lib/processing.ts defaults). */
export const FIT_LAMBDA_MEMORY_MB = 512;
export const FIT_LAMBDA_TIMEOUT_S = 60;

// ---------------------------------------------------------------------------------------------
// Rows

export interface FitBenchSide {
  readonly coldMs: number;
  readonly warmMs: number;
  readonly warmCpuMs: number;
  readonly peakRssMb: number;
  /** Peak RSS minus RSS before the first invocation. */
  readonly rssDeltaMb: number;
  /** Largest heap-in-use seen before a GC (V8's --trace-gc), MB; null if no GC ran. */
  readonly peakHeapMb: number | null;
}

export interface FitBenchRow {
  readonly name: string;
  readonly what: string;
  readonly bytes: number;
  /** Record messages in the file (as generated, or as the decoder counts them: not timed). */
  readonly records: number | null;
  /** `processed`, or `failed: <reason>`. */
  readonly outcome: string;
  readonly handler: FitBenchSide;
  readonly baseline: FitBenchSide;
  readonly polylineBytes: number | null;
  readonly polylinePoints: number | null;
  /** Peak RSS within the Lambda's memory and the cold run well inside its timeout (< half). */
  readonly fitsLambda: boolean;
}

// ---------------------------------------------------------------------------------------------
// Child process: the bundled handler (or the baseline) in a fresh `node`

/** The child's script (plain ESM: it runs on `node` alone, beside the bundle). */
const RUNNER_SOURCE = `
const job = await new Promise((resolve) => {
  process.once('message', resolve);
  process.send('ready'); // asked for only now: a message sent before the listener existed would be lost
});
const timed = async (fn) => {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const value = await fn();
  const c = process.cpuUsage(c0);
  return [value, { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 }];
};
let once;
if (job.mode === 'handler') {
  const { handler } = await import(job.bundle);
  const context = () => ({
    callbackWaitsForEmptyEventLoop: false, functionName: 'fit-process', functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:fit-process', memoryLimitInMB: String(job.memoryMb),
    awsRequestId: crypto.randomUUID(), logGroupName: '/aws/lambda/fit-process', logStreamName: 'bench',
    getRemainingTimeInMillis: () => job.timeoutMs, done() {}, fail() {}, succeed() {},
  });
  const event = (key) => ({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Post', s3: { bucket: { name: job.bucket }, object: { key } } }] });
  once = async (key) => (await handler(event(key), context())).results;
} else {
  const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { DynamoDBDocumentClient, PutCommand } = await import('@aws-sdk/lib-dynamodb');
  const s3 = new S3Client({ endpoint: job.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: job.dynamodbEndpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }));
  let n = 0;
  once = async (key) => {
    const out = await s3.send(new GetObjectCommand({ Bucket: job.bucket, Key: key }));
    const bytes = await out.Body.transformToByteArray();
    await db.send(new PutCommand({ TableName: job.tableName, Item: { ...job.item, sk: job.item.sk + '#' + n++ } }));
    return [{ outcome: 'read', bytes: bytes.length }];
  };
}
const before = process.memoryUsage();
const [first, cold] = await timed(() => once(job.keys[0]));
const [second, warm] = await timed(() => once(job.keys[1]));
process.send(
  { cold, warm, rssBefore: before.rss, heapBefore: before.heapUsed, peakRss: process.resourceUsage().maxRSS * 1024, outcomes: [...first, ...second] },
  () => process.exit(0),
);
`;

interface ChildJob {
  readonly mode: 'handler' | 'baseline';
  readonly dynamodbEndpoint: string;
  readonly s3Endpoint: string;
  readonly bucket: string;
  readonly tableName: string;
  /** Object keys: the first run cold, the second warm. */
  readonly keys: readonly [string, string];
  /** Handler only: file URL of the bundled handler. */
  readonly bundle?: string;
  readonly memoryMb?: number;
  readonly timeoutMs?: number;
  /** Baseline only: the DynamoDB item to put (the record the handler wrote for this file). */
  readonly item?: Record<string, unknown>;
}

interface ChildRun {
  readonly ms: number;
  readonly cpuMs: number;
}

interface ChildReport {
  readonly cold: ChildRun;
  readonly warm: ChildRun;
  /** RSS just before the first invocation (bundle imported, nothing run), bytes. */
  readonly rssBefore: number;
  /** OS high-water mark of the child's RSS over its life, bytes. */
  readonly peakRss: number;
  /** heapUsed just before the first invocation, bytes. */
  readonly heapBefore: number;
  readonly outcomes: unknown[];
}

// ---------------------------------------------------------------------------------------------
// Synthetic files

/**
 * A FIT activity of exactly the given size class, fast: the SDK's Encoder writes the head
 * (file_id, timer start) and the tail (lap, session, timer stop, activity); the records between
 * them are written here from the SDK's own profile (field numbers, base types, scales), because
 * the Encoder builds a message definition for every message it writes, and a 25 MB file holds
 * over half a million. The whole
 * file is one FIT file with valid header and file CRCs.
 */
export async function syntheticFitOfSize(
  targetBytes: number,
  fields: 'no-gps' | 'minimal' | 'running-dynamics',
  /** Start of the run (and the file_id's time_created): distinct starts make distinct recordings. */
  startMs = Date.parse('2024-05-01T06:00:00Z'),
): Promise<{ bytes: Uint8Array; records: number }> {
  const { CrcCalculator, Encoder, Profile } = await import('@garmin/fitsdk');
  const M = Profile.MesgNum as Record<string, number>;
  const start = startMs;
  const FIT_EPOCH_S = 631_065_600;
  const recordProfile = (Profile as unknown as { messages: Record<number, { fields: Record<string, { name: string; baseType: string; scale: number | number[]; offset: number | number[] }> }> }).messages[M.RECORD!]!;
  const byName = new Map(Object.entries(recordProfile.fields).map(([num, f]) => [f.name, { num: Number(num), ...f }]));
  const BASE: Record<string, { code: number; size: number }> = {
    sint8: { code: 0x01, size: 1 },
    uint8: { code: 0x02, size: 1 },
    uint16: { code: 0x84, size: 2 },
    sint32: { code: 0x85, size: 4 },
    uint32: { code: 0x86, size: 4 },
  };
  const names =
    fields === 'no-gps'
      ? // 11 bytes a record: the smallest real average per message (MIN_FIT_BYTES_PER_MESSAGE).
        ['timestamp', 'distance', 'heartRate', 'cadence']
      : fields === 'minimal'
      ? ['timestamp', 'positionLat', 'positionLong', 'distance', 'speed', 'heartRate']
      : ['timestamp', 'positionLat', 'positionLong', 'distance', 'speed', 'altitude', 'enhancedSpeed', 'enhancedAltitude', 'heartRate', 'cadence', 'fractionalCadence', 'power', 'accumulatedPower', 'temperature', 'verticalOscillation', 'stanceTime', 'verticalRatio', 'stepLength'];
  const defs = names.map((name) => {
    const f = byName.get(name);
    if (!f) throw new Error(`record field ${name} not in the SDK profile`);
    const base = BASE[f.baseType];
    if (!base) throw new Error(`record field ${name}: base type ${f.baseType} not handled`);
    const scale = Array.isArray(f.scale) ? (f.scale[0] as number) : f.scale;
    const offset = Array.isArray(f.offset) ? (f.offset[0] as number) : f.offset;
    return { name, num: f.num, ...base, scale, offset };
  });
  const recordBytes = 1 + defs.reduce((s, d) => s + d.size, 0);

  const dataOf = (encoded: Uint8Array) => encoded.subarray(14, encoded.length - 2); // drop header and CRC
  const head = new Encoder();
  head.onMesg(M.FILE_ID!, { type: 'activity', manufacturer: 'development', product: 1, serialNumber: 4242, timeCreated: new Date(start) } as never);
  head.onMesg(M.EVENT!, { timestamp: new Date(start), event: 'timer', eventType: 'start', eventGroup: 0 } as never);
  const headData = dataOf(head.close());
  const tailEstimate = 400;
  const definitionBytes = 6 + 3 * defs.length;
  const records = Math.floor((targetBytes - 14 - 2 - headData.length - tailEstimate - definitionBytes) / recordBytes);

  // Records: a smooth wander at 3 m/s, 1 Hz.
  const body = new Uint8Array(definitionBytes + records * recordBytes);
  const view = new DataView(body.buffer);
  const LOCAL = 15;
  body[0] = 0x40 | LOCAL;
  body[1] = 0; // reserved
  body[2] = 0; // little endian
  view.setUint16(3, M.RECORD!, true);
  body[5] = defs.length;
  defs.forEach((d, i) => {
    body[6 + 3 * i] = d.num;
    body[7 + 3 * i] = d.size;
    body[8 + 3 * i] = d.code;
  });
  const SEMI = 2 ** 31 / 180;
  let lat = 46;
  let lon = 7;
  let ascent = 0;
  let alt = 500;
  let at = definitionBytes;
  const values: Record<string, number> = {};
  for (let t = 0; t < records; t++) {
    const heading = 0.3 * Math.sin(t / 400) + 0.2 * Math.sin(t / 97) + t / 3000;
    const nextAlt = 500 + 40 * Math.sin(t / 900);
    if (nextAlt > alt) ascent += nextAlt - alt;
    alt = nextAlt;
    values.timestamp = Math.floor(start / 1000) - FIT_EPOCH_S + t;
    values.positionLat = Math.round(lat * SEMI);
    values.positionLong = Math.round(lon * SEMI);
    values.distance = 3 * t;
    values.speed = values.enhancedSpeed = 3;
    values.altitude = values.enhancedAltitude = alt;
    values.heartRate = 140 + Math.round(15 * Math.sin(t / 500));
    values.cadence = 85;
    values.fractionalCadence = 0.5;
    values.power = 250;
    values.accumulatedPower = (250 * t) % 2 ** 32;
    values.temperature = 18;
    values.verticalOscillation = 8.2;
    values.stanceTime = 245;
    values.verticalRatio = 7.5;
    values.stepLength = 1100;
    body[at++] = LOCAL;
    for (const d of defs) {
      const raw = d.name === 'timestamp' || d.name === 'positionLat' || d.name === 'positionLong' ? values[d.name]! : Math.round((values[d.name]! + d.offset) * d.scale);
      if (d.size === 1) d.code === 0x01 ? view.setInt8(at, raw) : view.setUint8(at, raw);
      else if (d.size === 2) view.setUint16(at, raw, true);
      else d.code === 0x85 ? view.setInt32(at, raw, true) : view.setUint32(at, raw, true);
      at += d.size;
    }
    lat += (3 * Math.cos(heading)) / 111_320;
    lon += (3 * Math.sin(heading)) / (111_320 * Math.cos((lat * Math.PI) / 180));
  }

  const end = new Date(start + records * 1000);
  const tail = new Encoder();
  const totals = { timestamp: end, startTime: new Date(start), totalElapsedTime: records, totalTimerTime: records, totalDistance: 3 * (records - 1), sport: 'running', subSport: 'generic' };
  tail.onMesg(M.LAP!, { ...totals, messageIndex: 0, event: 'lap', eventType: 'stop' } as never);
  tail.onMesg(M.SESSION!, { ...totals, totalAscent: Math.round(ascent), avgHeartRate: 140, messageIndex: 0, firstLapIndex: 0, numLaps: 1, event: 'session', eventType: 'stop' } as never);
  tail.onMesg(M.EVENT!, { timestamp: end, event: 'timer', eventType: 'stopAll', eventGroup: 0 } as never);
  tail.onMesg(M.ACTIVITY!, { timestamp: end, totalTimerTime: records, numSessions: 1, type: 'manual', event: 'activity', eventType: 'stop' } as never);
  const tailData = dataOf(tail.close());

  const dataSize = headData.length + body.length + tailData.length;
  const file = new Uint8Array(14 + dataSize + 2);
  const fv = new DataView(file.buffer);
  file[0] = 14;
  file[1] = 0x20; // protocol 2.0
  fv.setUint16(2, (Profile.version.major as number) * 1000 + (Profile.version.minor as number), true);
  fv.setUint32(4, dataSize, true);
  file.set([0x2e, 0x46, 0x49, 0x54], 8); // ".FIT"
  fv.setUint16(12, CrcCalculator.calculateCRC(file, 0, 12), true);
  file.set(headData, 14);
  file.set(body, 14 + headData.length);
  file.set(tailData, 14 + headData.length + body.length);
  fv.setUint16(14 + dataSize, CrcCalculator.calculateCRC(file, 0, 14 + dataSize), true);
  return { bytes: file, records };
}

// ---------------------------------------------------------------------------------------------
// Parent: cases, staging, children, table

interface BenchCase {
  readonly name: string;
  readonly what: string;
  readonly bytes: Uint8Array;
  readonly records: number | null;
}

function largestFixture(): { path: string; label: string } | null {
  const dirs = [process.env.FIT_FIXTURES_DIR ?? join(REPO, '../shared/fixtures/fit'), join(REPO, 'test/fixtures/fit')];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : n.endsWith('.fit') ? [join(d, n)] : []));
    const files = walk(dir).sort((a, b) => statSync(b).size - statSync(a).size);
    if (files[0]) return { path: files[0], label: relative(dir, files[0]) };
  }
  return null;
}

async function buildCases(log: (m: string) => void): Promise<BenchCase[]> {
  const { syntheticRun } = await import('../test/fit/support/synthetic.js');
  const { decodeFitActivity } = await import('../lambdas/fit/index.js');
  const cases: BenchCase[] = [];
  const largest = largestFixture();
  if (largest) {
    const bytes = new Uint8Array(readFileSync(largest.path));
    // Record count only (not timed): what the decoder reads from the file.
    const r = decodeFitActivity(bytes);
    cases.push({ name: 'largest fixture', what: largest.label, bytes, records: r.ok ? r.records : null });
  } else log('no FIT fixtures found: skipping the fixture row');
  cases.push({ name: 'synthetic 10k records', what: '2 h 47 min run, 1 Hz GPS + HR (SDK Encoder)', bytes: syntheticRun({ seconds: 10_000 }), records: 10_000 });
  cases.push({ name: 'synthetic 10-hour run', what: '10 h, 1 Hz GPS + HR, 36,000 records (SDK Encoder)', bytes: syntheticRun({ hours: 10 }), records: 36_000 });
  // The one FIT bound (lambdas/core/uploads.ts): files of every shape at that size, up to the
  // densest real one (11 bytes a message: FIT_MAX_MESSAGES messages exactly fill it).
  const { FIT_MAX_BYTES, FIT_MAX_MESSAGES } = await import('../lambdas/fit/limits.js');
  const limit = FIT_MAX_BYTES;
  const atLimit = (f: Parameters<typeof syntheticFitOfSize>[1]) => syntheticFitOfSize(limit - 512, f);
  const fat = await atLimit('running-dynamics');
  cases.push({ name: 'at the FIT limit, rich', what: `1 Hz GPS + HR + running dynamics (18 fields, 45 B/record), ${fat.records.toLocaleString('en-US')} records`, bytes: fat.bytes, records: fat.records });
  const thin = await atLimit('minimal');
  cases.push({ name: 'at the FIT limit, GPS + HR', what: `1 Hz GPS + HR (6 fields, 20 B/record), ${thin.records.toLocaleString('en-US')} records`, bytes: thin.bytes, records: thin.records });
  const dense = await atLimit('no-gps');
  cases.push({ name: 'at the FIT limit, densest real', what: `time, distance, HR, cadence (11 B/record), ${dense.records.toLocaleString('en-US')} records: the ${FIT_MAX_MESSAGES.toLocaleString('en-US')}-message bound`, bytes: dense.bytes, records: dense.records });
  const over = await syntheticFitOfSize(20 * MiB, 'running-dynamics');
  cases.push({ name: '20 MiB, over the FIT limit', what: `refused by the presign (400); the processor refuses it on HeadObject without reading it`, bytes: over.bytes, records: over.records });
  return cases;
}

/** The child's environment: what the stack gives the function (lib/processing.ts), pointed at the local engines. No credentials of ours. */
function childEnv(job: ChildJob): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    TABLE_NAME: job.tableName,
    UPLOADS_BUCKET: job.bucket,
    CURSOR_SECRET: 'bench-'.padEnd(32, 'x'),
    S3_ENDPOINT: job.s3Endpoint,
    DYNAMODB_ENDPOINT: job.dynamodbEndpoint,
    POWERTOOLS_SERVICE_NAME: 'runningcoach-sync',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

function forkChild(runner: string, job: ChildJob): Promise<{ report: ChildReport; peakHeapMb: number | null }> {
  return new Promise((resolve, reject) => {
    // Plain node, not tsx: the bundle and the runner are JavaScript. --enable-source-maps is the stack's NODE_OPTIONS.
    const child = fork(runner, [], { execPath: process.execPath, execArgv: ['--enable-source-maps', '--trace-gc'], env: childEnv(job), stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let peakHeapMb: number | null = null;
    let pending = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        // e.g. "[123:0x…]  456 ms: Mark-Compact 210.3 (230.1) -> 180.2 (229.0) MB, …": the first number is heap in use before the GC.
        const m = /(?:Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact)[^\d]*([\d.]+) \(([\d.]+)\) -> ([\d.]+)/.exec(line);
        if (m) peakHeapMb = Math.max(peakHeapMb ?? 0, Number(m[1]));
      }
    });
    let report: ChildReport | undefined;
    child.on('message', (m) => {
      if (m === 'ready') child.send(job);
      else report = m as ChildReport;
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (report) resolve({ report, peakHeapMb });
      else reject(new Error(`FIT bench child (${job.mode}) exited with ${code ?? signal} before reporting`));
    });
  });
}

const mb = (bytes: number) => bytes / MiB;

function side(r: { report: ChildReport; peakHeapMb: number | null }): FitBenchSide {
  return {
    coldMs: r.report.cold.ms,
    warmMs: r.report.warm.ms,
    warmCpuMs: r.report.warm.cpuMs,
    peakRssMb: mb(r.report.peakRss),
    rssDeltaMb: mb(r.report.peakRss - r.report.rssBefore),
    peakHeapMb: r.peakHeapMb,
  };
}

export interface MeasureFitOptions {
  /** Progress lines (default: stderr). */
  readonly log?: (message: string) => void;
}

/** Runs every case (handler and baseline, each in fresh child processes) and returns the rows. */
export async function measureFit(options: MeasureFitOptions = {}): Promise<FitBenchRow[]> {
  const log = options.log ?? ((m: string) => process.stderr.write(`[bench fit] ${m}\n`));
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  const { createDocumentClient } = await import('../lambdas/adapters/dynamo/client.js');
  const { DynamoSyncStore } = await import('../lambdas/adapters/dynamo/sync-store.js');
  const { recordSk, userPk } = await import('../lambdas/adapters/dynamo/keys.js');
  const { createS3Client } = await import('../lambdas/adapters/s3/client.js');
  const { loadConfig } = await import('../lambdas/config.js');
  const { applyServerWrite } = await import('../lambdas/core/server-write.js');
  const { uploadObjectKey } = await import('../lambdas/core/uploads.js');
  const { activityIdForUpload } = await import('../lambdas/processing/ingest-upload.js');
  const { ensureSyncTable, startS3rver } = await import('../local/engines.js');
  const { startEngine } = await import('./engine.js');

  const { bundleLikeLambda } = await import('./bundles.js');

  const cases = await buildCases(log);
  const cleanup: (() => Promise<void> | void)[] = [];
  const rows: FitBenchRow[] = [];
  try {
    // The handler as the stack deploys it, beside a node_modules link: the external AWS SDK resolves to this repo's copy.
    const work = mkdtempSync(join(tmpdir(), 'bench-fit-'));
    cleanup.push(() => rmSync(work, { recursive: true, force: true }));
    symlinkSync(join(REPO, 'node_modules'), join(work, 'node_modules'), 'dir');
    const { outfile } = await bundleLikeLambda(join(REPO, 'lambdas/handlers/fit-process.ts'), join(work, 'fit-process'));
    const runner = join(work, 'runner.mjs');
    writeFileSync(runner, RUNNER_SOURCE);
    const engine = await startEngine();
    cleanup.push(() => engine.stop());
    const bucket = `rc-fit-bench-${randomUUID().slice(0, 8)}`;
    const s3rver = await startS3rver(bucket);
    cleanup.push(() => s3rver.close());
    const tableName = `fit-bench-${randomUUID().slice(0, 8)}`;
    const raw = new DynamoDBClient({ endpoint: engine.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    await ensureSyncTable(raw, tableName);
    raw.destroy();
    const db = createDocumentClient({ endpoint: engine.endpoint });
    cleanup.push(() => db.destroy());
    const store = new DynamoSyncStore(db, tableName);
    const s3 = createS3Client({ endpoint: s3rver.endpoint });
    cleanup.push(() => s3.destroy());
    const push = loadConfig({ TABLE_NAME: tableName, CURSOR_SECRET: 'bench-'.padEnd(32, 'x') }).push;

    for (const c of cases) {
      const user = `fit-bench-${randomUUID().slice(0, 8)}`;
      const sha = createHash('sha256').update(c.bytes).digest('hex');
      const stage = async (uploadId: string) => {
        const values = { kind: 'fit', content_type: 'application/vnd.ant.fit', size_bytes: c.bytes.length, activity_id: null, status: 'pending', error: null };
        await applyServerWrite(user, { source: 'upload-service', table: 'uploads', id: uploadId, values }, { store, now: Date.now, config: push });
        const key = uploadObjectKey({ userId: user, kind: 'fit', uploadId });
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: c.bytes, ContentType: 'application/vnd.ant.fit', Metadata: { sha256: sha } }));
        return key;
      };
      const ids = [`bench${randomUUID().slice(0, 8)}`, `bench${randomUUID().slice(0, 8)}`] as const;
      const keys = [await stage(ids[0]), await stage(ids[1])] as const;
      const base = { dynamodbEndpoint: engine.endpoint, s3Endpoint: s3rver.endpoint, bucket, tableName, keys };

      log(`${c.name}: ${(c.bytes.length / MiB).toFixed(2)} MiB, handler in a fresh process…`);
      const handler = await forkChild(runner, { mode: 'handler', ...base, bundle: pathToFileURL(outfile).href, memoryMb: FIT_LAMBDA_MEMORY_MB, timeoutMs: FIT_LAMBDA_TIMEOUT_S * 1000 });
      const outcomes = handler.report.outcomes as { outcome: string; reason?: string }[];
      const first = outcomes[0];
      // Cold and warm ran the same bytes under two upload ids: the same outcome, or the rows would compare different work.
      if (outcomes.length !== 2 || outcomes[1]?.outcome !== first?.outcome) throw new Error(`${c.name}: cold and warm outcomes differ: ${JSON.stringify(outcomes)}`);
      const [activity] = await store.getRecords(user, [{ table: 'activities', id: activityIdForUpload(ids[0]) }]);
      const [upload] = await store.getRecords(user, [{ table: 'uploads', id: ids[0] }]);
      // The baseline writes the record the handler's work ends in: the activity, or the failed upload.
      const written = activity ?? upload!;
      const item = { pk: userPk(`${user}-raw`), sk: recordSk(written.table, written.id), tbl: written.table, rid: written.id, data: written.data, created_at: Date.now(), updated_at: Date.now() };
      log(`${c.name}: baseline (GetObject + PutItem) in a fresh process…`);
      const baseline = await forkChild(runner, { mode: 'baseline', ...base, item });

      const polyline = typeof activity?.data.route_polyline === 'string' ? activity.data.route_polyline : null;
      const h = side(handler);
      rows.push({
        name: c.name,
        what: c.what,
        bytes: c.bytes.length,
        records: c.records,
        outcome: first?.outcome === 'failed' ? `failed: ${first.reason}` : (first?.outcome ?? 'no outcome'),
        handler: h,
        baseline: side(baseline),
        polylineBytes: polyline === null ? null : Buffer.byteLength(polyline),
        polylinePoints: polyline === null ? null : countPolylinePoints(polyline),
        fitsLambda: h.peakRssMb <= FIT_LAMBDA_MEMORY_MB && Math.max(h.coldMs, h.warmMs) < (FIT_LAMBDA_TIMEOUT_S * 1000) / 2,
      });
      log(`${c.name}: handler cold ${h.coldMs.toFixed(0)} ms, warm ${h.warmMs.toFixed(0)} ms, peak RSS ${h.peakRssMb.toFixed(0)} MB → ${rows.at(-1)!.outcome}`);
    }
  } finally {
    for (const c of cleanup.reverse()) await c();
  }
  return rows;
}

/** Points in a Google encoded polyline (each point is two varints; a varint ends at a byte < 0x20 after -63). */
function countPolylinePoints(encoded: string): number {
  let ends = 0;
  for (let i = 0; i < encoded.length; i++) if (encoded.charCodeAt(i) - 63 < 0x20) ends++;
  return ends / 2;
}

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const fmtMb = (v: number | null) => (v === null ? '–' : v.toFixed(0));
const int = (n: number) => n.toLocaleString('en-US');

/** The markdown section for the bench report. */
export function fitTable(rows: readonly FitBenchRow[]): string[] {
  const out: string[] = [];
  out.push('## FIT processing bench');
  out.push('');
  out.push(
    `The \`fit-process\` handler end to end — HeadObject + GetObject from s3rver, SHA-256 check, decode, activity and upload writes to dynalite — bundled as the stack deploys it and run by plain \`node --enable-source-maps\` in a fresh child process per case. ` +
      `Baseline: GetObject of the same object + one PutItem of the record the handler wrote, in its own fresh process. ` +
      `cold = first invocation in the process (it builds the runtime, as the first event after a cold start does), warm = the second (another upload of the same bytes). ` +
      `Timings are the whole handler: the FIT SDK is never timed alone (Garmin's FIT Protocol License forbids publishing benchmarks of it). ` +
      `Lambda: ${FIT_LAMBDA_MEMORY_MB} MB, ${FIT_LAMBDA_TIMEOUT_S} s (lib/processing.ts); fits = peak RSS ≤ ${FIT_LAMBDA_MEMORY_MB} MB and both runs < ${FIT_LAMBDA_TIMEOUT_S / 2} s.`,
  );
  out.push('');
  out.push('| case | file | MiB | records | outcome | handler cold ms | handler warm ms | warm CPU ms | ms / 10k records | baseline cold / warm ms | ratio (warm) | peak RSS MB | headroom to 512 MB | Δ RSS MB | peak heap MB | baseline peak RSS MB | polyline bytes (points) | fits |');
  out.push('|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const r of rows) {
    const h = r.handler;
    const b = r.baseline;
    const per10k = r.records && r.outcome === 'processed' ? fmtMs((h.warmMs * 10_000) / r.records) : '–';
    out.push(
      `| ${r.name} | ${r.what} | ${(r.bytes / MiB).toFixed(2)} | ${r.records === null ? '–' : int(r.records)} | ${r.outcome} | ${fmtMs(h.coldMs)} | ${fmtMs(h.warmMs)} | ${fmtMs(h.warmCpuMs)} | ${per10k} | ${fmtMs(b.coldMs)} / ${fmtMs(b.warmMs)} | ×${(h.warmMs / b.warmMs).toFixed(1)} | ${fmtMb(h.peakRssMb)} | ${fmtMb(FIT_LAMBDA_MEMORY_MB - h.peakRssMb)} | ${fmtMb(h.rssDeltaMb)} | ${fmtMb(h.peakHeapMb)} | ${fmtMb(b.peakRssMb)} | ${r.polylineBytes === null ? '–' : `${int(r.polylineBytes)} (${int(r.polylinePoints ?? 0)})`} | ${r.fitsLambda ? '✓' : '✗'} |`,
    );
  }
  out.push('');
  out.push(
    'peak RSS = the child’s OS high-water mark over its whole life (runtime, bundle, SDK clients, both runs); Δ RSS = that minus the RSS just before the first run; ' +
      'peak heap = the largest V8 heap-in-use reported before any GC in the child (`--trace-gc`). s3rver and dynalite run in other processes. ' +
      'ms / 10k records = warm ms × 10,000 ÷ records (processed files only: a refused file stops early). ' +
      'Times against s3rver and dynalite on one machine are not AWS latencies: compare the handler with its baseline within one run.',
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// Entry points

if (process.argv[1] && pathToFileURL(process.argv[1]).href === pathToFileURL(HERE).href) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const rows = await measureFit();
  process.stdout.write(`${fitTable(rows).join('\n')}\n`);
  if (rows.some((r) => !r.fitsLambda)) process.exitCode = 1;
}
