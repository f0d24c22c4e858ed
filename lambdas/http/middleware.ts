import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';
import { isSyncError } from '../core/errors.js';
import { errorResponse } from './response.js';

/**
 * Outermost middleware: turns any error into the v1 error response. Sets the response and
 * does not return, so inner onError handlers (logging, metrics) still run.
 */
export function httpErrorMapper(logger: Logger): MiddlewareObj {
  return {
    onError: async (request) => {
      const e = request.error;
      if (isSyncError(e) && e.expose) logger.info('request rejected', { code: e.code, status: e.statusCode, details: e.details });
      else logger.error('request failed', e as Error);
      request.response = errorResponse(e);
    },
  };
}
