/**
 * Bundle rows of `npm run bench`: each Lambda handler module bundled exactly as the stack deploys
 * it (lib/bundling.ts, the options of lib/handler-function.ts), beside a floor: a minimal SDK v3
 * handler (one DynamoDB GetItem) bundled the same way. Per bundle: raw and gzip size, and the cold
 * import time — a fresh `node --enable-source-maps` process (as NODE_OPTIONS on Lambda) imports the
 * bundle and prints the `performance.now()` delta around the import; median of BUNDLE_RUNS (≥ 5)
 * runs, interleaved across bundles after one discarded warm-up run each. The external AWS SDK
 * resolves to this repo's copy, standing in for the runtime's.
 *
 * Standalone: `npx tsx bench/bundles.ts` prints the table. Modules not written yet are listed
 * under the table, not measured.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { API_ROUTES, EVENT_HANDLERS } from '../lambdas/routes.js';
import { HANDLER_BUNDLE } from '../lib/bundling.js';
import { FIT_MAX_BYTES } from '../lambdas/fit/limits.js';

const HANDLERS_DIR = fileURLToPath(new URL('../lambdas/handlers/', import.meta.url));
const NODE_MODULES = fileURLToPath(new URL('../node_modules', import.meta.url));
const RUNS = Math.max(5, Number(process.env.BUNDLE_RUNS ?? 7));
export const FLOOR = 'floor: SDK v3 GetItem';

/** The floor: what any handler touching DynamoDB pays at least. */
const FLOOR_SOURCE = `import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
const client = new DynamoDBClient({});
export const handler = async (event) => {
  const out = await client.send(new GetItemCommand({ TableName: process.env.TABLE_NAME, Key: { pk: { S: String(event.pk) }, sk: { S: 'CLOCK' } } }));
  return out.Item ?? null;
};
`;

export interface BundleRow {
  /** Handler module name, or FLOOR. */
  readonly handler: string;
  readonly rawBytes: number;
  readonly gzipBytes: number;
  readonly mapBytes: number;
  /** Cold import times, one per fresh process (ms). */
  readonly importRuns: readonly number[];
  readonly importMs: number;
  /** This row ÷ the floor. */
  readonly gzipVsFloor: number;
  readonly importVsFloor: number;
}

export interface BundleReport {
  readonly rows: BundleRow[];
  /** Handler modules declared in lambdas/routes.ts whose file does not exist yet. */
  readonly missing: string[];
}

/** Every handler module of lambdas/routes.ts (API routes, then event handlers), once each. */
export function handlerModules(): string[] {
  return [...new Set([...API_ROUTES.map((r) => r.handler), ...Object.values(EVENT_HANDLERS).map((h) => h.handler)])];
}

/** Bundles `entry` into `outdir/index.mjs` (+ map) with the deployed options; sizes of the result. */
export async function bundleLikeLambda(entry: string, outdir: string) {
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, HANDLER_BUNDLE.outFile);
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: HANDLER_BUNDLE.platform,
    format: HANDLER_BUNDLE.format,
    target: HANDLER_BUNDLE.target,
    mainFields: [...HANDLER_BUNDLE.mainFields],
    banner: { js: HANDLER_BUNDLE.banner },
    minify: HANDLER_BUNDLE.minify,
    sourcemap: HANDLER_BUNDLE.sourceMap,
    sourcesContent: HANDLER_BUNDLE.sourcesContent,
    external: [...HANDLER_BUNDLE.externalModules],
    outfile,
    logLevel: 'error',
  });
  const code = readFileSync(outfile);
  return { outfile, rawBytes: code.length, gzipBytes: gzipSync(code).length, mapBytes: statSync(`${outfile}.map`).size };
}

