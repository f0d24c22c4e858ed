/**
 * The client package as an app gets it: `npx tsx bench/client-package.ts` packs `client/` (its
 * prepack builds it), installs the tarball offline into a temporary app with WatermelonDB linked
 * from this repo, and prints a markdown table:
 * - the tarball: size, unpacked size, file count;
 * - what it adds to an app bundle, minified by esbuild and gzipped, for the whole API and for a
 *   typical import (`synchronizeWithServer`, `appSchema`, `getSyncStatus`, `createUploadQueue`),
 *   without WatermelonDB (the app has it anyway) and with it (root and `sync` modules);
 * - cold import time: a fresh `node` process imports the package and prints the
 *   `performance.now()` delta, with WatermelonDB loaded before (the package's own cost) and
 *   without (the whole first import); ESM and CommonJS; median of RUNS (≥ 5) runs.
 * Absolute times are this machine's (Node 20, x86); a phone's Hermes differs, the ratios less.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
const RUNS = Math.max(5, Number(process.env.BUNDLE_RUNS ?? 9));
const PACKAGE = '@runningcoach/sync-client';
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

export async function measureClientPackage(): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'sync-client-bench-'));
  try {
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--pack-destination', work, '--json'], { cwd: join(root, 'client'), env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as {
      filename: string;
      size: number;
      unpackedSize: number;
      entryCount: number;
    }[];
    if (!packed) throw new Error('npm pack printed nothing');
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'bench-app', private: true, type: 'module', dependencies: { [PACKAGE]: `file:../${packed.filename}` } }));
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--legacy-peer-deps', '--ignore-scripts'], { cwd: app, env, stdio: 'ignore' });
    mkdirSync(join(app, 'node_modules/@nozbe'), { recursive: true });
    symlinkSync(join(root, 'node_modules/@nozbe/watermelondb'), join(app, 'node_modules/@nozbe/watermelondb'), 'dir');

    const entries = {
      'whole API (`export *`)': `export * from '${PACKAGE}';`,
      'typical import': `export { synchronizeWithServer, appSchema, getSyncStatus, createUploadQueue } from '${PACKAGE}';`,
      'WatermelonDB alone (root + sync)': `export * from '@nozbe/watermelondb'; export * from '@nozbe/watermelondb/sync/index.js';`,
    };
    const sizes: string[] = [];
    for (const [label, code] of Object.entries(entries)) {
      const cells: string[] = [];
      for (const external of label.startsWith('WatermelonDB') ? [false] : [true, false]) {
        const out = await build({
          stdin: { contents: code, resolveDir: app, loader: 'js' },
          bundle: true,
          minify: true,
          format: 'esm',
          platform: 'browser',
          write: false,
          logLevel: 'error',
          external: external ? ['@nozbe/*'] : [],
        });
        const bytes = out.outputFiles[0]?.contents ?? new Uint8Array();
        cells.push(`${kb(bytes.length)} / ${kb(gzipSync(bytes, { level: 9 }).length)}`);
      }
      sizes.push(`| ${label} | ${cells[0]} | ${cells[1] ?? '—'} |`);
    }

    const timed = (mode: 'esm' | 'cjs', preload: boolean) => {
      const wm = ['@nozbe/watermelondb', '@nozbe/watermelondb/sync/index.js'];
      const script =
        mode === 'esm'
          ? `${preload ? wm.map((m) => `await import('${m}');`).join('') : ''}const t = performance.now(); await import('${PACKAGE}'); console.log(performance.now() - t);`
          : `${preload ? wm.map((m) => `require('${m}');`).join('') : ''}const t = performance.now(); require('${PACKAGE}'); console.log(performance.now() - t);`;
      const args = mode === 'esm' ? ['--input-type=module', '-e', script] : ['-e', script];
      return Number(execFileSync(process.execPath, args, { cwd: app, env, encoding: 'utf8' }).trim());
    };
    const cases = [
      ['ESM, WatermelonDB already loaded (the package itself)', 'esm', true],
      ['CommonJS, WatermelonDB already loaded', 'cjs', true],
      ['ESM, first import (WatermelonDB included)', 'esm', false],
      ['CommonJS, first import (WatermelonDB included)', 'cjs', false],
    ] as const;
    const times = cases.map(() => [] as number[]);
    for (const [, mode, preload] of cases) timed(mode, preload); // warm-up, discarded
    for (let i = 0; i < RUNS; i++) cases.forEach(([, mode, preload], c) => times[c]?.push(timed(mode, preload)));

    return [
      `### Client package (\`${PACKAGE}\`)`,
      '',
      `Tarball \`${packed.filename}\`: ${kb(packed.size)}, ${kb(packed.unpackedSize)} unpacked, ${packed.entryCount} files.`,
      '',
      '| bundle (esbuild, minified) | raw / gzip, WatermelonDB external | raw / gzip, with WatermelonDB |',
      '|---|---|---|',
      ...sizes,
      '',
      `| cold import (median of ${RUNS}) | ms |`,
      '|---|---|',
      ...cases.map(([label], c) => `| ${label} | ${median(times[c] ?? []).toFixed(1)} |`),
      '',
      `Node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]?.toFixed(1)} at the end.`,
    ].join('\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) console.log(await measureClientPackage());
