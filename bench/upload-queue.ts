/**
 * Upload-queue rows for `npm run bench` (issue 6): the time and peak memory to drain queued FIT
 * files through the local stack with the client's upload queue (`createUploadQueue`), beside a
 * plain loop of presign + multipart POST for the same files; and one large FIT file (4 MiB by
 * default: the largest whole MiB under the FIT limit, FIT_MAX_BYTES) through the queue, read as a file-backed Blob and as a Uint8Array, with the memory it
 * held expressed in copies of the file.
 *
 * The UPLOADING SIDE runs in a FRESH CHILD PROCESS per measurement (bench/upload-queue-child.ts,
 * `node --import tsx --expose-gc`), so its memory is its own: the local stack (API handlers,
 * s3rver, and the FIT processor, which decodes every uploaded file) runs in this process, dynalite
 * in another child (bench/engine.ts). Each measurement has its own user and, for the queue, its
 * own WatermelonDB database (LokiJS, in memory, in the child). Between measurements the bench
 * waits until the stack has processed every uploaded file, so processing never overlaps the next
 * measurement (it does overlap the measurement that uploaded the files, as it would in AWS).
 *
 * Structural checks (they fail the bench): every job ends `uploaded` (every loop upload got a 2xx
 * from S3), the server processed exactly one S3 event per upload, and a pull of the user's
 * account holds exactly one `uploads` record per uploaded file, with its size.
 *
 *   npx tsx bench/upload-queue.ts     # this table alone
 *   run.ts: `out.push('', ...uploadQueueTable(await measureUploadQueue({ log })))`
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { StepTimes, UploadChildJob, UploadChildReport } from './upload-queue-child.js';
import { FIT_MAX_BYTES } from '../lambdas/fit/limits.js';

const HERE = fileURLToPath(import.meta.url);
const REPO = fileURLToPath(new URL('../', import.meta.url));
const CHILD = fileURLToPath(new URL('./upload-queue-child.ts', import.meta.url));
const MiB = 1024 * 1024;
const FIT_TYPE = 'application/vnd.ant.fit';
/** A child that has not reported by then is killed and the measurement fails. */
const CHILD_TIMEOUT_MS = 180_000;
/** How long the bench waits for the stack to process the uploads of one measurement. */
const SETTLE_TIMEOUT_MS = 120_000;
/** Live mode runs a full GC before each sample: not too often, or the GCs are all the run does. */
const LIVE_SAMPLE_EVERY_MS = 25;

// ---------------------------------------------------------------------------------------------
// Rows

export interface UploadQueueRow {
  readonly name: string;
  /** `queue` or `plain loop`, and how the file was read. */
  readonly path: string;
  readonly mode: UploadChildJob['mode'];
  readonly read: UploadChildJob['read'];
  readonly files: number;
  readonly totalBytes: number;
  readonly largestBytes: number;
  readonly ms: number;
  readonly enqueueMs: number;
  /** Wall time per step, summed over the files (see `UploadChildReport.steps`). */
  readonly steps: StepTimes | null;
  readonly passes: number;
  /** The plain loop's ms for the same files (queue rows), for the ratio. */
  readonly baselineMs: number | null;
  /** OS high-water mark of the child's RSS over its whole life. */
  readonly peakRss: number;
  /** Peak RSS during the measured part minus RSS just before it (after the warm-up and a full GC). */
  readonly rssGrowth: number;
  /** Peak of heapUsed + external (sampled) during the measured part minus the same just before it. */
  readonly heapExternalGrowth: number;
  /** Peak of arrayBuffers (Buffers, typed arrays, Blob parts) minus the same before. */
  readonly arrayBuffersGrowth: number;
  /**
   * Single-file rows: the same growths from a second run in live mode (a full GC before every
   * sample), i.e. what the uploader still referenced, garbage excluded. null for other rows.
   */
  readonly liveHeapExternalGrowth: number | null;
  readonly liveArrayBuffersGrowth: number | null;
  readonly samples: number;
  /** What the stack's FIT processor concluded, per outcome (`processed: 50`). */
  readonly processing: string;
  /** `uploads` records of the user on the server after the measurement (warm-up included). */
  readonly serverRecords: number;
  /** Structural failures: empty when the row passed. */
  readonly problems: readonly string[];
}

interface Measurement {
  readonly name: string;
  readonly path: string;
  readonly mode: UploadChildJob['mode'];
  readonly read: UploadChildJob['read'];
  readonly files: readonly string[];
}

