/**
 * What the client module costs a device beyond WatermelonDB: `npm run bench:client-footprint`
 * prints two markdown tables.
 * - Source: bytes and lines of the sync side of `client/` (its top-level modules; the upload queue
 *   is apart) and of `client/conflicts.ts`, and `synchronizeWithServer` bundled by esbuild
 *   (minified, gzipped, WatermelonDB external).
 * - localStorage: the bytes (JSON) of each key the module keeps in the database's localStorage,
 *   after each step of a two-device session on the local stack (dynalite, in process): a first
 *   sync of N records another device made, an edit of N/10 of them synced, and the syncs after.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import watermelonLogger from '@nozbe/watermelondb/utils/common/logger/index.js';
import type { Database, Model } from '@nozbe/watermelondb';
import { synchronizeWithServer } from '../client/index.js';
import { startLocalStack } from '../local/server.js';
import { inMemoryDatabase } from '../test/support/watermelon.js';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const root = fileURLToPath(new URL('../', import.meta.url));
const N = Number(process.env.FOOTPRINT_RECORDS ?? 1000);
/** Every key any version of the module has kept (a key it no longer keeps reads as 0). */
const KEYS = ['acks', 'delete_bases', 'conflict_outbox', 'device_id', 'rejected', 'last_sync'].map((k) => `runningcoach_sync.${k}`);

async function sourceTable(): Promise<string> {
  const dir = join(root, 'client');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && statSync(join(dir, f)).isFile());
  const size = (f: string) => {
    const text = readFileSync(join(dir, f), 'utf8');
    return { bytes: Buffer.byteLength(text), lines: text.split('\n').length };
  };
  const all = files.map(size).reduce((a, b) => ({ bytes: a.bytes + b.bytes, lines: a.lines + b.lines }));
  const conflicts = size('conflicts.ts');
  const out = await build({
    stdin: { contents: "export { synchronizeWithServer } from './client/index.ts';", resolveDir: root, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    external: ['@nozbe/watermelondb', '@nozbe/watermelondb/*'],
    write: false,
    logLevel: 'silent',
  });
  const bundle = out.outputFiles[0]?.contents ?? new Uint8Array();
  return [
    '| client source | bytes | lines |',
    '|---|---:|---:|',
    `| \`client/*.ts\` (${files.length} files, the sync side) | ${all.bytes.toLocaleString('en')} | ${all.lines.toLocaleString('en')} |`,
    `| \`client/conflicts.ts\` | ${conflicts.bytes.toLocaleString('en')} | ${conflicts.lines.toLocaleString('en')} |`,
    `| \`synchronizeWithServer\` bundled (min + gzip) | ${gzipSync(bundle).length.toLocaleString('en')} | |`,
  ].join('\n');
}

async function footprint(db: Database): Promise<number[]> {
  return Promise.all(KEYS.map(async (k) => {
    const v = await db.localStorage.get<unknown>(k);
    return v === undefined ? 0 : Buffer.byteLength(JSON.stringify(v));
  }));
}

async function storageTable(): Promise<string> {
  ((watermelonLogger as unknown as { default?: typeof watermelonLogger }).default ?? watermelonLogger).silence();
  const stack = await startLocalStack({ port: 0, logLevel: 'SILENT', changeFeed: false });
  try {
    const token = await stack.token('footprint-user');
    const tablet = inMemoryDatabase('tablet');
    const phone = inMemoryDatabase('phone');
    const sync = (database: Database) => synchronizeWithServer({ database, baseUrl: stack.url, getToken: () => token });
    const ids = Array.from({ length: N }, (_, i) => `footprint-${String(i).padStart(6, '0')}`);
    await tablet.write(async () => {
      const c = tablet.get<Model>('activities');
      await tablet.batch(ids.map((id, i) => c.prepareCreate((r) => {
        r._raw.id = id;
        for (const [k, v] of Object.entries({ sport: 'running', started_at: 1_767_225_600_000 + i, duration_s: 1800, distance_m: 5000, gps_source: 'manual', title: `run ${i}` })) r._setRaw(k, v);
      })));
    });
    await sync(tablet);
    const rows: [string, number[]][] = [];
    await sync(phone);
    rows.push([`phone: first sync (${N} records pulled)`, await footprint(phone)]);
    const edited = ids.slice(0, N / 10);
    await phone.write(async () => {
      const records = await Promise.all(edited.map((id) => phone.get<Model>('activities').find(id)));
      await phone.batch(records.map((r) => r.prepareUpdate(() => r._setRaw('notes', 'edited on the phone'))));
    });
    await sync(phone);
    rows.push([`phone: ${edited.length} edits pushed`, await footprint(phone)]);
    await sync(phone);
    rows.push(['phone: next sync', await footprint(phone)]);
    await sync(phone);
    rows.push(['phone: the sync after', await footprint(phone)]);
    return [
      `| step | ${KEYS.map((k) => `\`${k.replace('runningcoach_sync.', '')}\``).join(' | ')} | total |`,
      `|---|${KEYS.map(() => '---:').join('|')}|---:|`,
      ...rows.map(([label, sizes]) => `| ${label} | ${sizes.map((n) => n.toLocaleString('en')).join(' | ')} | ${sizes.reduce((a, b) => a + b, 0).toLocaleString('en')} |`),
    ].join('\n');
  } finally {
    await stack.close();
  }
}

console.log(await sourceTable());
console.log();
console.log(`localStorage bytes (JSON) per key, keys \`runningcoach_sync.*\`, N = ${N}:`);
console.log();
console.log(await storageTable());
