/**
 * GET /api/v1/account/export[?delivery=inline|link] — everything the service keeps about the
 * caller (core/account.ts).
 * - `inline` (default): 200 with the export document, as long as the response fits
 *   EXPORT_INLINE_MAX_BYTES; a larger export is written to a file instead and answered
 *   `303 See Other` with `Location:` its presigned link and the link's JSON (a client following
 *   redirects receives the document itself; Lambda could not return it).
 * - `link`: always the file: 200 `{ download_url, expires_at, bytes }`.
 * Link answers are `Cache-Control: no-store` (the URL is a credential for the file).
 */
import { deliverExport } from '../core/account.js';
import { ValidationError } from '../core/errors.js';
import { newUploadId } from '../core/uploads.js';
import { fileSpool } from '../adapters/export-spool.js';
import { httpHandler, lazyHandler } from '../http/handler.js';
import { queryOf, userIdOf } from '../http/request.js';
import { json, type HttpResponse } from '../http/response.js';
import { lambdaRuntime, type Runtime } from '../runtime.js';
import { accountObjectsOf, exportFilesOf } from '../uploads-runtime.js';

export const EXPORT_DELIVERIES = ['inline', 'link'] as const;
export type ExportDeliveryMode = (typeof EXPORT_DELIVERIES)[number];

/** The `delivery` query parameter; absent: `inline`. */
export function parseExportDelivery(query: Record<string, string | undefined>): ExportDeliveryMode {
  const value = query.delivery;
  if (value === undefined) return 'inline';
  if ((EXPORT_DELIVERIES as readonly string[]).includes(value)) return value as ExportDeliveryMode;
  throw new ValidationError('invalid delivery', [{ path: 'delivery', field: 'delivery', message: `must be one of ${EXPORT_DELIVERIES.map((d) => `'${d}'`).join(', ')}` }]);
}

export function createAccountExportHandler(rt: Runtime) {
  return httpHandler(rt, async (event): Promise<HttpResponse> => {
    const userId = userIdOf(event);
    const delivery = parseExportDelivery(queryOf(event));
    const result = await deliverExport(
      userId,
      { store: rt.store, signer: rt.signer, objects: accountObjectsOf(rt), now: rt.now, pull: rt.config.pull, spool: () => fileSpool(), files: exportFilesOf(rt), newId: () => newUploadId() },
      { link: delivery === 'link', inlineMaxBytes: rt.config.export.inlineMaxBytes },
    );
    if (result.kind === 'inline') return { statusCode: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: result.body };
    rt.logger.info('account export delivered as a file', { bytes: result.link.bytes, requested: result.requested });
    const headers = { 'cache-control': 'no-store', ...(result.requested ? {} : { location: result.link.download_url }) };
    return json(result.requested ? 200 : 303, result.link, headers);
  });
}

export const handler = lazyHandler(async () => createAccountExportHandler(await lambdaRuntime()));
