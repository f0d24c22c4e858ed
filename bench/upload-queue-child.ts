/**
 * Child process of the upload-queue bench (bench/upload-queue.ts): the UPLOADING SIDE alone, so
 * that its memory is its own. The local stack (API, s3rver, the FIT processor) runs in the parent;
 * this process holds only the client (the queue over a WatermelonDB database on LokiJS, in memory)
 * or the plain loop, the files it reads, and Node's fetch.
 *
 * Started by the parent as `node --import tsx --expose-gc bench/upload-queue-child.ts` with an IPC
 * channel: it sends 'ready', receives one `UploadChildJob`, uploads a warm-up file (not measured),
 * collects garbage, takes the memory baseline, uploads the measured files, and sends back one
 * `UploadChildReport`. It imports nothing of the server but `newUploadId` (which the queue itself
 * imports).
 */
import { createHash } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Database } from '@nozbe/watermelondb';
import watermelonLogger from '@nozbe/watermelondb/utils/common/logger/index.js';
import { createUploadQueue, type ReadFile, type UploadFetch, type UploadJob } from '../client/index.js';
import { newUploadId } from '../lambdas/core/uploads.js';
import { inMemoryDatabase } from '../test/support/watermelon.js';

export interface UploadChildJob {
  /** `queue`: `createUploadQueue` + `resume()`; `loop`: read, node:crypto SHA-256, presign, multipart POST, one file after another. */
  readonly mode: 'queue' | 'loop';
  /** How the file is read: `bytes` = `fs.promises.readFile` (a Uint8Array), `blob` = `fs.openAsBlob` (a file-backed Blob). */
  readonly read: 'bytes' | 'blob';
  readonly baseUrl: string;
  readonly token: string;
  readonly contentType: string;
  /** Uploaded first, the same way, before the baseline is taken (JIT, connection pool, first-call costs). */
  readonly warmup: string;
  readonly files: readonly string[];
  readonly concurrency: number;
  /** How often the memory sampler runs while the files upload (ms). */
  readonly sampleEveryMs: number;
  /**
   * Live mode: a full GC before every sample, so a sample counts only what is still reachable
   * (what the uploader holds), not garbage awaiting collection. It slows the upload: the
   * parent keeps only this run's memory figures, never its times.
   */
  readonly gcBeforeSample: boolean;
}

export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export interface UploadChildUpload {
  readonly uri: string;
  readonly uploadId: string;
  /** The job's final status (the loop: `uploaded` once S3 answered 2xx). */
  readonly status: string;
  readonly attempts: number;
  readonly error: string | null;
  readonly sizeBytes: number | null;
}

export interface StepTimes {
  readonly read: number;
  readonly hash: number;
  readonly presign: number;
  readonly send: number;
}

export interface UploadChildReport {
  /** Wall time of the measured part: `resume()` until every job is uploaded, or the loop over the files. */
  readonly ms: number;
  /** Enqueueing the measured files (queue only; before `ms` starts). */
  readonly enqueueMs: number;
  /**
   * Wall time per step, summed over the files. Queue: from its phase events — read = `reading` →
   * `hashing`, hash = `hashing` → `presigning` (for a Blob this includes reading its slices),
   * presign = `presigning` → `sending`, send = `sending` → S3's answer. The rest of `ms` is the
   * queue's own bookkeeping (job writes to the database, events) between those steps.
   */
  readonly steps: StepTimes;
  /** `resume()` calls it took (queue only; 1 unless an attempt failed). */
  readonly passes: number;
  readonly warmup: UploadChildUpload;
  readonly uploads: readonly UploadChildUpload[];
  /** `process.memoryUsage()` after the warm-up and a full GC, just before the measured part. */
  readonly before: MemorySample;
  /** Per field, the largest value sampled during the measured part (each field on its own). */
  readonly peak: MemorySample;
  /** The largest heapUsed + external sampled at once during the measured part. */
  readonly peakHeapPlusExternal: number;
  /** The OS high-water mark of this process's RSS (`resourceUsage().maxRSS`), bytes: before and after the measured part. */
  readonly maxRssBefore: number;
  readonly maxRssAfter: number;
  readonly samples: number;
}

// ---------------------------------------------------------------------------------------------
// Memory sampling

