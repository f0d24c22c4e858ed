/**
 * Adapter over fit-file-parser (MIT), used only when the Garmin SDK cannot read a file that
 * passed the container check: compressed-timestamp record headers (Forerunner 70 era files),
 * which the SDK rejects, and files on which the SDK fails internally (e.g. a triathlon whose
 * session summaries are written first). It runs with `force: false`, so it verifies the CRCs
 * again itself and never decodes damaged bytes. It reads one FIT file per call, so a chained
 * upload is parsed file by file. It does not merge HRM-segment heart rate into records.
 */
import FitParser, { type ParsedFit } from 'fit-file-parser';
import type { VerifiedFit } from './container.js';
import { fitManufacturerNumber, type DecodeAttempt } from './decode-garmin.js';
import { RecordColumnsBuilder, enumNameOrNull, epochMsOrNull, finiteOrNull, type FitFileId, type SessionFacts, type SportHint } from './decoded.js';

/** fit-file-parser calls back synchronously; this turns that into a value (or the error it reported). */
function parseSegment(buffer: ArrayBuffer): { data: ParsedFit } | { error: string } {
  let outcome: { data: ParsedFit } | { error: string } = { error: 'fit-file-parser returned nothing' };
  try {
    new FitParser({ force: false, mode: 'list', lengthUnit: 'm', speedUnit: 'm/s' }).parse(buffer, (error, data) => {
      outcome = error !== undefined || data === undefined ? { error: String(error) } : { data };
    });
  } catch (e) {
    outcome = { error: e instanceof Error ? e.message : String(e) };
  }
  return outcome;
}

type Fields = Record<string, unknown>;

export function decodeWithFitFileParser(verified: VerifiedFit): DecodeAttempt {
  const parsed: ParsedFit[] = [];
  for (const [index, s] of verified.segments.entries()) {
    const result = parseSegment(verified.buffer.slice(s.start, s.end));
    if ('error' in result) return { ok: false, reason: 'decoder_error', detail: `FIT file ${index + 1}: ${result.error}` };
    parsed.push(result.data);
  }

  const records = new RecordColumnsBuilder(parsed.reduce((n, p) => n + (p.records?.length ?? 0), 0));
  const sessions: SessionFacts[] = [];
  const sportHints: SportHint[] = [];
  const fileTypes: (string | null)[] = [];
  const first = parsed[0]?.file_ids?.[0] as Fields | undefined;
  const fileId: FitFileId | null = first
    ? { manufacturer: fitManufacturerNumber(first.manufacturer), product: finiteOrNull(first.product), serialNumber: finiteOrNull(first.serial_number), timeCreatedMs: epochMsOrNull(first.time_created) }
    : null;
  parsed.forEach((p, segment) => {
    fileTypes.push(enumNameOrNull((p.file_ids?.[0] as Fields | undefined)?.type));
    for (const r of (p.records ?? []) as unknown as Fields[]) {
      records.push({
        segment,
        timeMs: epochMsOrNull(r.timestamp),
        latDeg: finiteOrNull(r.position_lat), // already degrees
        lonDeg: finiteOrNull(r.position_long),
        distanceM: finiteOrNull(r.distance),
        heartRate: finiteOrNull(r.heart_rate),
      });
    }
    for (const s of (p.sessions ?? []) as unknown as Fields[]) {
      sessions.push({
        segment,
        fitSport: enumNameOrNull(s.sport),
        fitSubSport: enumNameOrNull(s.sub_sport),
        startMs: epochMsOrNull(s.start_time),
        endMs: epochMsOrNull(s.timestamp),
        elapsedS: finiteOrNull(s.total_elapsed_time),
        distanceM: finiteOrNull(s.total_distance),
        ascentM: finiteOrNull(s.total_ascent),
        avgHeartRate: finiteOrNull(s.avg_heart_rate),
      });
    }
    const sport = p.sports?.[0] as Fields | undefined;
    if (sport) sportHints.push({ segment, fitSport: enumNameOrNull(sport.sport), fitSubSport: enumNameOrNull(sport.sub_sport) });
  });

  return { ok: true, fit: { decoder: 'fit-file-parser', fileId, fileTypes, sessions, sportHints, records: records.build() } };
}
