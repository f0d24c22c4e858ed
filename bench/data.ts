/**
 * Deterministic, realistic bench data: activity raws as WatermelonDB pushes them (with a
 * ~1–2 KB encoded route polyline), the push bodies a client builds from them (split at a byte
 * limit), and the same records in the sync table's item layout for the raw baselines.
 */
import { recordSk, userPk } from '../lambdas/adapters/dynamo/keys.js';
import { TABLES, tableDef, type RecordData, type TableDef } from '../lambdas/core/schema.js';

export type ActivityRaw = RecordData & { id: string };

/** mulberry32: small, fast, seedable. */
export function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ID_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** WatermelonDB-style id: 16 random alphanumerics. */
function recordIdOf(rand: () => number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += ID_CHARS[Math.floor(rand() * ID_CHARS.length)];
  return s;
}

/** Google's encoded polyline of one signed delta (in 1e-5 degrees). */
function encodeSigned(v: number): string {
  let x = v < 0 ? ~(v << 1) : v << 1;
  let out = '';
  while (x >= 0x20) {
    out += String.fromCharCode((0x20 | (x & 0x1f)) + 63);
    x >>= 5;
  }
  return out + String.fromCharCode(x + 63);
}

/** A GPS track as a random walk (points every few metres), encoded until `targetBytes`. */
function routePolyline(rand: () => number, targetBytes: number): string {
  let lat = Math.round((52.4 + rand() * 0.2) * 1e5);
  let lng = Math.round((13.3 + rand() * 0.2) * 1e5);
  let heading = rand() * 2 * Math.PI;
  let out = encodeSigned(lat) + encodeSigned(lng);
  while (out.length < targetBytes) {
    heading += (rand() - 0.5) * 0.6;
    const step = 3 + rand() * 9; // 3-12 m between fixes, in ~1.1 m units
    const dLat = Math.round(Math.cos(heading) * step * 0.9);
    const dLng = Math.round(Math.sin(heading) * step * 1.5);
    lat += dLat;
    lng += dLng;
    out += encodeSigned(dLat) + encodeSigned(dLng);
  }
  return out;
}

const SPORTS = ['running', 'running', 'running', 'running', 'trail_running', 'cycling', 'walking'];
const TITLES = ['Morning Run', 'Easy run', 'Long run', 'Intervals 6x800', 'Tempo', 'Recovery jog', 'Hill repeats', 'Parkrun'];
const WORDS = 'felt strong legs heavy windy hot humid rain easy pace negative split hills track with club new shoes calf tight good cadence'.split(' ');

function sentence(rand: () => number, maxChars: number): string {
  const words: string[] = [];
  let len = 0;
  const target = Math.floor(rand() * maxChars);
  while (len < target) {
    const w = WORDS[Math.floor(rand() * WORDS.length)] as string;
    words.push(w);
    len += w.length + 1;
  }
  return words.join(' ');
}

/** `n` activities of one runner, newest first, as WatermelonDB raws of locally created records. */
export function makeActivities(n: number, seed = 42): ActivityRaw[] {
  const rand = rng(seed);
  const day = 86_400_000;
  const start = Date.UTC(2026, 9, 1, 6, 30);
  const out: ActivityRaw[] = [];
  for (let i = 0; i < n; i++) {
    const sport = SPORTS[Math.floor(rand() * SPORTS.length)] as string;
    const manual = rand() < 0.08;
    const durationS = Math.round(1200 + rand() * 6000);
    const distanceM = Math.round(durationS * (2.4 + rand() * 1.4) * 10) / 10;
    const localMs = start - i * day * 0.6 - Math.floor(rand() * 3_600_000);
    out.push({
      id: recordIdOf(rand),
      sport,
      started_at: Math.floor(localMs),
      duration_s: durationS,
      distance_m: distanceM,
      elevation_gain_m: manual ? null : Math.round(rand() * 400),
      avg_heart_rate: manual ? null : Math.round(125 + rand() * 45),
      route_polyline: manual ? null : routePolyline(rand, 1000 + Math.floor(rand() * 1000)),
      gps_source: manual ? 'manual' : 'garmin',
      title: TITLES[Math.floor(rand() * TITLES.length)] as string,
      notes: rand() < 0.3 ? null : sentence(rand, 240),
      perceived_effort: rand() < 0.2 ? null : 1 + Math.floor(rand() * 10),
      upload_id: null,
      // WatermelonDB bookkeeping that every pushed raw carries (ignored by the server).
      created_at: Math.floor(localMs),
      updated_at: Math.floor(localMs),
      _status: 'created',
      _changed: '',
    });
  }
  return out;
}

/** WatermelonDB sends every table of its schema in each push, empty ones included. */
function emptyPushChanges(): Record<string, { created: RecordData[]; updated: RecordData[]; deleted: string[] }> {
  return Object.fromEntries(TABLES.map((t) => [t.name, { created: [], updated: [], deleted: [] }]));
}

export function pushBody(table: string, kind: 'created' | 'updated', raws: readonly RecordData[], lastPulledAt: number | null): string {
  const changes = emptyPushChanges();
  (changes[table] as { created: RecordData[]; updated: RecordData[] })[kind] = [...raws];
  return JSON.stringify({ changes, last_pulled_at: lastPulledAt });
}

/**
 * Splits `created` raws into push bodies of at most `maxBytes` (UTF-8), greedily, as a client
 * adapter does for a push larger than the request limit.
 */
export function splitPushBodies(raws: readonly ActivityRaw[], lastPulledAt: number | null, maxBytes: number): string[] {
  const envelope = Buffer.byteLength(pushBody('activities', 'created', [], lastPulledAt));
  const bodies: string[] = [];
  let chunk: ActivityRaw[] = [];
  let size = envelope;
  for (const raw of raws) {
    const add = Buffer.byteLength(JSON.stringify(raw)) + (chunk.length > 0 ? 1 : 0);
    if (chunk.length > 0 && size + add > maxBytes) {
      bodies.push(pushBody('activities', 'created', chunk, lastPulledAt));
      chunk = [];
      size = envelope;
    }
    chunk.push(raw);
    size += Buffer.byteLength(JSON.stringify(raw)) + (chunk.length > 1 ? 1 : 0);
  }
  if (chunk.length > 0) bodies.push(pushBody('activities', 'created', chunk, lastPulledAt));
  for (const b of bodies) if (Buffer.byteLength(b) > maxBytes) throw new Error(`push body of ${Buffer.byteLength(b)} bytes exceeds ${maxBytes}`);
  return bodies;
}

const ACTIVITIES = tableDef('activities') as TableDef;

/** The record as `DynamoSyncStore` stores a created activity (same attributes, same layout). */
export function storeItem(userId: string, raw: ActivityRaw, stamp: number): Record<string, unknown> {
  const data: RecordData = {};
  for (const c of ACTIVITIES.columns) data[c.name] = raw[c.name] ?? null;
  return {
    pk: userPk(userId),
    sk: recordSk('activities', raw.id),
    tbl: 'activities',
    rid: raw.id,
    data,
    created_at: stamp,
    updated_at: stamp,
  };
}
