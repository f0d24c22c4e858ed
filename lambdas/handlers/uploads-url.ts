/** GET /api/v1/uploads/{upload_id}/url — a short-lived download URL, for the owner only. */
import { downloadUrl } from '../core/upload-service.js';
import { httpHandler, lazyHandler } from '../http/handler.js';
import { userIdOf } from '../http/request.js';
import { json } from '../http/response.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';
import { uploadsOf } from '../uploads-runtime.js';

export function createUploadsUrlHandler(rt: Runtime) {
  return httpHandler(rt, async (event) => {
    const userId = userIdOf(event);
    const body = await downloadUrl(userId, event.pathParameters?.upload_id ?? '', { store: rt.store, objects: uploadsOf(rt) });
    return json(200, body);
  });
}

export const handler = lazyHandler(async () => createUploadsUrlHandler(await lambdaRuntime()));
