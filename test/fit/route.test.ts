import { describe, expect, it } from 'vitest';
import type { LatLon } from '../../lambdas/fit/polyline.js';
import { buildRoute, hasFix } from '../../lambdas/fit/route.js';
import { effectiveAreas, importanceOrder } from '../../lambdas/fit/simplify.js';
import { decodePolyline } from './support/polyline-decode.js';

/** A smooth wander of n points about 3 m apart (deterministic). */
function wander(n: number): LatLon[] {
  const points: LatLon[] = [];
  let lat = 46;
  let lon = 7;
  for (let t = 0; t < n; t++) {
    points.push([lat, lon]);
    const heading = 0.3 * Math.sin(t / 400) + 0.2 * Math.sin(t / 97) + t / 3000;
    lat += (3 * Math.cos(heading)) / 111_320;
    lon += (3 * Math.sin(heading)) / 77_000;
  }
  return points;
}

const limits = { maxRoutePoints: 50_000, maxPolylineBytes: 16 * 1024 };
const close = (a: readonly number[], b: readonly number[]) => Math.abs(a[0]! - b[0]!) <= 1e-5 && Math.abs(a[1]! - b[1]!) <= 1e-5;

describe('hasFix', () => {
  it('accepts real coordinates and rejects missing, out-of-range and (0°, 0°) "no fix" positions', () => {
    expect(hasFix(46.5, 6.6)).toBe(true);
    expect(hasFix(-33.9, 151.2)).toBe(true);
    expect(hasFix(0, 6.6)).toBe(true);
    expect(hasFix(0, 0)).toBe(false);
    expect(hasFix(NaN, 6.6)).toBe(false);
    expect(hasFix(91, 6.6)).toBe(false);
    expect(hasFix(46, 181)).toBe(false);
  });
});

describe('buildRoute', () => {
  it('has no polyline without GPS points', () => {
    expect(buildRoute([], limits)).toEqual({ polyline: null, gpsPoints: 0, keptPoints: 0 });
  });

  it('keeps every point when the polyline fits the budget', () => {
    const points = wander(300);
    const route = buildRoute(points, limits);
    expect(route.keptPoints).toBe(300);
    const decoded = decodePolyline(route.polyline!);
    expect(decoded).toHaveLength(300);
    decoded.forEach((p, i) => expect(close(p, points[i]!)).toBe(true));
  });

  it.each([32, 100, 1_000, 4_096, 16 * 1024])('stays within a %i-byte budget, close to it, keeping the start and the end', (maxPolylineBytes) => {
    const points = wander(20_000);
    const route = buildRoute(points, { maxRoutePoints: 50_000, maxPolylineBytes });
    const polyline = route.polyline!;
    expect(polyline.length).toBeLessThanOrEqual(maxPolylineBytes);
    // The search keeps (nearly) as many points as fit, not just a few.
    expect(polyline.length).toBeGreaterThan(maxPolylineBytes * 0.75);
    const decoded = decodePolyline(polyline);
    expect(decoded).toHaveLength(route.keptPoints);
    expect(route.keptPoints).toBeLessThan(20_000);
    expect(close(decoded[0]!, points[0]!)).toBe(true);
    expect(close(decoded.at(-1)!, points.at(-1)!)).toBe(true);
  });

  it('keeps the corner of an L-shaped route when only a few points fit (shape over spacing)', () => {
    const points: LatLon[] = [];
    for (let i = 0; i <= 1000; i++) points.push([46 + i * 1e-4, 7]); // north…
    for (let i = 1; i <= 1000; i++) points.push([46.1, 7 + i * 1e-4]); // …then east
    const route = buildRoute(points, { maxRoutePoints: 50_000, maxPolylineBytes: 32 });
    const decoded = decodePolyline(route.polyline!);
    expect(decoded.some((p) => close(p, [46.1, 7]))).toBe(true);
    expect(decoded.length).toBeGreaterThanOrEqual(3);
  });

  it('thins more than maxRoutePoints points evenly before encoding, first and last kept', () => {
    const points = wander(1000);
    const route = buildRoute(points, { maxRoutePoints: 10, maxPolylineBytes: 16 * 1024 });
    expect(route).toMatchObject({ gpsPoints: 1000, keptPoints: 10 });
    const decoded = decodePolyline(route.polyline!);
    expect(close(decoded[0]!, points[0]!)).toBe(true);
    expect(close(decoded[9]!, points[999]!)).toBe(true);
    expect(close(decoded[1]!, points[111]!)).toBe(true); // every 111th point
  });
});

describe('Visvalingam–Whyatt ranking', () => {
  it('ranks endpoints first, a corner next, and points on a straight line last', () => {
    const points: LatLon[] = [
      [0, 0],
      [1, 0],
      [2, 0], // corner
      [2, 1],
      [2, 2],
    ];
    const areas = effectiveAreas(points);
    expect(areas[0]).toBe(Infinity);
    expect(areas[4]).toBe(Infinity);
    expect(areas[2]).toBeGreaterThan(areas[1]!);
    expect(areas[2]).toBeGreaterThan(areas[3]!);
    expect(Array.from(importanceOrder(areas).subarray(0, 3))).toEqual([0, 4, 2]);
  });

  it('gives every point infinite importance when there are at most two', () => {
    expect(Array.from(effectiveAreas([[1, 2]]))).toEqual([Infinity]);
    expect(Array.from(effectiveAreas([]))).toEqual([]);
  });
});
