/**
 * `npm start` as a developer runs it (tsx local/start.ts in a child process): the variables of the
 * Configuration table apply, a bad value stops it at start-up naming the variable, AWS credentials
 * in the environment do not break the embedded s3rver, the table it creates on an external
 * endpoint has TTL on, and `--engine dynamodb-local` runs it on Amazon's engine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deleteTable } from '../../local/engines.js';
import { testEngine } from '../support/engine.js';
import { inject } from 'vitest';
import { activityRaw, pushBody } from '../support/records.js';
import { postUpload } from '../support/s3.js';

const root = new URL('../../', import.meta.url).pathname;
const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Started {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: () => string;
}

/** Runs `npm start`'s entry point with `env` and `args`; resolves once it prints its URL, or with its exit. */
function start(env: Record<string, string>, args: string[] = []): Promise<Started | { exitCode: number; output: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && k !== 'DYNAMODB_ENDPOINT' && k !== 'S3_ENDPOINT'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts', '--in-memory', '--port', '0', ...args], {
    cwd: root,
    env: { ...clean, LOG_LEVEL: 'ERROR', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // The banner ends with the "try:" line: by then every line about the stack is out.
      const url = /local stack on (http:\/\/\S+)/.exec(output)?.[1];
      if (url && /\n\s+try: /.test(output)) resolve({ url, child, output: () => output });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => resolve({ exitCode: code ?? -1, output }));
  });
}

function started(s: Awaited<ReturnType<typeof start>>): Started {
  if (!('url' in s)) throw new Error(`npm start exited ${s.exitCode}:\n${s.output}`);
  return s;
}

async function tokenFor(url: string, userId: string): Promise<string> {
  const res = await fetch(`${url}/local/token`, { method: 'POST', body: JSON.stringify({ user_id: userId }) });
  return ((await res.json()) as { token: string }).token;
}

describe('npm start', () => {
  it('applies the configuration variables and keeps s3rver working with AWS credentials in the environment; TTL is on for the table it creates', async () => {
    const table = `start-${randomUUID().slice(0, 8)}`;
    const endpoint = inject('dynamodbLocalEndpoint');
    const s = started(
      await start({
        PULL_PAGE_BYTES: '20000',
        TABLE_NAME: table,
        // An external DynamoDB (the run's engine) and the developer's own AWS credentials in the environment.
        ...(endpoint ? { DYNAMODB_ENDPOINT: endpoint } : {}),
        AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE01',
        AWS_SECRET_ACCESS_KEY: 'not-a-real-secret-key-not-a-real-secret',
        AWS_REGION: 'eu-west-1',
      }),
    );
    try {
      expect(s.output()).toContain('PULL_PAGE_BYTES=20000');
      const auth = { authorization: `Bearer ${await tokenFor(s.url, 'runner-start')}`, 'content-type': 'application/json' };
      const ids = Array.from({ length: 60 }, (_, i) => `a${i}`);
      const pushed = await fetch(`${s.url}/api/v1/sync`, { method: 'POST', headers: auth, body: JSON.stringify(pushBody({ activities: { created: ids.map((id) => activityRaw(id, { notes: 'x'.repeat(400) })) } }, null)) });
      expect(pushed.status).toBe(200);
      const page = (await (await fetch(`${s.url}/api/v1/sync?last_pulled_at=null&schema_version=1`, { headers: auth })).json()) as { cursor?: string; changes: { activities: { updated: unknown[] } } };
      // 60 records of ~600 bytes do not fit a 20,000-byte page: the variable took effect.
      expect(page.cursor).toBeDefined();
      expect(page.changes.activities.updated.length).toBeLessThan(60);

      // The embedded s3rver still accepts the presigned upload and the processor reads it back.
      const uploader = { authorization: `Bearer ${await tokenFor(s.url, 'uploader-start')}`, 'content-type': 'application/json' };
      const bytes = new Uint8Array(readFileSync(`${root}test/fixtures/fit/python-fitparse/activity-small-fenix2-run.fit`));
      const presigned = await fetch(`${s.url}/api/v1/uploads`, {
        method: 'POST',
        headers: uploader,
        body: JSON.stringify({ kind: 'fit', content_type: 'application/vnd.ant.fit', size_bytes: bytes.length, activity_id: null, sha256: createHash('sha256').update(bytes).digest('hex') }),
      });
      expect(presigned.status).toBe(201);
      const form = (await presigned.json()) as { upload_id: string; url: string; fields: Record<string, string> };
      expect((await postUpload(form.url, form.fields, bytes)).status).toBe(204);
      // The processor starts on s3rver's event and runs in the server process; its outcome syncs.
      await vi.waitFor(
        async () => {
          const after = (await (await fetch(`${s.url}/api/v1/sync?last_pulled_at=null&schema_version=1`, { headers: uploader })).json()) as { changes: { uploads: { updated: { id: string; status: string }[] } } };
          expect(after.changes.uploads.updated.find((u) => u.id === form.upload_id)?.status).toBe('processed');
        },
        { timeout: 30_000, interval: 100 },
      );

      if (endpoint) {
        const ddb = new DynamoDBClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
        try {
          const ttl = await ddb.send(new DescribeTimeToLiveCommand({ TableName: table }));
          expect(ttl.TimeToLiveDescription).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expires_at' });
        } finally {
          await deleteTable(ddb, table);
          ddb.destroy();
        }
      }
    } finally {
      s.child.kill('SIGTERM');
    }
  });

  it.each([
    [{ FIT_MAX_BYTES: 'lots' }, [], /FIT_MAX_BYTES/],
    [{ PULL_PAGE_BYTES: '9000000' }, [], /PULL_PAGE_BYTES/],
    [{ INDEX_LAG_MS: '20000', INFLIGHT_GRACE_MS: '10000' }, [], /INFLIGHT_GRACE_MS/],
    [{}, ['--engine', 'postgres'], /--engine/],
  ] as const)('a bad setting %o %o stops it at start-up, naming the variable', async (env, args, named) => {
    const result = await start(env, [...args]);
    expect('exitCode' in result && result.exitCode).toBe(1);
    expect(result.output).toMatch(named);
    expect(result.output).not.toMatch(/local stack on/);
  });

  it.runIf(testEngine() === 'dynamodb-local')('--engine dynamodb-local serves the API on Amazon DynamoDB Local, and stops it on SIGTERM', async () => {
    const s = started(await start({}, ['--engine', 'dynamodb-local']));
    expect(s.output()).toContain('(dynamodb-local)');
    const auth = { authorization: `Bearer ${await tokenFor(s.url, 'runner-ddbl')}`, 'content-type': 'application/json' };
    const pushed = await fetch(`${s.url}/api/v1/sync`, { method: 'POST', headers: auth, body: JSON.stringify(pushBody({ activities: { created: [activityRaw('on-ddbl')] } }, null)) });
    expect(pushed.status).toBe(200);
    const pulled = (await (await fetch(`${s.url}/api/v1/sync?last_pulled_at=null&schema_version=1`, { headers: auth })).json()) as { changes: { activities: { updated: { id: string }[] } } };
    expect(pulled.changes.activities.updated.map((r) => r.id)).toEqual(['on-ddbl']);
    const exited = new Promise<number | null>((r) => s.child.once('exit', r));
    s.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
