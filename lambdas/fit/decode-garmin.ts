/**
 * Adapter over Garmin's official decoder (@garmin/fitsdk, FIT Protocol License): bytes that
 * passed the container check → DecodedFit. Options stay at the SDK defaults, so heart rate
 * from chained HRM segments is merged into the records and components are expanded.
 */
import { Decoder, Profile, Stream } from '@garmin/fitsdk';
import type { VerifiedFit } from './container.js';
import { RecordColumnsBuilder, enumNameOrNull, epochMsOrNull, finiteOrNull, type DecodedFit, type FitFileId, type SessionFacts, type SportHint } from './decoded.js';

export type DecodeAttempt =
  | { readonly ok: true; readonly fit: DecodedFit }
  /** The file holds more messages than `maxMessages`: decoding stopped there. */
  | { readonly ok: false; readonly reason: 'message_limit' }
  /** The decoder could not read this (intact) file. */
  | { readonly ok: false; readonly reason: 'decoder_error'; readonly detail: string };

const SEMICIRCLES_TO_DEGREES = 180 / 2 ** 31;

/** The SDK names enum values in camelCase (`crossCountrySkiing`); the vocabulary here is snake_case. */
const camelToSnake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Thrown from the message listener to stop the SDK; read() catches it into `errors`. */
class MessageLimitReached extends Error {}

type Mesg = Record<string, unknown>;

export function decodeWithGarminSdk(verified: VerifiedFit, maxMessages: number): DecodeAttempt {
  const stream = Stream.fromArrayBuffer(verified.buffer);
  const segmentEnds = verified.segments.map((s) => s.dataEnd);
  // Which FIT file each record/session came from, told apart by the stream position when the
  // listener runs (right after the message's bytes), because read() concatenates chained files.
  const recordSegments: number[] = [];
  const sessionSegments: number[] = [];
  const fileTypes: (string | null)[] = verified.segments.map(() => null);
  const sportHints: SportHint[] = [];
  let segment = 0;
  let messages = 0;
  let fileId: FitFileId | null = null;

  const { messages: decoded, errors } = new Decoder(stream).read({
    mesgListener: (mesgNum: number, mesg: unknown) => {
      if (++messages > maxMessages) throw new MessageLimitReached();
      while (segment < segmentEnds.length - 1 && stream.position > segmentEnds[segment]!) segment++;
      const m = mesg as Mesg;
      if (mesgNum === Profile.MesgNum.RECORD) recordSegments.push(segment);
      else if (mesgNum === Profile.MesgNum.SESSION) sessionSegments.push(segment);
      else if (mesgNum === Profile.MesgNum.FILE_ID) {
        fileTypes[segment] ??= enumNameOrNull(m.type, camelToSnake);
        if (segment === 0 && fileId === null) fileId = garminFileId(m);
      }
      else if (mesgNum === Profile.MesgNum.SPORT && !sportHints.some((h) => h.segment === segment)) {
        sportHints.push({ segment, fitSport: enumNameOrNull(m.sport, camelToSnake), fitSubSport: enumNameOrNull(m.subSport, camelToSnake) });
      }
    },
  });

  if (errors.some((e) => e instanceof MessageLimitReached)) return { ok: false, reason: 'message_limit' };
  if (errors.length > 0) return { ok: false, reason: 'decoder_error', detail: errors.map((e) => String((e as Error)?.message ?? e)).join('; ') };

  const recordMesgs = (decoded.recordMesgs ?? []) as unknown as Mesg[];
  const records = new RecordColumnsBuilder(recordMesgs.length);
  recordMesgs.forEach((r, i) => {
    const lat = finiteOrNull(r.positionLat);
    const lon = finiteOrNull(r.positionLong);
    records.push({
      segment: recordSegments[i] ?? 0,
      timeMs: epochMsOrNull(r.timestamp),
      latDeg: lat === null ? null : lat * SEMICIRCLES_TO_DEGREES,
      lonDeg: lon === null ? null : lon * SEMICIRCLES_TO_DEGREES,
      distanceM: finiteOrNull(r.distance),
      heartRate: finiteOrNull(r.heartRate),
    });
  });

  const sessionMesgs = (decoded.sessionMesgs ?? []) as unknown as Mesg[];
  const sessions: SessionFacts[] = sessionMesgs.map((s, i) => ({
    segment: sessionSegments[i] ?? 0,
    fitSport: enumNameOrNull(s.sport, camelToSnake),
    fitSubSport: enumNameOrNull(s.subSport, camelToSnake),
    startMs: epochMsOrNull(s.startTime),
    endMs: epochMsOrNull(s.timestamp),
    elapsedS: finiteOrNull(s.totalElapsedTime),
    distanceM: finiteOrNull(s.totalDistance),
    ascentM: finiteOrNull(s.totalAscent),
    avgHeartRate: finiteOrNull(s.avgHeartRate),
  }));

  return { ok: true, fit: { decoder: 'garmin-fitsdk', fileId, fileTypes, sessions, sportHints, records: records.build() } };
}

let manufacturerNumbers: Map<string, number> | undefined;
/**
 * FIT's manufacturer number of a decoder's value: the number itself, or its name in the SDK's
 * camelCase (`wahooFitness`) or fit-file-parser's snake_case (`wahoo_fitness`); null if unknown.
 */
export function fitManufacturerNumber(v: unknown): number | null {
  if (typeof v === 'number') return finiteOrNull(v);
  if (typeof v !== 'string') return null;
  const fold = (s: string) => s.replace(/_/g, '').toLowerCase();
  manufacturerNumbers ??= new Map(
    Object.entries((Profile.types as unknown as Record<string, Record<string, string>>).manufacturer ?? {}).map(([n, name]) => [fold(name), Number(n)]),
  );
  return manufacturerNumbers.get(fold(v)) ?? null;
}

/** The SDK turns enum numbers into names (`garmin`); the identity keeps FIT's numbers. */
function garminFileId(m: Mesg): FitFileId {
  return {
    manufacturer: fitManufacturerNumber(m.manufacturer),
    product: finiteOrNull(m.product),
    serialNumber: finiteOrNull(m.serialNumber),
    timeCreatedMs: epochMsOrNull(m.timeCreated),
  };
}
