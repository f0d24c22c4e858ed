/**
 * How every handler module is bundled: the esbuild options of lib/handler-function.ts's
 * NodejsFunction, as plain values with no aws-cdk-lib import, so that the bench (bench/bundles.ts)
 * bundles byte for byte what the stack deploys.
 */

/**
 * ESM output meets CommonJS dependencies that `require()` Node built-ins: esbuild's `__require`
 * shim needs a real `require` in scope, or such calls throw "Dynamic require … is not supported"
 * at run time (synth cannot see it). Today's sync bundles contain no such call; the banner keeps
 * the next dependency (e.g. the FIT SDK) from breaking only on AWS.
 */
export const ESM_REQUIRE_BANNER = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

export const HANDLER_BUNDLE = {
  /** NodejsFunction names an ESM bundle `index.mjs`. */
  outFile: 'index.mjs',
  format: 'esm',
  target: 'node22',
  platform: 'node',
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  // The runtime ships SDK v3; @smithy/* stays bundled (the handlers pin their own
  // @smithy/node-http-handler), whatever the sdkV3ExcludeSmithyPackages flag says.
  externalModules: ['@aws-sdk/*'],
} as const;