const sampleNow = (): MemorySample => {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
};
let sampling = false;
let samples = 0;
let peak: MemorySample = sampleNow();
let peakHeapPlusExternal = 0;
let gcBeforeSample = false;
const gc = (globalThis as { gc?: () => void }).gc;
/** Cheap enough to call at every phase and around every request (a few µs; a GC first in live mode). */
function sample(): void {
  if (!sampling) return;
  if (gcBeforeSample) gc!();
  const m = sampleNow();
  samples++;
  peak = {
    rss: Math.max(peak.rss, m.rss),
    heapUsed: Math.max(peak.heapUsed, m.heapUsed),
    external: Math.max(peak.external, m.external),
    arrayBuffers: Math.max(peak.arrayBuffers, m.arrayBuffers),
  };
  peakHeapPlusExternal = Math.max(peakHeapPlusExternal, m.heapUsed + m.external);
}

/** Wall time per step of the measured part (see `UploadChildReport.steps`). */
const steps = { read: 0, hash: 0, presign: 0, send: 0 };
/** The queue's current step per job and since when (phase events). */
const stepSince = new Map<string, { step: keyof typeof steps; at: number }>();
const PHASE_STEP = { reading: 'read', hashing: 'hash', presigning: 'presign', sending: 'send' } as const;
function enterStep(jobId: string, step: keyof typeof steps | null): void {
  const now = performance.now();
  const current = stepSince.get(jobId);
  if (current) steps[current.step] += now - current.at;
  if (step === null) stepSince.delete(jobId);
  else stepSince.set(jobId, { step, at: now });
}

/**
 * Node's fetch, sampled before each request and once its answer arrived; the end of a queue's send
 * step. The request goes out as the caller built it: the queue sends to S3 with `redirect: 'error'`,
 * the plain loop with Node's default ('follow', under which undici tees the body it might replay).
 */
const sampledFetch = (onStored?: () => void): UploadFetch => async (url, init) => {
  sample();
  const res = await fetch(url, init as RequestInit);
  sample();
  if (init.body instanceof FormData) onStored?.();
  return res;
};

// ---------------------------------------------------------------------------------------------
// The two uploaders

function fileReader(read: UploadChildJob['read']): ReadFile {
  return read === 'blob' ? (uri) => openAsBlob(uri) : (uri) => readFile(uri);
}


interface Measured {
  readonly ms: number;
  readonly enqueueMs: number;
  readonly passes: number;
  readonly uploads: UploadChildUpload[];
}

interface Uploader {
  warmup(uri: string): Promise<UploadChildUpload>;
  measured(uris: readonly string[]): Promise<Measured>;
}

function queueUploader(job: UploadChildJob): Uploader {
  const database = inMemoryDatabase('bench-upload-queue');
  const queue = createUploadQueue({
    database,
    baseUrl: job.baseUrl,
    getToken: () => job.token,
    readFile: fileReader(job.read),
    // Concurrency 1 in the bench: the job whose send step ends is the one sending.
    fetch: sampledFetch(() => {
      for (const [jobId, s] of stepSince) if (s.step === 'send') enterStep(jobId, null);
    }),
    autoStart: false,
    concurrency: job.concurrency,
  });
  // Step times from the phase events; every event is also a memory sample.
  queue.subscribe((e) => {
    sample();
    if (e.type === 'phase') enterStep(e.jobId, PHASE_STEP[e.phase]);
    else if (e.job.status !== 'uploading') enterStep(e.job.id, null);
  });
  const asUpload = (j: UploadJob): UploadChildUpload => ({ uri: j.uri, uploadId: j.uploadId, status: j.status, attempts: j.attempts, error: j.error, sizeBytes: j.sizeBytes });

  /** resume() until no job is unfinished (at most 5 passes: a failing attempt is retried, not hidden). */
  const drain = async (): Promise<number> => {
    let passes = 0;
    do {
      await queue.resume();
      passes++;
    } while (passes < 5 && (await queue.jobs()).some((j) => j.status === 'pending' || j.status === 'uploading'));
    return passes;
  };

  return {
    async warmup(uri) {
      const id = await queue.enqueue({ uri, kind: 'fit', contentType: job.contentType });
      await drain();
      return asUpload((await queue.jobs()).find((j) => j.id === id)!);
    },
    async measured(uris) {
      const e0 = performance.now();
      const ids: string[] = [];
      for (const uri of uris) ids.push(await queue.enqueue({ uri, kind: 'fit', contentType: job.contentType }));
      const enqueueMs = performance.now() - e0;
      const t0 = performance.now();
      const passes = await drain();
      const ms = performance.now() - t0;
      const jobs = await queue.jobs();
      return { ms, enqueueMs, passes, uploads: ids.map((id) => asUpload(jobs.find((j) => j.id === id)!)) };
    },
  };
}

