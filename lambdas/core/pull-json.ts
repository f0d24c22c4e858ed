/**
 * The pull's response body, serialised once: each pulled raw's JSON is made when the pull sizes it
 * (`keepJson`), and the body is assembled from those texts (`pullResponseJson`).
 */
import type { PullResponse } from './pull.js';

/**
 * The JSON text each pulled raw was sized with (`keepRawJson`). Serialising a page is most of a
 * pull's own CPU (a first sync of 1,000 activities is ~1.8 MB of JSON); with these texts the
 * response body serialises every raw once, not once to size it and once more to send it. Raws are
 * not changed after they are sized (nothing in the pull path writes to a returned raw); the
 * entries go with the raws.
 */
const sizedJson = new WeakMap<object, string>();

/** Keeps the JSON text a pulled raw was sized with, for `pullResponseJson`. */
export function keepJson(raw: object, text: string): void {
  sizedJson.set(raw, text);
}

/**
 * Exactly `JSON.stringify(response)`, with the text of each pulled raw taken from its sizing.
 * Anything else (the envelope, ids in `deleted`, a raw not sized by this module) is serialised here.
 */
export function pullResponseJson(response: PullResponse): string {
  // Every piece into one list, joined once: joining at each level would copy the page once per level.
  const parts: string[] = [];
  writeJson(response, parts);
  return parts.join('');
}

function writeJson(value: unknown, parts: string[]): void {
  if (typeof value !== 'object' || value === null) return void parts.push(JSON.stringify(value));
  const sized = sizedJson.get(value);
  if (sized !== undefined) return void parts.push(sized);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return void parts.push(JSON.stringify(value));
  if (Array.isArray(value)) {
    parts.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) parts.push(',');
      // JSON.stringify writes null for what it cannot serialise in an array (and for holes).
      if (isSkipped(value[i])) parts.push('null');
      else writeJson(value[i], parts);
    }
    return void parts.push(']');
  }
  parts.push('{');
  let first = true;
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (isSkipped(v)) continue;
    parts.push(first ? `${JSON.stringify(key)}:` : `,${JSON.stringify(key)}:`);
    first = false;
    writeJson(v, parts);
  }
  parts.push('}');
}

/** Values JSON.stringify leaves out of an object (and writes as null in an array). */
const isSkipped = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';
