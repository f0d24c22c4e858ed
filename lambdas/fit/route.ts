/**
 * A session's GPS points → an encoded polyline of at most `maxPolylineBytes`.
 *
 * 1. Points with no fix are dropped: missing or out-of-range coordinates, and (0°, 0°), which
 *    devices write when they have no fix.
 * 2. More than `maxRoutePoints` points are thinned evenly (first and last kept): bounds the
 *    work of step 3 whatever the file holds.
 * 3. If the polyline is still over budget, Visvalingam–Whyatt ranks the points and a binary
 *    search keeps the largest number of most important points whose encoding fits.
 */
import { encodePolyline, type LatLon } from './polyline.js';
import { effectiveAreas, importanceOrder } from './simplify.js';

export interface Route {
  /** null when there is no GPS point (treadmill, indoor, pool). */
  readonly polyline: string | null;
  /** GPS points the session had. */
  readonly gpsPoints: number;
  /** Points in the polyline. */
  readonly keptPoints: number;
}

export function hasFix(lat: number, lon: number): boolean {
  return Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && !(lat === 0 && lon === 0);
}

/** Evenly spaced subset of `count` points, first and last included. */
function thinEvenly(points: readonly LatLon[], count: number): LatLon[] {
  if (points.length <= count) return [...points];
  const step = (points.length - 1) / (count - 1);
  return Array.from({ length: count }, (_, i) => points[Math.round(i * step)]!);
}

export function buildRoute(points: readonly LatLon[], limits: { maxRoutePoints: number; maxPolylineBytes: number }): Route {
  const gpsPoints = points.length;
  if (gpsPoints === 0) return { polyline: null, gpsPoints, keptPoints: 0 };
  const candidates = thinEvenly(points, limits.maxRoutePoints);
  const whole = encodePolyline(candidates);
  if (whole.length <= limits.maxPolylineBytes) return { polyline: whole, gpsPoints, keptPoints: candidates.length };

  const order = importanceOrder(effectiveAreas(candidates));
  const encodeTop = (k: number) => encodePolyline(Array.from(order.subarray(0, k)).sort((a, b) => a - b).map((i) => candidates[i]!));
  // Invariant: `best` fits. Two points (the endpoints rank first) always fit the smallest
  // allowed budget; the encoding grows with k in practice, and a k that does not fit is never used.
  let lo = 2;
  let best = encodeTop(2);
  let hi = candidates.length - 1; // all points do not fit
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const encoded = encodeTop(mid);
    if (encoded.length <= limits.maxPolylineBytes) {
      lo = mid;
      best = encoded;
    } else {
      hi = mid - 1;
    }
  }
  return { polyline: best, gpsPoints, keptPoints: lo };
}
