/**
 * What both decoders are reduced to: the few facts an activity is built from, in SI units
 * (ms since the epoch, seconds, metres, degrees, bpm). Decoder quirks (camelCase vs snake_case,
 * semicircles vs degrees, Date objects) end at the adapters; everything after works on this.
 */

export type FitDecoderName = 'garmin-fitsdk' | 'fit-file-parser';

/** One session message: one sport's part of an activity. Absent values are null. */
export interface SessionFacts {
  /** Which FIT file of a chained upload the session came from (0-based). */
  readonly segment: number;
  /** FIT sport and sub-sport names in snake_case (`running`, `trail`), or the number if unknown. */
  readonly fitSport: string | null;
  readonly fitSubSport: string | null;
  readonly startMs: number | null;
  /** The session message's timestamp: when the session ended. */
  readonly endMs: number | null;
  readonly elapsedS: number | null;
  readonly distanceM: number | null;
  readonly ascentM: number | null;
  readonly avgHeartRate: number | null;
}

/** The first `sport` message of a FIT file: the sport even when the file has no session. */
export interface SportHint {
  readonly segment: number;
  readonly fitSport: string | null;
  readonly fitSubSport: string | null;
}

/**
 * Record messages, column-wise in typed arrays (NaN = absent): a 10-hour 1 Hz file has 36,000
 * records, and five numbers each cost far less here than one object each.
 */
export interface RecordColumns {
  readonly count: number;
  readonly segment: Uint32Array;
  readonly timeMs: Float64Array;
  readonly latDeg: Float64Array;
  readonly lonDeg: Float64Array;
  readonly distanceM: Float64Array;
  readonly heartRate: Float64Array;
}

/**
 * The first FIT file's `file_id`: which device made the recording and when. Together they name
 * one recording whatever bytes carry it (a re-export re-encodes the records, not the file_id).
 * `manufacturer` and `product` are the FIT numbers; absent fields are null.
 */
export interface FitFileId {
  readonly manufacturer: number | null;
  readonly product: number | null;
  readonly serialNumber: number | null;
  readonly timeCreatedMs: number | null;
}

export interface DecodedFit {
  readonly decoder: FitDecoderName;
  /** `file_id` of the first FIT file of the upload (null when it has none). */
  readonly fileId: FitFileId | null;
  /** file_id.type of each FIT file (`activity`, `settings`…), null when absent. */
  readonly fileTypes: readonly (string | null)[];
  readonly sessions: readonly SessionFacts[];
  readonly sportHints: readonly SportHint[];
  readonly records: RecordColumns;
}

/** Fills RecordColumns one record at a time; size known up front. */
export class RecordColumnsBuilder {
  private i = 0;
  private readonly columns: RecordColumns;
  constructor(count: number) {
    this.columns = {
      count,
      segment: new Uint32Array(count),
      timeMs: new Float64Array(count).fill(NaN),
      latDeg: new Float64Array(count).fill(NaN),
      lonDeg: new Float64Array(count).fill(NaN),
      distanceM: new Float64Array(count).fill(NaN),
      heartRate: new Float64Array(count).fill(NaN),
    };
  }
  push(r: { segment: number; timeMs: number | null; latDeg: number | null; lonDeg: number | null; distanceM: number | null; heartRate: number | null }): void {
    const c = this.columns;
    const i = this.i++;
    c.segment[i] = r.segment;
    c.timeMs[i] = r.timeMs ?? NaN;
    c.latDeg[i] = r.latDeg ?? NaN;
    c.lonDeg[i] = r.lonDeg ?? NaN;
    c.distanceM[i] = r.distanceM ?? NaN;
    c.heartRate[i] = r.heartRate ?? NaN;
  }
  build(): RecordColumns {
    if (this.i !== this.columns.count) throw new Error(`RecordColumnsBuilder: ${this.i} of ${this.columns.count} records pushed`);
    return this.columns;
  }
}

/** Field readers: decoders hand out `unknown`-ish values; only finite numbers and valid dates pass. */
export function finiteOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
export function epochMsOrNull(v: unknown): number | null {
  if (v instanceof Date) {
    const t = v.getTime();
    return Number.isFinite(t) ? t : null;
  }
  return null;
}
export function enumNameOrNull(v: unknown, toSnake: (s: string) => string = (s) => s): string | null {
  if (typeof v === 'string' && v.length > 0) return toSnake(v);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}