/** One fresh process: milliseconds spent in `await import(bundle)`. */
function coldImport(outfile: string): number {
  const script = `const t0 = performance.now(); await import(${JSON.stringify(pathToFileURL(outfile).href)}); process.stdout.write(String(performance.now() - t0));`;
  const out = execFileSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH,
      TABLE_NAME: 'bench-bundles',
      CURSOR_SECRET: 'x'.repeat(48),
      UPLOADS_BUCKET: 'bench-bundles',
      FIT_MAX_BYTES: String(FIT_MAX_BYTES),
      AWS_REGION: 'us-east-1',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  const ms = Number(out);
  if (!Number.isFinite(ms)) throw new Error(`cold import of ${outfile} printed ${JSON.stringify(out)}`);
  return ms;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Bundles and measures every existing handler module and the floor (first row). */
export async function measureBundleReport(): Promise<BundleReport> {
  const work = mkdtempSync(join(tmpdir(), 'bench-bundles-'));
  try {
    // Bundles import the external SDK as the runtime provides it: here, this repo's copy.
    symlinkSync(NODE_MODULES, join(work, 'node_modules'), 'dir');
    const floorEntry = join(work, 'floor-src', 'floor.mjs');
    mkdirSync(join(work, 'floor-src'));
    writeFileSync(floorEntry, FLOOR_SOURCE);

    const modules = handlerModules();
    const missing = modules.filter((m) => !existsSync(`${HANDLERS_DIR}${m}.ts`));
    const targets = [{ handler: FLOOR, entry: floorEntry }, ...modules.filter((m) => !missing.includes(m)).map((m) => ({ handler: m, entry: `${HANDLERS_DIR}${m}.ts` }))];
    const built = [];
    for (const [i, t] of targets.entries()) built.push({ ...t, ...(await bundleLikeLambda(t.entry, join(work, `b${i}`))) });

    for (const b of built) coldImport(b.outfile); // warm-up: file cache, not measured
    const runs = new Map<string, number[]>(built.map((b) => [b.handler, []]));
    for (let r = 0; r < RUNS; r++) for (const b of built) runs.get(b.handler)!.push(coldImport(b.outfile));

    const floor = built[0]!;
    const floorImport = median(runs.get(FLOOR)!);
    const rows = built.map((b): BundleRow => {
      const importRuns = runs.get(b.handler)!;
      const importMs = median(importRuns);
      return { handler: b.handler, rawBytes: b.rawBytes, gzipBytes: b.gzipBytes, mapBytes: b.mapBytes, importRuns, importMs, gzipVsFloor: b.gzipBytes / floor.gzipBytes, importVsFloor: importMs / floorImport };
    });
    return { rows, missing };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The rows alone (floor first), for callers that format their own table. */
export async function measureBundles(): Promise<BundleRow[]> {
  return (await measureBundleReport()).rows;
}

const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;

/** Markdown lines in bench/run.ts's style: a heading, the conditions, the table, the caveats. */
export function formatBundleReport(report: BundleReport): string[] {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const floor = report.rows[0];
  const out = [
    '## Lambda bundles',
    '',
    `Bundled with esbuild as lib/handler-function.ts deploys them (ESM, ${HANDLER_BUNDLE.target}, minified, source map, ${HANDLER_BUNDLE.externalModules.join(', ')} external). ` +
      `Cold import = a fresh \`node --enable-source-maps\` process importing the bundle, median of ${floor?.importRuns.length ?? RUNS} runs (one warm-up run discarded; OS file cache warm). ` +
      `Measured on Node ${process.version}, ${platform()} ${arch()}, ${cpus().length} × ${cpu}, load average (1 min) ${(loadavg()[0] ?? 0).toFixed(2)}; ` +
      'Lambda runs Node 22 on arm64 (Graviton), so absolute times differ there — compare the × columns.',
    '',
    '| handler | bundle | gzip | map | × floor (gzip) | cold import ms (runs) | × floor (import) |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of report.rows) {
    out.push(
      `| ${r.handler} | ${kb(r.rawBytes)} | ${kb(r.gzipBytes)} | ${kb(r.mapBytes)} | ×${r.gzipVsFloor.toFixed(1)} | ${r.importMs.toFixed(1)} (${r.importRuns.length}) | ×${r.importVsFloor.toFixed(2)} |`,
    );
  }
  out.push('');
  out.push(
    'The floor imports @aws-sdk/client-dynamodb from the runtime and nothing else: its import time is mostly the SDK\'s own; a handler\'s extra over it is what its bundle adds. ' +
      'Import time is not a full Lambda cold start (no sandbox/INIT overhead, no code download, no Secrets Manager read; handlers build their clients on the first invocation).',
  );
  if (report.missing.length > 0) out.push('', `Not measured (module not written yet): ${report.missing.map((m) => `\`lambdas/handlers/${m}.ts\``).join(', ')}.`);
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.stdout.write(`${formatBundleReport(await measureBundleReport()).join('\n')}\n`);
}
