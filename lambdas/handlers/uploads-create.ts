/** POST /api/v1/uploads — presigns a FIT file or image upload and creates its `uploads` record. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createUpload } from '../core/upload-service.js';
import { uploadLimits } from '../core/uploads.js';
import { httpHandler, lazyHandler } from '../http/handler.js';
import { jsonBody, userIdOf } from '../http/request.js';
import { json } from '../http/response.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';
import { uploadsOf } from '../uploads-runtime.js';

export function createUploadsCreateHandler(rt: Runtime) {
  const limits = uploadLimits(rt.config.uploads.maxBytes);
  return httpHandler(rt, async (event) => {
    const userId = userIdOf(event);
    const result = await createUpload(userId, jsonBody(event), {
      store: rt.store,
      objects: uploadsOf(rt),
      now: rt.now,
      config: rt.config.push,
      limits,
    });
    rt.metrics.addMetric('UploadsPresigned', MetricUnit.Count, 1);
    return json(result.created ? 201 : 200, result.body);
  });
}

export const handler = lazyHandler(async () => createUploadsCreateHandler(await lambdaRuntime()));
