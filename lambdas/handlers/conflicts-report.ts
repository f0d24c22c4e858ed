/** POST /api/v1/conflicts — a device reports what its conflictResolver discarded. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parseReportBody } from '../core/conflict-log.js';
import { httpHandler, lazyHandler } from '../http/handler.js';
import { jsonBody, userIdOf } from '../http/request.js';
import { json } from '../http/response.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';

export function createConflictsReportHandler(rt: Runtime) {
  return httpHandler(rt, async (event) => {
    const userId = userIdOf(event);
    const reports = parseReportBody(jsonBody(event));
    await rt.store.putConflicts(userId, reports, { nowMs: rt.now(), resolvedBy: 'device', ttlMs: rt.config.push.conflictTtlMs });
    rt.metrics.addMetric('SyncConflicts', MetricUnit.Count, reports.length);
    return json(200, { logged: reports.map((r) => r.id) });
  });
}

export const handler = lazyHandler(async () => createConflictsReportHandler(await lambdaRuntime()));
