/** GET /api/v1/account/export — everything the service keeps about the caller (core/account.ts). */
import { exportAccount } from '../core/account.js';
import { httpHandler, lazyHandler } from '../http/handler.js';
import { userIdOf } from '../http/request.js';
import { json } from '../http/response.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';
import { accountObjectsOf } from '../uploads-runtime.js';

export function createAccountExportHandler(rt: Runtime) {
  return httpHandler(rt, async (event) => {
    const userId = userIdOf(event);
    const exported = await exportAccount(userId, { store: rt.store, signer: rt.signer, objects: accountObjectsOf(rt), now: rt.now, pull: rt.config.pull });
    return json(200, exported);
  });
}

export const handler = lazyHandler(async () => createAccountExportHandler(await lambdaRuntime()));
