/** POST /api/v1/uploads — presigns a FIT file or image upload and creates its `uploads` record. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createUpload } from '../core/upload-service.js';
import { httpHandler, lazyHandler } from '../http/handler.js';
import { jsonBody, userIdOf } from '../http/request.js';
import { json } from '../http/response.js';
import { lambdaRuntime, uploadsOf, type Runtime } from '../runtime.js';

export function createUploadsCreateHandler(rt: Runtime) {
  return httpHandler(rt, async (event) => {
    const userId = userIdOf(event);
    const result = await createUpload(userId, jsonBody(event), {
      store: rt.store,
      objects: uploadsOf(rt),
      now: rt.now,
      config: rt.config.push,
      maxBytes: rt.config.uploads.maxBytes,
    });
    rt.metrics.addMetric('UploadsPresigned', MetricUnit.Count, 1);
    return json(result.created ? 201 : 200, result.body);
  });
}

export const handler = lazyHandler(async () => createUploadsCreateHandler(await lambdaRuntime()));
