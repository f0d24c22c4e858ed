/**
 * FIT file → the values of one `activities` record. Pure: bytes in, result out; no I/O, no
 * AWS, synchronous. The S3-event handler does the reading and writing around it.
 *
 * Pipeline: size bound → container check (every FIT file complete and CRC-intact, Garmin's
 * `checkIntegrity()`; container.ts) → decode with Garmin's SDK, or with fit-file-parser when
 * the SDK cannot read an intact file (decode-fallback.ts) → one session chosen
 * (select-session.ts) → values and route (summarize.ts, route.ts). See README.md.
 */
import type { FitActivitySummary, FitNote } from './activity.js';
import { verifyFitContainer } from './container.js';
import { decodeWithFitFileParser } from './decode-fallback.js';
import { decodeWithGarminSdk } from './decode-garmin.js';
import type { FitDecoderName, FitFileId } from './decoded.js';
import { FitFileError } from './errors.js';
import { resolveFitLimits, type FitLimits } from './limits.js';
import { summarizeActivity } from './summarize.js';

export type { FitActivitySummary, FitNote, FitNoteCode } from './activity.js';
export { FIT_NOTE_CODES } from './activity.js';
export type { FitDecoderName, FitFileId } from './decoded.js';
export { FIT_ERROR_CODES, FitFileError, type FitErrorCode } from './errors.js';
export { DEFAULT_FIT_LIMITS, resolveFitLimits, type FitLimits } from './limits.js';
export { encodePolyline, type LatLon } from './polyline.js';
export { ACTIVITY_SPORTS, activitySportOf, type ActivitySport } from './sport.js';

export type FitDecodeResult =
  | {
      readonly ok: true;
      readonly activity: FitActivitySummary;
      readonly decoder: FitDecoderName;
      /** Record and session messages decoded from the whole upload. */
      readonly records: number;
      readonly sessions: number;
      /** Index of the session the activity comes from; null when derived from records alone. */
      readonly selectedSession: number | null;
      /** FIT sport and sub-sport names behind `activity.sport` (snake_case), for logs. */
      readonly fitSport: string | null;
      readonly fitSubSport: string | null;
      readonly notes: readonly FitNote[];
      /** The first FIT file's `file_id` (device and creation time): the recording's identity. */
      readonly fileId: FitFileId | null;
    }
  | { readonly ok: false; readonly error: FitFileError };

const megabytes = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MB`;
const fail = (error: FitFileError): FitDecodeResult => ({ ok: false, error });

/**
 * Never throws for any input bytes: every problem is an `ok: false` result. Throws a
 * RangeError only for nonsensical `limits` (a programming error).
 */
export function decodeFitActivity(bytes: Uint8Array, limits?: Partial<FitLimits>): FitDecodeResult {
  const resolved = resolveFitLimits(limits);
  try {
    return decode(bytes, resolved);
  } catch (cause) {
    return fail(new FitFileError('decode_failed', 'The FIT file could not be read.', { cause }));
  }
}

function decode(bytes: Uint8Array, limits: FitLimits): FitDecodeResult {
  if (bytes.length > limits.maxBytes) {
    return fail(new FitFileError('too_large', `The file is ${megabytes(bytes.length)}; FIT files up to ${megabytes(limits.maxBytes)} are accepted.`));
  }
  const verified = verifyFitContainer(bytes);
  if (verified instanceof FitFileError) return fail(verified);

  const notes: FitNote[] = [];
  if (verified.segments.length > 1) {
    notes.push({ code: 'chained_files', message: `The upload holds ${verified.segments.length} chained FIT files.` });
  }
  if (verified.trailingBytes > 0) {
    notes.push({ code: 'trailing_bytes_ignored', message: `Ignored ${verified.trailingBytes} bytes after the end of the FIT data.` });
  }

  let attempt = decodeWithGarminSdk(verified, limits.maxMessages);
  if (!attempt.ok && attempt.reason === 'message_limit') {
    return fail(new FitFileError('too_large', `The FIT file holds more than ${limits.maxMessages.toLocaleString('en-US')} messages, more than we can process.`));
  }
  if (!attempt.ok) {
    const sdkDetail = attempt.detail;
    if (bytes.length > limits.maxFallbackBytes) {
      return fail(
        new FitFileError('decode_failed', 'The FIT file is intact, but its contents could not be read.', {
          cause: new Error(`@garmin/fitsdk: ${sdkDetail}; too large for the fallback decoder (${bytes.length} > ${limits.maxFallbackBytes} bytes)`),
        }),
      );
    }
    attempt = decodeWithFitFileParser(verified);
    if (!attempt.ok) {
      const detail = attempt.reason === 'decoder_error' ? attempt.detail : attempt.reason;
      return fail(
        new FitFileError('decode_failed', 'The FIT file is intact, but its contents could not be read.', {
          cause: new Error(`@garmin/fitsdk: ${sdkDetail}; fit-file-parser: ${detail}`),
        }),
      );
    }
    notes.push({ code: 'fallback_decoder', message: `Read with fit-file-parser because Garmin's SDK could not: ${sdkDetail}` });
  }

  const { fit } = attempt;
  const summary = summarizeActivity(fit, limits, notes);
  if (summary instanceof FitFileError) return fail(summary);
  return {
    ok: true,
    activity: summary.activity,
    decoder: fit.decoder,
    records: fit.records.count,
    sessions: fit.sessions.length,
    selectedSession: summary.selectedSession,
    fitSport: summary.fitSport,
    fitSubSport: summary.fitSubSport,
    notes: summary.notes,
    fileId: fit.fileId,
  };
}
