/**
 * S3 object-created events on the uploads bucket (FIT prefix in AWS; every upload locally) →
 * `ingestUploadedObject`. Records are processed one by one; a transient failure is re-thrown so
 * Lambda's asynchronous retries run (and then the DLQ). Processing is idempotent.
 */
import { createHash } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, S3Event } from 'aws-lambda';
import { decodeS3EventKey } from '../core/uploads.js';
import { decodeFitActivity } from '../fit/index.js';
import { ingestUploadedObject, type DecodeFit, type IngestOutcome, type RecordingDecisionLog } from '../processing/ingest-upload.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';
import { uploadsOf } from '../uploads-runtime.js';

export type S3EventHandler = (event: S3Event, context: Context) => Promise<{ results: IngestOutcome[] }>;

export function createFitProcessHandler(rt: Runtime): S3EventHandler {
  const maxBytes = rt.config.uploads.maxBytes;
  const decodeFit: DecodeFit = (bytes) => {
    const r = decodeFitActivity(bytes, { maxBytes: maxBytes.fit });
    if (!r.ok) return { ok: false, reason: r.error.message };
    rt.logger.info('fit decoded', { decoder: r.decoder, records: r.records, sessions: r.sessions, sport: r.fitSport, notes: r.notes.map((n) => n.code) });
    return { ok: true, activity: { ...r.activity }, fileId: r.fileId };
  };
  const deps = {
    store: rt.store,
    objects: uploadsOf(rt),
    now: rt.now,
    config: rt.config.push,
    maxBytes,
    decodeFit,
    sha256Hex: (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex'),
    recordings: rt.recordings,
    // Every placement is logged with the candidates weighed, so a surprising merge can be explained.
    onDecision: (d: RecordingDecisionLog) => rt.logger.info('fit recording placed', { ...d }),
  };
  return middy<S3Event, { results: IngestOutcome[] }>()
    .use(injectLambdaContext(rt.logger, { resetKeys: true }))
    .use(logMetrics(rt.metrics))
    .handler(async (event) => {
      const results: IngestOutcome[] = [];
      for (const record of event.Records ?? []) {
        const key = decodeS3EventKey(record.s3?.object?.key ?? '');
        if (key === null) {
          results.push({ outcome: 'ignored', reason: 'undecodable key' });
          continue;
        }
        const result = await ingestUploadedObject(key, deps);
        rt.logger.info('upload ingested', { key, ...result });
        rt.metrics.addMetric(result.outcome === 'failed' ? 'UploadsFailed' : 'UploadsIngested', MetricUnit.Count, 1);
        results.push(result);
      }
      return { results };
    }) as unknown as S3EventHandler;
}

let built: Promise<S3EventHandler> | undefined;
export const handler: S3EventHandler = async (event, context) => {
  built ??= lambdaRuntime().then(createFitProcessHandler);
  return (await built)(event, context);
};
