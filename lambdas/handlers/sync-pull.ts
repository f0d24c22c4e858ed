/** GET /api/v1/sync — WatermelonDB pull. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parsePullQuery } from '../core/contract.js';
import { pullChanges } from '../core/pull.js';
import { httpHandler, lazyHandler } from '../http/handler.js';
import { queryOf, userIdOf } from '../http/request.js';
import { json } from '../http/response.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';

export function createPullHandler(rt: Runtime) {
  return httpHandler(rt, async (event) => {
    const userId = userIdOf(event);
    const request = parsePullQuery(queryOf(event));
    const { stats, ...response } = await pullChanges(userId, request, { store: rt.store, signer: rt.signer, now: rt.now, config: rt.config.pull });
    rt.metrics.addMetric('PulledRecords', MetricUnit.Count, stats.records);
    rt.logger.debug('pull', { ...stats, paged: response.cursor !== undefined });
    return json(200, response);
  });
}

export const handler = lazyHandler(async () => createPullHandler(await lambdaRuntime()));