/** The plain loop: what an app without a queue would write. No retries: a failure is reported as such. */
function loopUploader(job: UploadChildJob): Uploader {
  const read = fileReader(job.read);
  const fetchSampled = sampledFetch();
  const one = async (uri: string): Promise<UploadChildUpload> => {
    const uploadId = newUploadId();
    let at = performance.now();
    const lap = (step: keyof typeof steps) => {
      const now = performance.now();
      steps[step] += now - at;
      at = now;
    };
    const data = await read(uri);
    if (data === null) throw new Error(`${uri}: not found`);
    sample();
    lap('read');
    const hash = createHash('sha256');
    if (data instanceof Blob) {
      for await (const chunk of data.stream()) hash.update(chunk);
    } else hash.update(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
    const sha256 = hash.digest('hex');
    lap('hash');
    const sizeBytes = data instanceof Blob ? data.size : data.byteLength;
    const failed = (error: string): UploadChildUpload => ({ uri, uploadId, status: 'failed', attempts: 1, error, sizeBytes });

    const presign = await fetchSampled(`${job.baseUrl}/api/v1/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${job.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'fit', content_type: job.contentType, size_bytes: sizeBytes, activity_id: null, sha256, upload_id: uploadId }),
    });
    const presignText = await presign.text();
    if (presign.status !== 201) return failed(`presign answered ${presign.status}: ${presignText.slice(0, 200)}`);
    const answer = JSON.parse(presignText) as { url: string; fields: Record<string, string> };
    lap('presign');
    const form = new FormData();
    for (const [name, value] of Object.entries(answer.fields)) form.append(name, value);
    const blob = data instanceof Blob ? data : new Blob([data as Uint8Array<ArrayBuffer>], { type: job.contentType });
    form.append('file', blob, uri.split('/').pop());
    const stored = await fetchSampled(answer.url, { method: 'POST', body: form });
    const storedText = await stored.text();
    lap('send');
    if (stored.status < 200 || stored.status > 299) return failed(`S3 answered ${stored.status}: ${storedText.slice(0, 200)}`);
    return { uri, uploadId, status: 'uploaded', attempts: 1, error: null, sizeBytes };
  };
  return {
    warmup: one,
    async measured(uris) {
      const t0 = performance.now();
      const uploads: UploadChildUpload[] = [];
      // `concurrency` files in flight, as the queue runs them.
      let next = 0;
      const worker = async () => {
        while (next < uris.length) {
          const i = next++;
          uploads[i] = await one(uris[i]!);
        }
      };
      await Promise.all(Array.from({ length: Math.min(job.concurrency, uris.length) }, worker));
      return { ms: performance.now() - t0, enqueueMs: 0, passes: 1, uploads };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Main

const job = await new Promise<UploadChildJob>((resolve) => {
  process.once('message', (m) => resolve(m as UploadChildJob));
  process.send!('ready'); // asked for only now: a message sent before the listener existed would be lost
});
if (job.gcBeforeSample && !gc) throw new Error('live mode needs --expose-gc');
// Its progress lines ("[Loki] Database loaded") are not the bench's business.
((watermelonLogger as unknown as { default?: typeof watermelonLogger }).default ?? watermelonLogger).silence();

const uploader = job.mode === 'queue' ? queueUploader(job) : loopUploader(job);
const warmup = await uploader.warmup(job.warmup);

gc?.();
gc?.();
const before = sampleNow();
const maxRssBefore = process.resourceUsage().maxRSS * 1024;
peak = before;
Object.assign(steps, { read: 0, hash: 0, presign: 0, send: 0 });
stepSince.clear();
peakHeapPlusExternal = before.heapUsed + before.external;
sampling = true;
gcBeforeSample = job.gcBeforeSample;
const timer = setInterval(sample, job.sampleEveryMs);
const measured = await uploader.measured(job.files);
sample();
clearInterval(timer);
sampling = false;

const report: UploadChildReport = {
  ms: measured.ms,
  enqueueMs: measured.enqueueMs,
  steps: { ...steps },
  passes: measured.passes,
  warmup,
  uploads: measured.uploads,
  before,
  peak,
  peakHeapPlusExternal,
  maxRssBefore,
  maxRssAfter: process.resourceUsage().maxRSS * 1024,
  samples,
};
// The LokiJS adapter keeps the event loop alive: end explicitly once the report is out.
process.send!(report, () => process.exit(0));
