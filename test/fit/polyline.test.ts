import { describe, expect, it } from 'vitest';
import { encodePolyline } from '../../lambdas/fit/polyline.js';
import { decodePolyline } from './support/polyline-decode.js';

describe('encodePolyline (Google encoded polyline, precision 5)', () => {
  it("matches the example of Google's format documentation", () => {
    expect(
      encodePolyline([
        [38.5, -120.2],
        [40.7, -120.95],
        [43.252, -126.453],
      ]),
    ).toBe('_p~iF~ps|U_ulLnnqC_mqNvxq`@');
  });

  it("encodes the documentation's single-value walkthrough (-179.9832104 → `~oia@)", () => {
    // Latitude -179.9832104 (the walkthrough's value), longitude 0 ("?").
    expect(encodePolyline([[-179.9832104, 0]])).toBe('`~oia@?');
  });

  it('encodes nothing as an empty string and round-trips through a decoder at 1e-5°', () => {
    expect(encodePolyline([])).toBe('');
    const points: [number, number][] = [
      [46.123456, 7.654321],
      [46.123466, 7.654301],
      [-33.856784, 151.215297],
      [0.000012, -0.000012],
    ];
    const decoded = decodePolyline(encodePolyline(points));
    expect(decoded).toHaveLength(points.length);
    decoded.forEach(([lat, lon], i) => {
      expect(lat).toBeCloseTo(points[i]![0], 5);
      expect(lon).toBeCloseTo(points[i]![1], 5);
    });
  });

  it('rounds symmetrically: a mirrored point decodes to the mirrored value', () => {
    const [[lat, lon]] = decodePolyline(encodePolyline([[0.000025, 0.000035]])) as [[number, number]];
    const [[mLat, mLon]] = decodePolyline(encodePolyline([[-0.000025, -0.000035]])) as [[number, number]];
    expect([mLat, mLon]).toEqual([-lat, -lon]);
  });

  it('writes only ASCII 63..126, so its length is its size in bytes', () => {
    const encoded = encodePolyline(Array.from({ length: 500 }, (_, i) => [45 + Math.sin(i) * 0.3, 7 + Math.cos(i / 7) * 0.3] as const));
    expect(new TextEncoder().encode(encoded).length).toBe(encoded.length);
    expect([...encoded].every((c) => c.charCodeAt(0) >= 63 && c.charCodeAt(0) <= 126)).toBe(true);
  });
});
