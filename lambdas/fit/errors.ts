/**
 * Why a FIT upload produced no activity. The handler stores `message` in `uploads.error`, so it
 * is written for the runner who uploaded the file; `code` is for programs (metrics, tests).
 */
export const FIT_ERROR_CODES = [
  /** Zero bytes. */
  'empty',
  /** The bytes do not start with a FIT file header. */
  'not_fit',
  /** A header or data checksum does not match: the bytes were damaged. */
  'bad_crc',
  /** The file ends before the data its header declares (an interrupted transfer). */
  'truncated',
  /** Over a size or message-count bound (protects the Lambda's memory and time). */
  'too_large',
  /** A valid FIT file that records no activity (settings, monitoring, an empty activity). */
  'no_activity',
  /** An intact file that no decoder could read. */
  'decode_failed',
] as const;

export type FitErrorCode = (typeof FIT_ERROR_CODES)[number];

export class FitFileError extends Error {
  override readonly name = 'FitFileError';
  constructor(
    readonly code: FitErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
