/**
 * Builds the publishable client package `@runningcoach/sync-client` into `client/dist/`
 * (`npm run build:client`; `npm pack ./client` runs it as `prepack`).
 *
 * - `index.js` (ESM) and `index.cjs` (CommonJS): one esbuild bundle each, from `client/index.ts`.
 *   The shared pure core (`lambdas/core/schema.ts` and the conflict rules: one definition for
 *   server and device) is bundled in, and so are the two libraries it runs, zod (tree-shaken:
 *   Metro does not tree-shake, and a whole zod is 4× what the client uses) and `@noble/hashes`
 *   (ESM-only, which Jest and `require` setups cannot load). Their licences go to
 *   `THIRD-PARTY-NOTICES.md`. Only WatermelonDB stays external: it is the app's own (a peer
 *   dependency), and two copies of it in one app would be two databases' worth of classes.
 * - `*.d.ts` and `*.d.cts`: tsc's declarations of the modules `index.d.ts` reaches, and nothing
 *   else. The build fails when one of them would import outside `client/` (the server core's
 *   types name zod, which an app does not have) or a package other than WatermelonDB.
 *
 * Not minified: the app's bundler minifies, and readable stack traces help in the meantime.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLIENT_DIR = join(root, 'client');
export const DIST_DIR = join(CLIENT_DIR, 'dist');

/** The packages the bundle may contain, with the licence file shipped in the notices. */
const BUNDLED_PACKAGES: Readonly<Record<string, string>> = { zod: 'LICENSE', '@noble/hashes': 'LICENSE' };
/** Left to the app: WatermelonDB, its subpaths included. */
const EXTERNAL = ['@nozbe/watermelondb', '@nozbe/watermelondb/*'];

export interface ClientBuild {
  /** Files written, relative to `client/dist`. */
  readonly files: string[];
  /** Third-party packages inside the bundles. */
  readonly bundledPackages: string[];
}

export async function buildClient(): Promise<ClientBuild> {
  rmSync(DIST_DIR, { recursive: true, force: true });
  mkdirSync(DIST_DIR, { recursive: true });
  const common: BuildOptions = {
    entryPoints: [join(CLIENT_DIR, 'index.ts')],
    bundle: true,
    platform: 'neutral',
    // What Hermes (React Native) and Node 20 both run; the app's Babel may lower it further.
    target: 'es2020',
    mainFields: ['module', 'main'],
    external: EXTERNAL,
    legalComments: 'none',
    metafile: true,
    logLevel: 'error',
  };
  const esm = await build({ ...common, format: 'esm', outfile: join(DIST_DIR, 'index.js') });
  await build({ ...common, format: 'cjs', outfile: join(DIST_DIR, 'index.cjs') });

  const bundledPackages = packagesIn(esm.metafile);
  const unexpected = bundledPackages.filter((p) => !(p in BUNDLED_PACKAGES));
  if (unexpected.length > 0) {
    throw new Error(`the client bundle contains ${unexpected.join(', ')}: add its licence to BUNDLED_PACKAGES or make it external`);
  }
  writeFileSync(join(DIST_DIR, 'THIRD-PARTY-NOTICES.md'), notices(bundledPackages));

  const declarations = emitDeclarations();
  return { files: ['index.js', 'index.cjs', 'THIRD-PARTY-NOTICES.md', ...declarations].sort(), bundledPackages };
}

/** Third-party package names among a bundle's inputs. */
function packagesIn(metafile: Metafile | undefined): string[] {
  const names = new Set<string>();
  for (const input of Object.keys(metafile?.inputs ?? {})) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m?.[1]) names.add(m[1]);
  }
  return [...names].sort();
}

function notices(packages: readonly string[]): string {
  const parts = packages.map((name) => {
    const dir = join(root, 'node_modules', name);
    const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
    const licence = readFileSync(join(dir, BUNDLED_PACKAGES[name] as string), 'utf8').trim();
    return `## ${name} ${version}\n\n\`\`\`\n${licence}\n\`\`\``;
  });
  return `# Third-party notices\n\n\`dist/index.js\` and \`dist/index.cjs\` contain code of these packages.\n\n${parts.join('\n\n')}\n`;
}

/** Relative specifiers of a declaration file: `from './x.js'` and `import('./x.js')`. */
const RELATIVE_SPECIFIER = /(\bfrom\s+|\bimport\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\2/g;
const BARE_SPECIFIER = /(?:\bfrom\s+|\bimport\s*\(\s*)['"]([^'"./][^'"]*)['"]/g;

/**
 * Runs tsc on `client/` and copies the declarations `index.d.ts` reaches into `dist/`, each also
 * as `.d.cts` (with `.cjs` specifiers) for the `require` entry. Returns the files written.
 */
function emitDeclarations(): string[] {
  const out = mkdtempSync(join(tmpdir(), 'sync-client-dts-'));
  try {
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(CLIENT_DIR, 'tsconfig.build.json'), '--outDir', out], {
      encoding: 'utf8',
    });
    if (tsc.status !== 0) throw new Error(`tsc failed for the client declarations:\n${tsc.stdout}${tsc.stderr}`);
    const clientOut = join(out, 'client');
    const written: string[] = [];
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const rel = relative(clientOut, file);
      if (rel.startsWith('..')) throw new Error(`a client declaration imports ${relative(out, file)}, outside client/: keep the server core out of the public types`);
      if (!existsSync(file)) throw new Error(`declaration ${rel} was not emitted`);
      const text = readFileSync(file, 'utf8');
      // Examples in JSDoc import the package itself: only code counts.
      const code = text.replace(/\/\*[\s\S]*?\*\//g, '');
      for (const [, spec] of code.matchAll(BARE_SPECIFIER)) {
        if (spec !== '@nozbe/watermelondb' && !spec?.startsWith('@nozbe/watermelondb/')) throw new Error(`declaration ${rel} imports '${spec}': an app has only WatermelonDB`);
      }
      const target = join(DIST_DIR, rel);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(file, target);
      writeFileSync(target.replace(/\.d\.ts$/, '.d.cts'), text.replace(RELATIVE_SPECIFIER, (_m, lead: string, q: string, spec: string) => `${lead}${q}${spec.replace(/\.js$/, '.cjs')}${q}`));
      written.push(rel, rel.replace(/\.d\.ts$/, '.d.cts'));
      for (const [, , , spec] of code.matchAll(RELATIVE_SPECIFIER)) visit(resolve(dirname(file), (spec as string).replace(/\.js$/, '.d.ts')));
    };
    visit(join(clientOut, 'index.d.ts'));
    return written.map((f) => f.split(sep).join('/'));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await buildClient();
  // stderr: `npm pack --json` runs this as prepack and prints its JSON on stdout.
  console.error(`client/dist: ${result.files.length} files; bundled: ${result.bundledPackages.join(", ")}`);
}
