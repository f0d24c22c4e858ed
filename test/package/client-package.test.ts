/**
 * The client as an app gets it: `npm pack` of `client/` (its `prepack` builds the package), the
 * tarball installed into a fresh app in a temporary directory, and there:
 * - plain Node ESM and CommonJS import it, with the same exports as the source;
 * - tsc type-checks app files (the README's client section among them) with
 *   `moduleResolution` `bundler` and `nodenext`, `strict`, `exactOptionalPropertyTypes`,
 *   `skipLibCheck: false`: not one diagnostic;
 * - a Metro-like resolver (exports with the `react-native` condition, no `.js`→`.ts` mapping)
 *   resolves every import of the package to a file;
 * - a plain Node process syncs a real WatermelonDB database with `synchronizeWithServer` and
 *   uploads a FIT file through the queue, against the local stack this test starts.
 *
 * The install is offline: the package has no dependencies, and WatermelonDB (the app's own, a
 * peer dependency) is linked from this repository's node_modules, as `npm install
 * @nozbe/watermelondb` would place it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as source from '../../client/index.js';
import { uniqueUser } from '../support/dynamo.js';
import { apiAs, useLocalStack } from '../support/stack.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGE = '@runningcoach/sync-client';
const FIT_FILE = join(root, 'test/fixtures/fit/python-fitparse/activity-small-fenix2-run.fit');

/** npm's own environment variables (set when this runs under `npm test`) would steer the child npm. */
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

let work: string;
let app: string;
let packed: PackResult;
/** What `npm install` put into the fresh app, before WatermelonDB was linked in. */
let installed: string[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sync-client-app-'));
  const pack = await run('npm', ['pack', '--pack-destination', work, '--json'], { cwd: join(root, 'client'), env: childEnv, maxBuffer: 16 << 20 });
  packed = (JSON.parse(pack.stdout) as PackResult[])[0] as PackResult;

  app = join(work, 'app');
  mkdirSync(join(app, 'src'), { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'fresh-app', private: true, type: 'module', dependencies: { [PACKAGE]: `file:../${packed.filename}` } }, null, 2),
  );
  // --legacy-peer-deps: npm would otherwise fetch WatermelonDB; it is linked below instead.
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--legacy-peer-deps', '--ignore-scripts'], { cwd: app, env: childEnv });
  installed = listPackages(join(app, 'node_modules'));
  mkdirSync(join(app, 'node_modules/@nozbe'), { recursive: true });
  symlinkSync(join(root, 'node_modules/@nozbe/watermelondb'), join(app, 'node_modules/@nozbe/watermelondb'), 'dir');
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Top-level package names in a node_modules folder. */
function listPackages(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(dir, n)).map((m) => `${n}/${m}`) : [n]))
    .sort();
}

const pkgDir = () => join(app, 'node_modules', PACKAGE);
const pkgJson = () => JSON.parse(readFileSync(join(pkgDir(), 'package.json'), 'utf8')) as Record<string, any>;

describe('the tarball', () => {
  it('holds the build, its declarations, README and CHANGELOG, and nothing else (no sources, tests or fixtures)', () => {
    const paths = packed.files.map((f) => f.path).sort();
    for (const p of paths) expect(p, p).toMatch(/^(package\.json|README\.md|CHANGELOG\.md|dist\/THIRD-PARTY-NOTICES\.md|dist\/index\.(js|cjs)|dist\/[\w/-]+\.d\.c?ts)$/);
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md', 'CHANGELOG.md', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']));
    // Every declaration comes in both flavours, for the `import` and the `require` entry.
    const dts = paths.filter((p) => p.endsWith('.d.ts'));
    expect(paths.filter((p) => p.endsWith('.d.cts'))).toEqual(dts.map((p) => p.replace(/\.d\.ts$/, '.d.cts')));
  });

  it('installs nothing but itself: WatermelonDB is a peer, the shared core, zod and @noble/hashes are bundled', () => {
    expect(installed).toEqual([PACKAGE]);
    const pkg = pkgJson();
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.peerDependencies).toEqual({ '@nozbe/watermelondb': expect.any(String) });
    expect(pkg.sideEffects).toBe(false);
    const bundle = readFileSync(join(pkgDir(), 'dist/index.js'), 'utf8');
    expect(bundle).not.toMatch(/@aws-sdk|@middy|@aws-lambda-powertools|@garmin\/fitsdk|from ["']node:/);
  });

  it('is versioned by semver, and the CHANGELOG starts with that version', () => {
    const { version } = pkgJson();
    expect(version).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
    const changelog = readFileSync(join(pkgDir(), 'CHANGELOG.md'), 'utf8');
    expect(/^## \[?(\d+\.\d+\.\d+[\w.-]*)\]?/m.exec(changelog)?.[1]).toBe(version);
  });
});

