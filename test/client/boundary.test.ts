/**
 * `client/` is bundled into a React Native app: it may import WatermelonDB, the server's pure
 * table definitions and its own files, and nothing of AWS or Node. Checked on the source, with
 * the one server module it reaches.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from '@nozbe/watermelondb';
import type { SyncArgs } from '@nozbe/watermelondb/sync/index.js';
import { describe, expect, it } from 'vitest';
import { createSyncAdapter, type SyncAdapterOptions, type SynchronizeWithServerOptions } from '../../client/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const clientFiles = (readdirSync(join(root, 'client'), { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts'))
  .map((f) => `client/${f.split(sep).join('/')}`)
  .sort();
/** The pure core modules the client shares with the server (and everything they import). */
const SHARED_CORE = ['schema', 'conflict', 'conflict-log', 'contract', 'errors', 'records', 'uploads', 'batches', 'utf8'];
const reached = [...clientFiles, ...SHARED_CORE.map((m) => `lambdas/core/${m}.ts`)];

/** The code without comments (which may well name what the code avoids). */
const code = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
const specifiers = (source: string) =>
  [...source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|\bimport\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => (m[1] ?? m[2]) as string);

describe('client/ import boundary', () => {
  it('finds the client sources', () => {
    expect(clientFiles).toContain('client/index.ts');
  });

  it.each(reached)('%s imports only WatermelonDB, zod, @noble/hashes, the shared pure core and client files', (file) => {
    const source = readFileSync(join(root, file), 'utf8');
    for (const spec of specifiers(source)) {
      const core = /^(?:\.\.\/)+lambdas\/core\/([\w-]+)\.js$/.exec(spec)?.[1] ?? (file.startsWith('lambdas/core/') ? /^\.\/([\w-]+)\.js$/.exec(spec)?.[1] : undefined);
      const allowed =
        (core !== undefined && SHARED_CORE.includes(core)) ||
        (file.startsWith('client/') && (spec.startsWith('./') || (file.split('/').length > 2 && /^\.\.\/[\w-]+\.js$/.test(spec)))) ||
        spec === '@noble/hashes/sha2.js' ||
        spec === '@noble/hashes/utils.js' ||
        spec === 'zod' ||
        spec === '@nozbe/watermelondb' ||
        spec.startsWith('@nozbe/watermelondb/');
      expect(allowed, `${file} imports '${spec}'`).toBe(true);
    }
    expect(code(source), `${file} uses a Node global`).not.toMatch(/\b(process\.|Buffer\b|require\(|__dirname|__filename|global\.)/);
    expect(code(source)).not.toMatch(/node:|@aws-sdk/);
  });

  it('fits synchronize() exactly (checked by the type checker)', () => {
    const adapter = createSyncAdapter({ baseUrl: 'https://sync.test', getToken: () => 'tok' });
    const args: SyncArgs = { database: {} as Database, ...adapter, sendCreatedAsUpdated: true };
    expect(typeof args.pullChanges).toBe('function');
    expect(typeof args.pushChanges).toBe('function');
  });

  it("declares every other option of WatermelonDB's SyncArgs, with a type synchronize() accepts (checked by the type checker)", () => {
    // The package declares its own option types (WatermelonDB's sync declarations fail
    // `skipLibCheck: false`); a WatermelonDB upgrade that adds or changes an option fails here.
    type Owned = 'pullChanges' | 'pushChanges' | 'sendCreatedAsUpdated' | 'unsafeTurbo' | 'conflictResolver';
    type Missing = Exclude<keyof SyncArgs, keyof SynchronizeWithServerOptions | Owned>;
    const nothingMissing: [Missing] extends [never] ? true : Missing = true;
    type Passed = Omit<SynchronizeWithServerOptions, keyof SyncAdapterOptions>;
    const passed: Passed = { database: {} as Database };
    const accepted: Omit<SyncArgs, Owned> = passed;
    const pull: SyncArgs['pullChanges'] = createSyncAdapter({ baseUrl: 'https://sync.test', getToken: () => 'tok' }).pullChanges;
    expect([nothingMissing, accepted.database, typeof pull]).toEqual([true, passed.database, 'function']);
  });
});
