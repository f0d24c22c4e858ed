/**
 * `npm start`: the whole API on one laptop. Data persists in .local-data/ (or DATA_DIR);
 * `--in-memory` opts out. DYNAMODB_ENDPOINT / S3_ENDPOINT (or AWS_ENDPOINT_URL_DYNAMODB /
 * AWS_ENDPOINT_URL_S3) point it at LocalStack or AWS instead of the embedded engines.
 */
import { parseArgs } from 'node:util';
import { CONFIG_VARIABLES, ConfigError } from '../lambdas/config.js';
import { startLocalStack } from './server.js';

// On a laptop, CloudWatch metrics (EMF lines on stdout) and the SDK's Node-version notice are noise.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    'in-memory': { type: 'boolean', default: false },
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    engine: { type: 'string' },
  },
});
const env = process.env;

function fail(message: string): never {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

const port = Number(values.port ?? env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT (or --port) must be a port number, not '${values.port ?? env.PORT}'`);
const engine = values.engine ?? env.DYNAMODB_ENGINE ?? 'dynalite';
if (engine !== 'dynalite' && engine !== 'dynamodb-local') fail(`--engine (or DYNAMODB_ENGINE) must be dynalite or dynamodb-local, not '${engine}'`);
const logLevel = env.LOG_LEVEL ?? 'INFO';
if (!['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'].includes(logLevel)) fail(`LOG_LEVEL must be DEBUG, INFO, WARN, ERROR or SILENT, not '${logLevel}'`);
// Every variable of the service's configuration applies here as in a Lambda (the stack owns the
// endpoints, table, bucket and cursor key it creates; those come from its own options).
const OWNED = new Set(['TABLE_NAME', 'UPLOADS_BUCKET', 'DYNAMODB_ENDPOINT', 'S3_ENDPOINT', 'CURSOR_SECRET', 'CURSOR_SECRET_ARN']);
const config = Object.fromEntries(CONFIG_VARIABLES.filter((name) => !OWNED.has(name) && env[name] !== undefined).map((name) => [name, env[name] as string]));

let stack: Awaited<ReturnType<typeof startLocalStack>>;
try {
  stack = await startLocalStack({
    port,
    host: env.HOST ?? '127.0.0.1',
    dataDir: values['in-memory'] ? undefined : (values['data-dir'] ?? env.DATA_DIR ?? '.local-data'),
    dynamodbEndpoint: env.DYNAMODB_ENDPOINT ?? env.AWS_ENDPOINT_URL_DYNAMODB,
    engine,
    s3Endpoint: env.S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3,
    tableName: env.TABLE_NAME,
    uploadsBucket: env.UPLOADS_BUCKET,
    env: config,
    logLevel: logLevel as 'INFO',
    publicHost: env.PUBLIC_HOST || undefined,
  });
} catch (e) {
  if (e instanceof ConfigError) fail(e.message);
  if (e instanceof Error && /DynamoDB Local cannot start/.test(e.message)) fail(e.message);
  throw e;
}

console.log(`RunningCoach Sync local stack on ${stack.url}`);
console.log(
  `  data: ${values['in-memory'] ? 'in memory' : (values['data-dir'] ?? env.DATA_DIR ?? '.local-data')}   DynamoDB: ${stack.dynamodbEndpoint}${env.DYNAMODB_ENDPOINT ?? env.AWS_ENDPOINT_URL_DYNAMODB ? '' : ` (${engine})`}   S3: ${stack.s3Endpoint}`,
);
if (Object.keys(config).length > 0) console.log(`  configuration: ${Object.entries(config).map(([k, v]) => `${k}=${v}`).join(' ')}`);
console.log(
  `  try: TOKEN=$(curl -s -X POST ${stack.url}/local/token -d '{"user_id":"runner-1"}' | sed 's/.*"token":"\\([^"]*\\)".*/\\1/') && curl -s -H "Authorization: Bearer $TOKEN" "${stack.url}/api/v1/sync?last_pulled_at=null&schema_version=1"`,
);

console.log(`  change feed: curl -s "${stack.url}/local/events?wait_ms=20000"   (from ${stack.changeFeedSource === 'stream' ? "the table's stream" : 'each committed record write'})`);

const stop = async () => {
  await stack.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
