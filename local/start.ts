/**
 * `npm start`: the whole API on one laptop. Data persists in .local-data/ (or DATA_DIR);
 * `--in-memory` opts out. DYNAMODB_ENDPOINT / S3_ENDPOINT (or AWS_ENDPOINT_URL_DYNAMODB /
 * AWS_ENDPOINT_URL_S3) point it at LocalStack or AWS instead of the embedded engines.
 */
import { parseArgs } from 'node:util';
import { startLocalStack } from './server.js';

// On a laptop, CloudWatch metrics (EMF lines on stdout) and the SDK's Node-version notice are noise.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    'in-memory': { type: 'boolean', default: false },
    port: { type: 'string' },
    'data-dir': { type: 'string' },
  },
});
const env = process.env;
const port = Number(values.port ?? env.PORT ?? 3000);
const stack = await startLocalStack({
  port,
  host: env.HOST ?? '127.0.0.1',
  dataDir: values['in-memory'] ? undefined : (values['data-dir'] ?? env.DATA_DIR ?? '.local-data'),
  dynamodbEndpoint: env.DYNAMODB_ENDPOINT ?? env.AWS_ENDPOINT_URL_DYNAMODB,
  s3Endpoint: env.S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3,
  tableName: env.TABLE_NAME,
  uploadsBucket: env.UPLOADS_BUCKET,
  logLevel: (env.LOG_LEVEL as 'INFO' | undefined) ?? 'INFO',
  publicHost: env.PUBLIC_HOST || undefined,
});

console.log(`RunningCoach Sync local stack on ${stack.url}`);
console.log(`  data: ${values['in-memory'] ? 'in memory' : (values['data-dir'] ?? env.DATA_DIR ?? '.local-data')}   DynamoDB: ${stack.dynamodbEndpoint}   S3: ${stack.s3Endpoint}`);
console.log(
  `  try: TOKEN=$(curl -s -X POST ${stack.url}/local/token -d '{"user_id":"runner-1"}' | sed 's/.*"token":"\\([^"]*\\)".*/\\1/') && curl -s -H "Authorization: Bearer $TOKEN" "${stack.url}/api/v1/sync?last_pulled_at=null&schema_version=1"`,
);

const stop = async () => {
  await stack.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