describe('importing it', () => {
  const exportsOfSource = () => Object.keys(source).sort();

  it('from plain Node ESM', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `const m = await import('${PACKAGE}'); console.log(JSON.stringify(Object.keys(m).sort()))`], { cwd: app, env: childEnv });
    expect(JSON.parse(stdout)).toEqual(exportsOfSource());
  });

  it('from CommonJS (require), as Jest setups do', async () => {
    const { stdout } = await run(process.execPath, ['-e', `const m = require('${PACKAGE}'); console.log(JSON.stringify(Object.keys(m).filter((k) => k !== '__esModule').sort()))`], {
      cwd: app,
      env: childEnv,
    });
    expect(JSON.parse(stdout)).toEqual(exportsOfSource());
  });
});

/** A small app using every part of the API, for the type checker. */
const APP_FILE = `
import { Database, Model } from '@nozbe/watermelondb';
import {
  appSchema, createSyncAdapter, createUploadQueue, getSyncStatus, hasPendingChanges, synchronizeWithServer,
  SyncHttpError, type SyncProgress, type SyncStatus, type UploadJob,
} from '${PACKAGE}';

class Activity extends Model { static override table = 'activities'; }
declare const database: Database;
const getToken = async (): Promise<string> => 'token';
export const models = [Activity];
export const version: number = appSchema.version;

export async function syncNow(show: (p: SyncProgress) => void): Promise<SyncStatus> {
  const uploads = createUploadQueue({ database, baseUrl: 'https://sync.example.com', getToken, readFile: async () => null });
  const id: string = await uploads.enqueue({ uri: 'file:///run.fit', kind: 'fit', contentType: 'application/vnd.ant.fit' });
  const jobs: UploadJob[] = await uploads.jobs();
  try {
    await synchronizeWithServer({ database, baseUrl: 'https://sync.example.com', getToken, onProgress: show, log: {} });
  } catch (e) {
    if (e instanceof SyncHttpError && e.retryAfterSeconds !== undefined) return syncNow(show);
    throw e;
  }
  const { pullChanges } = createSyncAdapter({ baseUrl: 'https://sync.example.com', getToken });
  void pullChanges; void id; void jobs;
  // The check can fail: under exactOptionalPropertyTypes an option may be left out, not set to
  // undefined; were this accepted, tsc would report the directive as unused.
  // @ts-expect-error
  await synchronizeWithServer({ database, baseUrl: 'https://sync.example.com', getToken, maxPushBytes: undefined });
  const pending: boolean = await hasPendingChanges({ database, uploadQueue: uploads });
  void pending;
  return getSyncStatus({ database, uploadQueue: uploads });
}
`;

