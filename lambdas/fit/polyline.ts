/**
 * Google's Encoded Polyline Algorithm Format, precision 5 (1e-5° ≈ 1.1 m), as map SDKs decode
 * it. Written here because none of the installed packages provides it and it is 20 lines.
 * Output characters are ASCII 63..126, so its length in characters is its length in bytes.
 */

/** A point as [latitude, longitude] in degrees. */
export type LatLon = readonly [lat: number, lon: number];

const FACTOR = 1e5;

/** Rounds half away from zero, like Google's reference encoder (Math.round rounds -0.5 up). */
const toUnits = (deg: number) => Math.sign(deg) * Math.round(Math.abs(deg) * FACTOR);

function encodeSigned(value: number, out: string[]): void {
  let v = value < 0 ? ~(value << 1) : value << 1;
  while (v >= 0x20) {
    out.push(String.fromCharCode((0x20 | (v & 0x1f)) + 63));
    v >>>= 5;
  }
  out.push(String.fromCharCode(v + 63));
}

export function encodePolyline(points: Iterable<LatLon>): string {
  const out: string[] = [];
  let prevLat = 0;
  let prevLon = 0;
  for (const [lat, lon] of points) {
    const la = toUnits(lat);
    const lo = toUnits(lon);
    encodeSigned(la - prevLat, out);
    encodeSigned(lo - prevLon, out);
    prevLat = la;
    prevLon = lo;
  }
  return out.join('');
}
