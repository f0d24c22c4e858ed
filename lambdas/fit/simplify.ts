/**
 * Visvalingam–Whyatt line simplification, used to shrink a route to a byte budget while
 * keeping its shape: a point matters as much as the triangle it forms with its neighbours.
 *
 * `effectiveAreas` ranks every point once (O(n log n) with a heap); keeping the k points with
 * the largest effective area then gives the VW simplification to k points for any k, so a
 * caller can search for the largest k that fits a budget without re-running the algorithm.
 */
import type { LatLon } from './polyline.js';

interface HeapEntry {
  area: number;
  index: number;
  version: number;
}

/** Binary min-heap on area (ties: lower index first, for determinism). */
class MinHeap {
  private readonly items: HeapEntry[] = [];
  get size(): number {
    return this.items.length;
  }
  private less(a: HeapEntry, b: HeapEntry): boolean {
    return a.area < b.area || (a.area === b.area && a.index < b.index);
  }
  push(e: HeapEntry): void {
    const items = this.items;
    items.push(e);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }
  pop(): HeapEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.less(items[l]!, items[m]!)) m = l;
        if (r < items.length && this.less(items[r]!, items[m]!)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Effective area of each point (endpoints: Infinity). Areas are computed on an equirectangular
 * projection around the route's mean latitude: enough to rank points of one route.
 */
export function effectiveAreas(points: readonly LatLon[]): Float64Array {
  const n = points.length;
  const areas = new Float64Array(n).fill(Infinity);
  if (n <= 2) return areas;
  const meanLat = points.reduce((s, p) => s + p[0], 0) / n;
  const kx = Math.cos((meanLat * Math.PI) / 180);
  const x = (i: number) => points[i]![1] * kx;
  const y = (i: number) => points[i]![0];
  const triangle = (a: number, b: number, c: number) => Math.abs((x(b) - x(a)) * (y(c) - y(a)) - (x(c) - x(a)) * (y(b) - y(a))) / 2;

  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  const version = new Int32Array(n);
  const heap = new MinHeap();
  for (let i = 0; i < n; i++) {
    prev[i] = i - 1;
    next[i] = i + 1;
  }
  for (let i = 1; i < n - 1; i++) heap.push({ area: triangle(i - 1, i, i + 1), index: i, version: 0 });

  // Effective areas never decrease along the removal order, so a point is never ranked below
  // one removed before it (the standard VW monotonicity fix).
  let floor = 0;
  while (heap.size > 0) {
    const e = heap.pop()!;
    if (e.version !== version[e.index]) continue; // superseded by a recomputed area
    const i = e.index;
    floor = Math.max(floor, e.area);
    areas[i] = floor;
    version[i] = -1; // removed
    const p = prev[i]!;
    const q = next[i]!;
    next[p] = q;
    prev[q] = p;
    for (const j of [p, q]) {
      if (j <= 0 || j >= n - 1) continue;
      version[j] = version[j]! + 1;
      heap.push({ area: triangle(prev[j]!, j, next[j]!), index: j, version: version[j]! });
    }
  }
  return areas;
}

/** Point indices ordered by importance: most important first, ties by position. */
export function importanceOrder(areas: Float64Array): Int32Array {
  const order = Int32Array.from({ length: areas.length }, (_, i) => i);
  return order.sort((a, b) => areas[b]! - areas[a]! || a - b);
}