interface Run {
  readonly report: UploadChildReport | null;
  readonly problems: string[];
  readonly processing: string;
  readonly serverRecords: number;
}

export interface MeasureUploadQueueOptions {
  /** Progress lines (default: stderr). */
  readonly log?: (message: string) => void;
  /** Files drained per measurement (default `BENCH_UPLOAD_FILES`, else 50). */
  readonly files?: number;
  /** Size of the large file in MiB (default `BENCH_UPLOAD_LARGE_MIB`, else 20). */
  readonly largeMiB?: number;
}

/** Runs every measurement, each uploader in a fresh child process, against one local stack. */
export async function measureUploadQueue(options: MeasureUploadQueueOptions = {}): Promise<UploadQueueRow[]> {
  const t0 = performance.now();
  const log = options.log ?? ((m: string) => process.stderr.write(`[bench upload-queue ${((performance.now() - t0) / 1000).toFixed(1)}s] ${m}\n`));
  const count = options.files ?? positiveInt(process.env.BENCH_UPLOAD_FILES, 50);
  const largeMiB = options.largeMiB ?? positiveInt(process.env.BENCH_UPLOAD_LARGE_MIB, Math.floor(FIT_MAX_BYTES / MiB));
  // The stack's metrics would print one EMF line per request to stdout (the report).
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { startLocalStack } = await import('../local/server.js');
  const { startEngine } = await import('./engine.js');
  const { syntheticFitOfSize } = await import('./fit.js');

  const cleanup: (() => Promise<void> | void)[] = [];
  const rows: UploadQueueRow[] = [];
  try {
    // ---------- the files: distinct, valid FIT activities ----------
    const dir = mkdtempSync(join(tmpdir(), 'bench-upload-queue-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const sizes = new Map<string, number>();
    // One run a day: distinct recordings (the processor recognises one recording uploaded twice, docs/recordings.md).
    let day = 0;
    const save = async (name: string, targetBytes: number): Promise<string> => {
      const { bytes } = await syntheticFitOfSize(targetBytes, 'running-dynamics', Date.parse('2024-05-01T06:00:00Z') + day++ * 86_400_000);
      const path = join(dir, name);
      writeFileSync(path, bytes);
      sizes.set(path, bytes.length);
      return path;
    };
    const warmup = await save('warmup.fit', 30_000);
    // 100 kB to 300 kB: a 40 min to 2 h run at 1 Hz with running dynamics. Each size is its own record count, so every file differs.
    const many: string[] = [];
    for (let i = 0; i < count; i++) many.push(await save(`run-${String(i + 1).padStart(3, '0')}.fit`, count === 1 ? 200_000 : Math.round(100_000 + (200_000 * i) / (count - 1))));
    const large = await save(`large-${largeMiB}mib.fit`, largeMiB * MiB);
    log(`${count} files of ${fmtKb(Math.min(...many.map((f) => sizes.get(f)!)))}–${fmtKb(Math.max(...many.map((f) => sizes.get(f)!)))}, one of ${(sizes.get(large)! / MiB).toFixed(2)} MiB, in ${dir}`);

    // ---------- the stack: dynalite in a child, API + s3rver + FIT processor here ----------
    const engine = await startEngine();
    cleanup.push(() => engine.stop());
    const stack = await startLocalStack({ dynamodbEndpoint: engine.endpoint, logLevel: 'SILENT' });
    cleanup.push(() => stack.close());
    await stack.uploadsSettled();

    const manyLabel = `${count} FIT files`;
    const largeLabel = `1 FIT file, ${largeMiB} MiB`;
    const measurements: Measurement[] = [
      { name: manyLabel, path: 'queue', mode: 'queue', read: 'bytes', files: many },
      { name: manyLabel, path: 'plain loop (baseline)', mode: 'loop', read: 'bytes', files: many },
      { name: largeLabel, path: 'queue', mode: 'queue', read: 'blob', files: [large] },
      { name: largeLabel, path: 'queue', mode: 'queue', read: 'bytes', files: [large] },
      { name: largeLabel, path: 'plain loop (baseline)', mode: 'loop', read: 'bytes', files: [large] },
    ];
    let users = 0;
    /** One child run as a fresh user, then the server checks once the stack processed its uploads. */
    const run = async (m: Measurement, live: boolean): Promise<Run> => {
      const user = `bench-queue-${++users}${live ? '-live' : ''}`;
      const bytes = m.files.reduce((s, f) => s + sizes.get(f)!, 0);
      log(`${m.name}, ${m.path}, read as ${readLabel(m.read)}${live ? ', live memory (GC before each sample)' : ''}: ${(bytes / MiB).toFixed(2)} MiB, as ${user} in a fresh child…`);
      const problems: string[] = [];
      let report: UploadChildReport | null = null;
      try {
        report = await runChild({
          mode: m.mode,
          read: m.read,
          baseUrl: stack.url,
          token: await stack.token(user),
          contentType: FIT_TYPE,
          warmup,
          files: m.files,
          concurrency: 1,
          sampleEveryMs: live ? LIVE_SAMPLE_EVERY_MS : 5,
          gcBeforeSample: live,
        });
      } catch (e) {
        problems.push(`the uploader failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      const uploads = report ? [report.warmup, ...report.uploads] : [];
      const expected = new Map(uploads.map((u) => [u.uploadId, u]));
      if (report) {
        if (report.uploads.length !== m.files.length) problems.push(`${report.uploads.length} uploads reported for ${m.files.length} files`);
        for (const u of uploads) if (u.status !== 'uploaded') problems.push(`${basename(u.uri)} ended ${u.status}${u.error ? `: ${u.error}` : ''}`);
        if (expected.size !== uploads.length) problems.push(`${uploads.length - expected.size} upload ids used twice`);
      }
      // The stack finishes processing before anything else is measured; then the server is checked.
      // Only uploads that reached S3 have an event to wait for (a failed one is a problem already).
      const stored = new Map([...expected].filter(([, u]) => u.status === 'uploaded'));
      const outcomes = await settled(stack, new Set(stored.keys()), problems);
      const records = await uploadRecords(stack.url, await stack.token(user));
      for (const [id, u] of stored) {
        const mine = records.filter((r) => r.id === id);
        if (mine.length !== 1) problems.push(`${mine.length} uploads records for ${basename(u.uri)} (${id}), expected 1`);
        else if (mine[0]!.size_bytes !== sizes.get(u.uri)) problems.push(`uploads record ${id}: size_bytes ${String(mine[0]!.size_bytes)}, the file has ${sizes.get(u.uri)}`);
      }
      const stray = records.filter((r) => !expected.has(r.id));
      if (stray.length > 0) problems.push(`${stray.length} uploads records that no upload made (${stray.map((r) => r.id).join(', ')})`);
      // The FIT processor's verdict on the measured files (the warm-up left out).
      const verdicts = new Map<string, number>();
      for (const u of report?.uploads ?? []) {
        const o = outcomes.get(u.uploadId)?.[0];
        const v = o === undefined ? 'none' : o.outcome === 'failed' ? `failed (${(o.reason ?? '?').slice(0, 90)})` : o.outcome;
        verdicts.set(v, (verdicts.get(v) ?? 0) + 1);
      }
      const processing = [...verdicts].map(([v, k]) => `${v}: ${k}`).join(', ');
      for (const p of problems) log(`FAIL ${m.name}, ${m.path} (${readLabel(m.read)})${live ? ' live' : ''}: ${p}`);
      if (report) {
        const timing = live ? '' : `${fmtMs(report.ms)} ms (${fmtMs(report.ms / m.files.length)} ms/file; ${fmtSteps(report.ms, report.steps)}); `;
        log(`  ${timing}Δ heap+external ${fmtMiB(report.peakHeapPlusExternal - heapExt(report.before))} MiB, Δ arrayBuffers ${fmtMiB(report.peak.arrayBuffers - report.before.arrayBuffers)} MiB; processing ${processing}`);
      }
      return { report, problems: live ? problems.map((p) => `live run: ${p}`) : problems, processing, serverRecords: records.length };
    };

    const done: { m: Measurement; timed: Run; live: Run | null }[] = [];
    for (const m of measurements) done.push({ m, timed: await run(m, false), live: m.files.length === 1 ? await run(m, true) : null });

    const loopMs = new Map(done.filter((d) => d.m.mode === 'loop' && d.timed.report).map((d) => [d.m.name, d.timed.report!.ms]));
    for (const { m, timed, live } of done) {
      const r = timed.report;
      const l = live?.report ?? null;
      // The OS high-water mark is for the child's whole life: it is the peak of the measured part only if it rose during it.
      const peakDuring = r ? (r.maxRssAfter > r.maxRssBefore ? r.maxRssAfter : r.peak.rss) : NaN;
      rows.push({
        name: m.name,
        path: m.path,
        mode: m.mode,
        read: m.read,
        files: m.files.length,
        totalBytes: m.files.reduce((s, f) => s + sizes.get(f)!, 0),
        largestBytes: Math.max(...m.files.map((f) => sizes.get(f)!)),
        ms: r?.ms ?? NaN,
        enqueueMs: r?.enqueueMs ?? NaN,
        steps: r?.steps ?? null,
        passes: r?.passes ?? NaN,
        baselineMs: m.mode === 'queue' ? (loopMs.get(m.name) ?? null) : null,
        peakRss: r?.maxRssAfter ?? NaN,
        rssGrowth: r ? peakDuring - r.before.rss : NaN,
        heapExternalGrowth: r ? r.peakHeapPlusExternal - heapExt(r.before) : NaN,
        arrayBuffersGrowth: r ? r.peak.arrayBuffers - r.before.arrayBuffers : NaN,
        liveHeapExternalGrowth: live ? (l ? l.peakHeapPlusExternal - heapExt(l.before) : NaN) : null,
        liveArrayBuffersGrowth: live ? (l ? l.peak.arrayBuffers - l.before.arrayBuffers : NaN) : null,
        samples: r?.samples ?? 0,
        processing: timed.processing,
        serverRecords: timed.serverRecords,
        problems: [...timed.problems, ...(live?.problems ?? [])],
      });
    }
  } finally {
    for (const c of cleanup.reverse()) await c();
  }
  return rows;
}

/** Structural failures of the rows, one line each (run.ts turns them into bench failures). */
export function uploadQueueFailures(rows: readonly UploadQueueRow[]): string[] {
  return rows.flatMap((r) => r.problems.map((p) => `upload queue, ${r.name}, ${r.path} (${readLabel(r.read)}): ${p}`));
}

// ---------------------------------------------------------------------------------------------
// Child process, server checks

function runChild(job: UploadChildJob): Promise<UploadChildReport> {
  return new Promise((resolve, reject) => {
    // tsx as a loader of plain node (not this process's execArgv: under `tsx -e` that would carry the eval);
    // --expose-gc lets the child collect garbage before its baseline. Its stdout goes to our stderr: stdout is the report.
    const child = fork(CHILD, [], { cwd: REPO, execPath: process.execPath, execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 2, 'inherit', 'ipc'] });
    let report: UploadChildReport | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, CHILD_TIMEOUT_MS);
    child.on('message', (msg) => {
      if (msg === 'ready') child.send(job);
      else report = msg as UploadChildReport;
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (report) resolve(report);
      else reject(new Error(`the child exited with ${code ?? signal} before reporting${signal === 'SIGKILL' ? ` (killed after ${CHILD_TIMEOUT_MS / 1000} s)` : ''}`));
    });
  });
}

type Outcome = { readonly outcome: string; readonly reason?: string };

/** Waits until the stack processed one S3 event per expected upload; records what it concluded for each. */
async function settled(stack: { uploadsSettled(): Promise<unknown[]> }, expected: ReadonlySet<string>, problems: string[]): Promise<Map<string, Outcome[]>> {
  const byUpload = new Map<string, Outcome[]>();
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  const missing = () => [...expected].filter((id) => !byUpload.has(id));
  for (;;) {
    for (const o of (await stack.uploadsSettled()) as (Outcome & { uploadId?: string })[]) {
      const id = o.uploadId ?? '(no upload id)';
      byUpload.set(id, [...(byUpload.get(id) ?? []), o]);
    }
    if (missing().length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  // A late duplicate event would arrive with the others; one more short look for it.
  await new Promise((r) => setTimeout(r, 50));
  for (const o of (await stack.uploadsSettled()) as (Outcome & { uploadId?: string })[]) {
    const id = o.uploadId ?? '(no upload id)';
    byUpload.set(id, [...(byUpload.get(id) ?? []), o]);
  }
  const absent = missing();
  if (absent.length > 0) problems.push(`no S3 event processed for ${absent.length} upload(s) within ${SETTLE_TIMEOUT_MS / 1000} s`);
  for (const [id, os] of byUpload) {
    if (!expected.has(id)) problems.push(`an S3 event processed for ${id}, which no upload of this measurement made`);
    else if (os.length !== 1) problems.push(`${os.length} S3 events processed for ${id}: the file was stored more than once`);
  }
  return byUpload;
}

interface UploadRecord {
  readonly id: string;
  readonly size_bytes?: unknown;
  readonly status?: unknown;
}

/** Every `uploads` record of the user, from a first-sync pull (cursor pages followed). */
async function uploadRecords(baseUrl: string, token: string): Promise<UploadRecord[]> {
  const records: UploadRecord[] = [];
  let cursor: string | undefined;
  do {
    const params = new URLSearchParams({ last_pulled_at: 'null', schema_version: '1', migration: 'null', ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${baseUrl}/api/v1/sync?${params}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`pull answered ${res.status}: ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as { changes: Record<string, { created: UploadRecord[]; updated: UploadRecord[] }>; cursor?: string };
    const uploads = body.changes.uploads;
    if (uploads) records.push(...uploads.created, ...uploads.updated);
    cursor = body.cursor;
  } while (cursor);
  return records;
}

// ---------------------------------------------------------------------------------------------
// Table

const heapExt = (m: { heapUsed: number; external: number }) => m.heapUsed + m.external;
const readLabel = (read: UploadChildJob['read']) => (read === 'blob' ? 'Blob (fs.openAsBlob)' : 'Uint8Array (fs.promises.readFile)');
const fmtMs = (ms: number) => (Number.isNaN(ms) ? '–' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtMiB = (b: number) => (Number.isNaN(b) ? '–' : (b / MiB).toFixed(1));
const fmtKb = (b: number) => `${(b / 1000).toFixed(0)} kB`;
/** `read 12 / hash 200 / presign 900 / send 2,000 / other 300 ms`: where the drain time went. */
function fmtSteps(ms: number, s: StepTimes | null): string {
  if (!s) return '–';
  const other = ms - s.read - s.hash - s.presign - s.send;
  return `read ${fmtMs(s.read)} / hash ${fmtMs(s.hash)} / presign ${fmtMs(s.presign)} / send ${fmtMs(s.send)} / other ${fmtMs(other)}`;
}
const copies = (growth: number, file: number) => (Number.isNaN(growth) ? '–' : (growth / file).toFixed(2));

function positiveInt(value: string | undefined, fallback: number): number {
  const v = Number(value);
  return value !== undefined && Number.isInteger(v) && v > 0 ? v : fallback;
}

/** The markdown section for the bench report. */
export function uploadQueueTable(rows: readonly UploadQueueRow[]): string[] {
  const out: string[] = [];
  out.push('## Upload queue bench');
  out.push('');
  out.push(
    'The client upload queue (`createUploadQueue`, `autoStart: false`, concurrency 1, over a WatermelonDB database on LokiJS in memory, Node\'s global `fetch`) drains queued FIT files through the local stack — ' +
      'per file: read, SHA-256 in pure JS (`@noble/hashes`), `POST /api/v1/uploads` (presign), multipart POST to s3rver — beside a **plain loop** over the same files: read, SHA-256 with `node:crypto`, presign, multipart POST, one file after another, no persistence, no retries. ' +
      'Each run has its uploader in a **fresh child process** (`node --import tsx --expose-gc`) and its own user; the local stack (API, s3rver, and the FIT processor that decodes each uploaded file) runs in the bench process, dynalite in another. ' +
      'Each child first uploads one small warm-up file the same way (not measured), collects garbage, then takes its memory baseline. ' +
      'Drain time ends when the queue reports every job `uploaded` (the loop: when S3 answered 204 for the last file); the stack\'s processing of the files is awaited between runs only. One run per row.',
  );
  out.push('');
  out.push('| files | path | file read as | MiB | drain ms | ms / file | plain loop ms | ratio | steps ms: read / hash / presign / send / other | peak RSS MiB | Δ RSS MiB | Δ heap+external MiB | Δ arrayBuffers MiB | live Δ arrayBuffers MiB | copies: RSS / arrayBuffers / **live** | server | processing |');
  out.push('|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|');
  for (const r of rows) {
    const ratio = r.baselineMs !== null ? `×${(r.ms / r.baselineMs).toFixed(2)}` : r.mode === 'loop' ? '×1' : '–';
    const server = r.problems.length === 0 ? `✓ ${r.serverRecords} records, 1 event each` : `✗ ${r.problems.length} problem(s)`;
    const live = r.liveArrayBuffersGrowth;
    const copiesCell = r.files === 1 ? `${copies(r.rssGrowth, r.largestBytes)} / ${copies(r.arrayBuffersGrowth, r.largestBytes)} / **${live === null ? '–' : copies(live, r.largestBytes)}**` : '–';
    out.push(
      `| ${r.name} | ${r.path} | ${readLabel(r.read)} | ${(r.totalBytes / MiB).toFixed(2)} | ${fmtMs(r.ms)} | ${fmtMs(r.ms / r.files)} | ${r.baselineMs === null ? '–' : fmtMs(r.baselineMs)} | ${ratio} | ${r.steps ? fmtSteps(r.ms, r.steps).replace(/[a-z]+ /g, '') : '–'} | ${fmtMiB(r.peakRss)} | ${fmtMiB(r.rssGrowth)} | ${fmtMiB(r.heapExternalGrowth)} | ${fmtMiB(r.arrayBuffersGrowth)} | ${live === null ? '–' : fmtMiB(live)} | ${copiesCell} | ${server} | ${r.processing} |`,
    );
  }
  out.push('');
  out.push(
    'ratio = drain ms ÷ the plain loop\'s ms for the same files. steps = where the drain time went, summed over the files: read the file, hash it (for a Blob this includes reading its 1 MiB slices), presign (`POST /api/v1/uploads`), send (build the form, multipart POST until S3 answered); ' +
      'other = the rest: for the queue, its bookkeeping between those steps (each job change rewrites the job list in the database\'s `localStorage`, events); the queue\'s steps are timed from its phase events. ' +
      'Presign and send are mostly the local stack\'s time, and it decodes each uploaded FIT file in the same process meanwhile, so they vary from run to run: the queue\'s own cost is read + hash + other. ' +
      'peak RSS = the child’s OS high-water mark over its whole life (`resourceUsage().maxRSS`: Node, tsx, WatermelonDB, the warm-up). ' +
      'Δ = growth during the measured part over the baseline taken just before it: RSS (the high-water mark if it rose during the part, else the largest RSS sampled); ' +
      'the largest `heapUsed + external` and the largest `arrayBuffers` (the bytes of every ArrayBuffer, Buffer and typed array, wherever they went: this is where file bytes live), sampled every 5 ms, at each queue event and around each request. ' +
      'These include garbage not yet collected: what the process really reached. ' +
      `**live** = a second run of the single-file rows with a full GC before every sample (every ${LIVE_SAMPLE_EVERY_MS} ms, at each queue event, around each request): what was still referenced; its times are not reported. ` +
      'copies = Δ ÷ file size. ' +
      'Times against s3rver on one machine are not mobile-network times: compare the queue with its plain loop within one run.',
  );
  const large = rows.filter((r) => r.files === 1);
  const blob = large.find((r) => r.mode === 'queue' && r.read === 'blob');
  const bytes = large.find((r) => r.mode === 'queue' && r.read === 'bytes');
  const loop = large.find((r) => r.mode === 'loop');
  const live = (r: UploadQueueRow) => (r.liveArrayBuffersGrowth ?? NaN) / r.largestBytes;
  if (blob && bytes && !Number.isNaN(live(blob)) && !Number.isNaN(live(bytes))) {
    const held = (r: UploadQueueRow) => `${live(r).toFixed(2)} copies live (${copies(r.arrayBuffersGrowth, r.largestBytes)} at the peak with garbage, ${copies(r.rssGrowth, r.largestBytes)} by RSS)`;
    out.push('');
    out.push(
      `**Findings, ${blob.name}.** Read as a file-backed Blob (the React Native-like path), the queue held ${held(blob)}: it hashes 1 MiB slices and hands the Blob itself to \`FormData\`; the rest of the peak is slices and stream chunks awaiting GC. ` +
        `Read as a Uint8Array, the queue held ${held(bytes)}: the array \`readFile\` returned and the copy \`new Blob([bytes])\` makes for \`FormData\` (Node copies Blob parts) overlap while it is wrapped (the queue lets go of the array then), and Node's fetch copies an in-memory Blob while it streams it` +
        (loop ? `; the plain loop, which wraps its bytes the same way, held ${held(loop)}.` : '.') +
        (live(bytes) > 1.1 ? ' So "no more than one copy" holds when `readFile` returns a Blob, not when it returns bytes.' : ''),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Entry point

if (process.argv[1] && pathToFileURL(process.argv[1]).href === pathToFileURL(HERE).href) {
  const rows = await measureUploadQueue();
  process.stdout.write(`${uploadQueueTable(rows).join('\n')}\n`);
  const failures = uploadQueueFailures(rows);
  for (const f of failures) process.stderr.write(`FAIL: ${f}\n`);
  if (failures.length > 0) process.exitCode = 1;
}