/** The README's client section, as an app developer pastes it. */
function readmeClientSnippet(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.split(/^## Client/m)[1]?.split(/^## /m)[0] ?? '';
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md: no ```ts block in the Client section');
  return block;
}

/** What the README's snippet imports from the app itself, and Expo's file API (declared, not installed). */
const APP_STUBS = {
  'src/auth.ts': `export async function getToken(): Promise<string> { return 'token'; }\n`,
  'src/expo-file-system.d.ts': `declare module 'expo-file-system' { export class File extends Blob { constructor(uri: string); readonly exists: boolean; } }\n`,
};

const STRICT = {
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  skipLibCheck: false,
  noEmit: true,
  target: 'ES2022',
  // React Native's globals (fetch, Blob, FormData, timers) are DOM-shaped; no Node types.
  lib: ['ES2022', 'DOM'],
  types: [],
};

async function typeCheck(name: string, compilerOptions: Record<string, unknown>, files: Record<string, string>): Promise<string> {
  const dir = join(app, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...STRICT, ...compilerOptions }, include: ['src'] }, null, 2));
  // The app's package.json (type: module) is one level up; node_modules too.
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  try {
    await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir, env: childEnv });
    return '';
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    return `${stdout ?? ''}${stderr ?? ''}` || String(e);
  }
}

describe('type-checking an app against it (strict, exactOptionalPropertyTypes, skipLibCheck: false)', () => {
  it('moduleResolution bundler (React Native, Expo), with the README snippet', async () => {
    const out = await typeCheck('tsc-bundler', { module: 'preserve', moduleResolution: 'bundler', customConditions: ['react-native'] }, {
      'src/app.ts': APP_FILE,
      'src/readme.ts': readmeClientSnippet(),
      ...APP_STUBS,
    });
    expect(out).toBe('');
  });

  it('moduleResolution nodenext, from an ES module and from a CommonJS one', async () => {
    const out = await typeCheck('tsc-nodenext', { module: 'nodenext', moduleResolution: 'nodenext' }, {
      'src/app.ts': APP_FILE,
      'src/app-cjs.cts': `import { synchronizeWithServer, type SyncStatus } from '${PACKAGE}';\nexport const f: typeof synchronizeWithServer = synchronizeWithServer;\nexport type S = SyncStatus;\n`,
    });
    expect(out).toBe('');
  });
});

/**
 * Metro's resolution as React Native ≥ 0.79 configures it by default: package `exports` on, the
 * `react-native` condition plus `import` or `require`, and file extensions tried as written and
 * then with `.js`/`.json` (never a `.js` specifier mapped to a `.ts` file: metro#886).
 */
function metroResolve(spec: string, fromFile: string, kind: 'import' | 'require', packageExports = true): string | undefined {
  const conditions = ['react-native', kind, 'default'];
  const asFile = (p: string) => [p, `${p}.js`, `${p}.json`, join(p, 'index.js')].find((c) => existsSync(c) && statSync(c).isFile());
  if (spec.startsWith('.')) return asFile(resolve(dirname(fromFile), spec));
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
  const subpath = spec.slice(name.length);
  for (let dir = dirname(fromFile); ; dir = dirname(dir)) {
    const pkgDir = join(dir, 'node_modules', name);
    if (existsSync(join(pkgDir, 'package.json'))) {
      const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { exports?: unknown; main?: string; 'react-native'?: unknown; browser?: unknown };
      if (pkg.exports === undefined || !packageExports) {
        // Metro's resolverMainFields: react-native, browser, main (string values only here).
        const main = [pkg['react-native'], pkg.browser, pkg.main].find((f): f is string => typeof f === 'string');
        return asFile(join(pkgDir, subpath || main || 'index.js'));
      }
      const exportsMap = typeof pkg.exports === 'string' || Array.isArray(pkg.exports) ? { '.': pkg.exports } : (pkg.exports as Record<string, unknown>);
      const target = pick(exportsMap[`.${subpath}`], conditions);
      return target === undefined ? undefined : [resolve(pkgDir, target)].find((c) => existsSync(c));
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** An exports target under the given conditions, in the map's order. */
function pick(target: unknown, conditions: readonly string[]): string | undefined {
  if (typeof target === 'string') return target;
  if (typeof target !== 'object' || target === null || Array.isArray(target)) return undefined;
  for (const [condition, value] of Object.entries(target)) {
    if (conditions.includes(condition)) {
      const found = pick(value, conditions);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

const SPECIFIERS = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g;

describe('resolving its import graph as Metro does (no .js→.ts mapping, react-native condition)', () => {
  it('Metro without package exports (React Native before 0.79) takes the react-native field: the ESM build', () => {
    expect(metroResolve(PACKAGE, join(app, 'src/metro-entry.js'), 'import', false)).toBe(join(pkgDir(), 'dist/index.js'));
  });

  it.each(['import', 'require'] as const)('every module the %s entry reaches resolves to a file', (kind) => {
    const appFile = join(app, 'src/metro-entry.js');
    const entry = metroResolve(PACKAGE, appFile, kind);
    expect(entry, `${PACKAGE} for '${kind}'`).toBe(join(pkgDir(), kind === 'import' ? 'dist/index.js' : 'dist/index.cjs'));
    const seen = new Set<string>();
    const externals = new Map<string, string | undefined>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
      for (const [, spec] of code.matchAll(SPECIFIERS)) {
        const s = spec as string;
        expect(s, `${file} imports a TypeScript source`).not.toMatch(/\.tsx?$/);
        const target = metroResolve(s, file, kind);
        if (s.startsWith('.')) {
          expect(target, `${s} from ${file}`).toBeDefined();
          visit(target as string);
        } else externals.set(s, target);
      }
    };
    visit(entry as string);
    // One file, and the only packages it reaches are WatermelonDB's, all present.
    expect([...seen]).toEqual([entry]);
    expect([...externals.keys()].every((s) => s === '@nozbe/watermelondb' || s.startsWith('@nozbe/watermelondb/')), [...externals.keys()].join(', ')).toBe(true);
    for (const [s, target] of externals) expect(target, s).toBeDefined();
    expect(externals.has('@nozbe/watermelondb')).toBe(true);
  });
});

describe('syncing a real WatermelonDB database from the installed package (plain Node, local stack)', () => {
  /** Small pages: the first sync of the seeded account takes several. */
  const stack = useLocalStack({ env: { PULL_PAGE_BYTES: '1000' } });
  const SEEDED = 40;

  const DEVICE_SCRIPT = `
import { openAsBlob } from 'node:fs';
import { createInterface } from 'node:readline';
import { Database, Model } from '@nozbe/watermelondb';
import Loki from '@nozbe/watermelondb/adapters/lokijs/index.js';
import { appSchema, createUploadQueue, getSyncStatus, synchronizeWithServer } from '${PACKAGE}';

const { BASE_URL: baseUrl, TOKEN, FIT_FILE } = process.env;
const getToken = () => TOKEN;
const LokiJSAdapter = Loki.default ?? Loki;
const modelClasses = Object.keys(appSchema.tables).map((t) => class extends Model { static table = t; });
const adapter = new LokiJSAdapter({ schema: appSchema, useWebWorker: false, useIncrementalIndexedDB: false, extraLokiOptions: { autosave: false } });
const database = new Database({ adapter, modelClasses });
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const out = {};

await database.write(() => database.get('activities').create((r) => {
  r._raw.id = 'device-run-1';
  r._setRaw('sport', 'running');
  r._setRaw('started_at', 1764000000000);
}));
out.before = await getSyncStatus({ database });
out.first = [];
await synchronizeWithServer({ database, baseUrl, getToken, onProgress: (p) => out.first.push(p) });

const queue = createUploadQueue({ database, baseUrl, getToken, autoStart: false, readFile: async (uri) => openAsBlob(uri) });
await queue.enqueue({ uri: FIT_FILE, kind: 'fit', contentType: 'application/vnd.ant.fit', activityId: 'device-run-1' });
out.pendingUpload = await getSyncStatus({ database, uploadQueue: queue });
await queue.resume();
out.jobs = await queue.jobs();
console.log('uploaded');
await lines.next(); // the parent has seen the file processed

out.second = [];
await synchronizeWithServer({ database, baseUrl, getToken, onProgress: (p) => out.second.push(p) });
out.status = await getSyncStatus({ database, uploadQueue: queue });
out.activity = (await database.get('activities').find('device-run-1'))._raw;
out.upload = (await database.get('uploads').find(out.jobs[0].uploadId))._raw;
out.activities = await database.get('activities').query().fetchCount();
console.log(JSON.stringify(out));
process.exit(0); // LokiJS keeps the event loop alive
`;

  /** Runs the device script; answers its 'uploaded' line once the stack processed the upload. */
  async function runDevice(env: Record<string, string>): Promise<{ out: any; stderr: string }> {
    writeFileSync(join(app, 'src/device.mjs'), DEVICE_SCRIPT);
    const child = spawn(process.execPath, ['src/device.mjs'], { cwd: app, env: { ...childEnv, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      const before = stdout;
      stdout += d.toString();
      if (!before.includes('uploaded\n') && stdout.includes('uploaded\n')) {
        void stack()
          .uploadsSettled()
          .then(() => child.stdin.write('go\n'));
      }
    });
    const code = await new Promise<number | null>((done) => child.on('close', done));
    if (code !== 0) throw new Error(`device script exited ${code}:\n${stderr}\n${stdout}`);
    const last = stdout.trim().split('\n').at(-1) as string;
    return { out: JSON.parse(last), stderr };
  }

  it('first sync with progress over several pages, an upload through the queue, then status "synced"', async () => {
    const user = uniqueUser('package');
    const token = await stack().token(user);
    const api = apiAs(stack(), token);
    const created = Array.from({ length: SEEDED }, (_, i) => ({ id: `seeded-${String(i).padStart(3, '0')}`, sport: 'running', started_at: 1763000000000 + i * 86_400_000, distance_m: 5000 + i }));
    const seeded = await api.push({ changes: { activities: { created, updated: [], deleted: [] } }, last_pulled_at: null });
    expect(seeded.status).toBe(200);

    const { out, stderr } = await runDevice({ BASE_URL: stack().url, TOKEN: token, FIT_FILE });
    // WatermelonDB's [Sync] diagnostics would mean a protocol misuse.
    expect(stderr).not.toContain('[Sync]');

    // Before: one record created on the device, nothing else.
    expect(out.before).toMatchObject({ state: 'pending', unsyncedRecords: 1, unsyncedByTable: { activities: 1 }, lastPulledAt: null, lastSync: null });

    // The first sync's progress: pulling page by page, applying, pushing the device's record, done.
    const first = out.first as source.SyncProgress[];
    const phases = first.map((p) => p.phase).filter((p, i, all) => p !== all[i - 1]);
    expect(phases).toEqual(['pulling', 'applying', 'pushing', 'done']);
    expect(first.every((p) => p.firstSync)).toBe(true);
    const pulling = first.filter((p) => p.phase === 'pulling');
    expect(pulling[0]).toMatchObject({ pages: 0, records: 0, bytes: 0 });
    expect(pulling.map((p) => p.pages)).toEqual(pulling.map((_, i) => i));
    expect(pulling.length - 1).toBeGreaterThan(2);
    for (let i = 1; i < pulling.length; i++) {
      expect((pulling[i] as source.SyncProgress).bytes).toBeGreaterThan((pulling[i - 1] as source.SyncProgress).bytes);
      expect((pulling[i] as source.SyncProgress).records).toBeGreaterThanOrEqual((pulling[i - 1] as source.SyncProgress).records);
    }
    // Every seeded record arrived (a server may send one twice across pages, never fewer).
    expect((pulling.at(-1) as source.SyncProgress).records).toBeGreaterThanOrEqual(SEEDED);
    expect(first.filter((p) => p.phase === 'pushing').map((p) => [p.recordsToPush, p.pushedRecords])).toEqual([
      [1, 0],
      [1, 1],
    ]);

    // Uploaded once, and after the next sync the FIT data is on the device's activity.
    expect(out.pendingUpload).toMatchObject({ state: 'pending', unsyncedRecords: 0, pendingUploads: 1, failedUploads: 0 });
    expect(out.jobs).toHaveLength(1);
    expect(out.jobs[0]).toMatchObject({ status: 'uploaded', attempts: 1 });
    expect(out.upload).toMatchObject({ id: out.jobs[0].uploadId, status: 'processed', activity_id: 'device-run-1' });
    expect(out.activity).toMatchObject({ id: 'device-run-1', gps_source: 'garmin' });
    expect(out.activities).toBe(SEEDED + 1);
    expect((out.second as source.SyncProgress[]).every((p) => !p.firstSync)).toBe(true);
    expect((out.second as source.SyncProgress[]).at(-1)?.phase).toBe('done');
    expect(out.status).toMatchObject({ state: 'synced', unsyncedRecords: 0, pendingConflictReports: 0, pendingUploads: 0, failedUploads: 0, lastSync: { error: null } });
    expect(out.status.lastPulledAt).toEqual(expect.any(Number));

    // And the server holds what the device pushed.
    const onServer: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.pull({ last_pulled_at: null, ...(cursor ? { cursor } : {}) });
      onServer.push(...page.body.changes.activities.updated.map((r: { id: string }) => r.id));
      cursor = page.body.cursor;
    } while (cursor);
    expect(onServer).toContain('device-run-1');
  });
});
