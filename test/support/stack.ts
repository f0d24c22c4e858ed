/**
 * Starts a private local stack (s3rver + HTTP server on port 0, a table of its own on the run's
 * DynamoDB engine: DynamoDB Local in CI) for one test file, so files never share a table, a
 * bucket or a port.
 */
import { afterAll, beforeAll } from 'vitest';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/server.js';
import { createTestTable, type TestTable } from './engine.js';

export function useLocalStack(options: LocalStackOptions = {}): () => LocalStack {
  let stack: LocalStack | undefined;
  let table: TestTable | undefined;
  beforeAll(async () => {
    table = await createTestTable('stack');
    // TEST_STACK_LOG_LEVEL=ERROR shows what the handlers log (silent by default).
    stack = await startLocalStack({ logLevel: (process.env.TEST_STACK_LOG_LEVEL as 'ERROR' | undefined) ?? 'SILENT', dynamodbEndpoint: table.endpoint, tableName: table.tableName, ...options });
  });
  afterAll(async () => {
    await stack?.close();
    await table?.close();
  });
  return () => {
    if (!stack) throw new Error('local stack not started');
    return stack;
  };
}

/** A minimal HTTP client for the contract, authenticated as one user. */
export function apiAs(stack: LocalStack, token: string) {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return {
    async pull(params: Record<string, string | number | null> = {}) {
      const q = new URLSearchParams({ schema_version: '1', ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) });
      const res = await fetch(`${stack.url}/api/v1/sync?${q}`, { headers });
      return { status: res.status, headers: res.headers, body: (await res.json()) as any };
    },
    async push(body: unknown, raw?: string) {
      const res = await fetch(`${stack.url}/api/v1/sync`, { method: 'POST', headers, body: raw ?? JSON.stringify(body) });
      return { status: res.status, headers: res.headers, body: (await res.json()) as any };
    },
    /** Every page of `GET /api/v1/conflicts?since=`. */
    async conflicts(since = 0): Promise<any[]> {
      const out: any[] = [];
      let cursor: string | undefined;
      do {
        const res = await fetch(`${stack.url}/api/v1/conflicts?since=${since}${cursor ? `&cursor=${cursor}` : ''}`, { headers });
        const body = (await res.json()) as any;
        if (res.status !== 200) throw new Error(`GET /api/v1/conflicts: ${res.status} ${JSON.stringify(body)}`);
        out.push(...body.conflicts);
        cursor = body.cursor;
      } while (cursor);
      return out;
    },
    async request(method: 'GET' | 'POST', path: string, body?: unknown) {
      const res = await fetch(`${stack.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: res.status, headers: res.headers, body: (await res.json()) as any };
    },
  };
}

/** `POST /local/server-write`: a write as the plan engine or the FIT processor makes it. */
export async function serverWrite(stack: LocalStack, body: { user_id: string; table: string; source: string; record: Record<string, unknown> }) {
  const res = await fetch(`${stack.url}/local/server-write`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}
