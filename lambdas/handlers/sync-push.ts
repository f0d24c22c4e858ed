/** POST /api/v1/sync — WatermelonDB push. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parsePushBody } from '../core/contract.js';
import { pushChanges } from '../core/push.js';
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
    const conflicts = result.outcomes.filter((o) => o.conflict);
    rt.metrics.addMetric('PushedRecords', MetricUnit.Count, result.outcomes.length);
    rt.metrics.addMetric('SyncConflicts', MetricUnit.Count, conflicts.length);
    for (const c of conflicts) rt.logger.warn('sync conflict resolved', { table: c.table, record_id: c.id, action: c.action, rule: c.conflict?.rule });
    return json(200, { timestamp: result.timestamp });
  });
}

export const handler = lazyHandler(async () => createPushHandler(await lambdaRuntime()));
