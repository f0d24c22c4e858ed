/** GET /api/v1/sync — WatermelonDB pull. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parsePullQuery } from '../core/contract.js';
import { pullChanges } from '../core/pull.js';
import { pullResponseJson } from '../core/pull-json.js';
import { httpHandler, lazyHandler } from '../http/handler.js';
import { queryOf, userIdOf } from '../http/request.js';
import { jsonText } from '../http/response.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';

export function createPullHandler(rt: Runtime) {
  return httpHandler(rt, async (event) => {
    const userId = userIdOf(event);
    const request = parsePullQuery(queryOf(event));
    const { stats, ...response } = await pullChanges(userId, request, { store: rt.store, signer: rt.signer, now: rt.now, config: rt.config.pull, keepRawJson: true });
    rt.metrics.addMetric('PulledRecords', MetricUnit.Count, stats.records);
    rt.logger.debug('pull', { ...stats, paged: response.cursor !== undefined });
    // The body reuses the JSON each record was sized with: every record is serialised once.
    return jsonText(200, pullResponseJson(response));
  });
}

export const handler = lazyHandler(async () => createPullHandler(await lambdaRuntime()));
