/** POST /api/v1/sync — WatermelonDB push. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parsePushBody } from '../core/contract.js';
import { conflictReports, pushChanges, rejectedIdsOf, versionsOf } from '../core/push.js';
import { httpHandler, lazyHandler } from '../http/handler.js';
import { jsonBody, userIdOf } from '../http/request.js';
import { json } from '../http/response.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';

export function createPushHandler(rt: Runtime) {
  return httpHandler(rt, async (event) => {
    const userId = userIdOf(event);
    // The body's last_pulled_at is authoritative; the query parameter is accepted and ignored.
    const request = parsePushBody(jsonBody(event));
    const result = await pushChanges(userId, request, { store: rt.store, policy: rt.policy, now: rt.now, config: rt.config.push });
    const conflicts = conflictReports(result.outcomes);
    rt.metrics.addMetric('PushedRecords', MetricUnit.Count, result.outcomes.length);
    rt.metrics.addMetric('SyncConflicts', MetricUnit.Count, conflicts.length);
    rt.metrics.addMetric('RejectedRecords', MetricUnit.Count, result.rejected.length);
    for (const c of conflicts) rt.logger.info('sync conflict resolved', { table: c.table, record_id: c.record_id, rule: c.rule, conflict_id: c.id });
    for (const r of result.rejected) rt.logger.info('sync record rejected', { table: r.table, record_id: r.id, reasons: r.details.map((d) => d.message) });
    // `versions` (extension of v1): the version holding each accepted change, the device's next base.
    // Rejected records (WatermelonDB's `experimentalRejectedIds`, which keeps them dirty on the
    // device; `rejected` adds the reasons) are present only when there are some.
    const rejection =
      result.rejected.length > 0
        ? { experimentalRejectedIds: rejectedIdsOf(result.rejected), rejected: result.rejected.map((r) => ({ table: r.table, id: r.id, details: r.details })) }
        : {};
    return json(200, { timestamp: result.timestamp, versions: versionsOf(result.outcomes), ...rejection });
  });
}

export const handler = lazyHandler(async () => createPushHandler(await lambdaRuntime()));
