/**
 * The one synth with real bundling (local esbuild, no Docker): each handler's asset is an ESM
 * bundle with a source map, leaves the AWS SDK to the runtime, stays under its size budget, and
 * loads (and, for the API handlers, answers) in a fresh `node` process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type CfnElement } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleLikeLambda } from '../../bench/bundles.js';
import { HANDLERS_DIR } from '../../lib/handler-function.js';
import { SyncStack } from '../../lib/stack.js';
import { flags } from './support.js';
import { FIT_MAX_BYTES } from '../../lambdas/fit/limits.js';

/** Minified, SDK external. `import { z } from 'zod'` alone would add ~350 KB (toolchain notes). */
const BUNDLE_BUDGET_BYTES = 256 * 1024;
/** The FIT processor carries the FIT decoders (@garmin/fitsdk alone is ~420 KB minified). */
const PROCESSOR_BUDGET_BYTES = 1024 * 1024;

describe('bundled handlers', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-bundle-'));
  const assets = new Map<string, string>();
  let processorAsset = '';

  beforeAll(() => {
    // Stands in for the runtime's SDK: the bundles' external @aws-sdk/* resolve to the repo's copy.
    symlinkSync(fileURLToPath(new URL('../../node_modules', import.meta.url)), join(outdir, 'node_modules'), 'dir');
    const app = new App({ context: flags, outdir, builtinCloudFormationValidation: false });
    const stack = new SyncStack(app, 'BundleTest', { stage: 'dev' });
    const template = Template.fromStack(stack);
    const functions = template.findResources('AWS::Lambda::Function') as Record<string, { Properties: { Code: { S3Key: string } } }>;
    const assetOf = (fn: IFunction) => join(outdir, `asset.${functions[stack.getLogicalId(fn.node.defaultChild as CfnElement)]!.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
    for (const [name, fn] of stack.api.functions) assets.set(name, assetOf(fn));
    processorAsset = assetOf(stack.processing.function);
  }, 120_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('emits an ESM bundle and its source map per handler, within the size budget', () => {
    expect(assets.size).toBeGreaterThan(0);
    for (const [name, dir] of assets) {
      const size = statSync(join(dir, 'index.mjs')).size;
      console.info(`bundle ${name}: ${(size / 1024).toFixed(1)} KB (map ${(statSync(join(dir, 'index.mjs.map')).size / 1024).toFixed(1)} KB)`);
      expect(size, name).toBeLessThan(BUNDLE_BUDGET_BYTES);
      expect(existsSync(join(dir, 'index.mjs.map')), name).toBe(true);
    }
  });

  it('bench/bundles.ts bundles byte for byte what the stack deploys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-like-'));
    try {
      for (const name of ['sync-pull', 'fit-process']) {
        const { outfile } = await bundleLikeLambda(`${HANDLERS_DIR}${name}.ts`, dir);
        const deployed = name === 'fit-process' ? processorAsset : assets.get(name)!;
        expect(readFileSync(outfile).equals(readFileSync(join(deployed, 'index.mjs'))), name).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('imports the AWS SDK from the runtime instead of bundling it', () => {
    for (const [name, dir] of assets) {
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(code, name).toMatch(/from\s*"@aws-sdk\/client-dynamodb"/);
      expect(code, name).not.toMatch(/DynamoDBServiceException/);
    }
  });

  it('loads in a fresh node process and answers an unauthenticated request with 401', () => {
    const event = { version: '2.0', routeKey: 'GET /api/v1/sync', rawPath: '/api/v1/sync', headers: {}, isBase64Encoded: false, requestContext: { requestId: 'r1', http: { method: 'GET', path: '/api/v1/sync' } } };
    const context = { awsRequestId: 'r1', functionName: 'bundle-test' };
    for (const [name, dir] of assets) {
      const script = `const { handler } = await import(${JSON.stringify(join(dir, 'index.mjs'))});
        const res = await handler(${JSON.stringify(event)}, { ...${JSON.stringify(context)}, getRemainingTimeInMillis: () => 29000 });
        process.stdout.write(JSON.stringify(res));`;
      const out = execFileSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          TABLE_NAME: 'bundle-test',
          CURSOR_SECRET: 'x'.repeat(48),
          UPLOADS_BUCKET: 'bundle-test-uploads',
          AWS_REGION: 'us-east-1',
          POWERTOOLS_LOG_LEVEL: 'SILENT',
          POWERTOOLS_METRICS_DISABLED: 'true',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 30_000,
      });
      expect(JSON.parse(out), name).toMatchObject({ statusCode: 401 });
    }
  });

  it('the FIT processor: an ESM bundle with a source map, within its budget, that loads in a fresh node process', () => {
    const size = statSync(join(processorAsset, 'index.mjs')).size;
    console.info(`bundle fit-process: ${(size / 1024).toFixed(1)} KB`);
    expect(size).toBeLessThan(PROCESSOR_BUDGET_BYTES);
    expect(existsSync(join(processorAsset, 'index.mjs.map'))).toBe(true);
    const script = `const m = await import(${JSON.stringify(join(processorAsset, 'index.mjs'))}); process.stdout.write(typeof m.handler);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: processorAsset,
      env: { PATH: process.env.PATH, TABLE_NAME: 'bundle-test', UPLOADS_BUCKET: 'bundle-test-uploads', FIT_MAX_BYTES: String(FIT_MAX_BYTES), AWS_REGION: 'us-east-1', POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
    expect(out).toBe('function');
  });
});
