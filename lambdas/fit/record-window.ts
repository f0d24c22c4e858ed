/**
 * What a run of records says on its own: which records fall in a session's time window, and
 * the distance, heart rate and GPS points they carry. Used where the session message is
 * silent, and for files without one.
 */
import type { RecordColumns } from './decoded.js';
import type { LatLon } from './polyline.js';
import { hasFix } from './route.js';

/** Records of one FIT file within a time span, both ends included. */
export interface RecordWindow {
  readonly segment: number;
  readonly fromMs: number;
  readonly toMs: number;
}

export function windowIndices(records: RecordColumns, w: RecordWindow): number[] {
  const out: number[] = [];
  for (let i = 0; i < records.count; i++) {
    const t = records.timeMs[i]!;
    if (records.segment[i] === w.segment && t >= w.fromMs && t <= w.toMs) out.push(i);
  }
  return out;
}

/** Last minus first recorded distance (cumulative odometer), null if unknown or decreasing. */
export function distanceSpan(records: RecordColumns, indices: readonly number[]): number | null {
  const ds = indices.map((i) => records.distanceM[i]!).filter(Number.isFinite);
  if (ds.length < 2) return null;
  const span = ds[ds.length - 1]! - ds[0]!;
  return span >= 0 ? span : null;
}

export function meanHeartRate(records: RecordColumns, indices: readonly number[]): number | null {
  let sum = 0;
  let n = 0;
  for (const i of indices) {
    const hr = records.heartRate[i]!;
    if (Number.isFinite(hr) && hr > 0) {
      sum += hr;
      n++;
    }
  }
  return n === 0 ? null : Math.round(sum / n);
}

export function gpsPoints(records: RecordColumns, indices: readonly number[]): LatLon[] {
  const points: LatLon[] = [];
  for (const i of indices) {
    const lat = records.latDeg[i]!;
    const lon = records.lonDeg[i]!;
    if (hasFix(lat, lon)) points.push([lat, lon]);
  }
  return points;
}
