/**
 * The token's `sub` is the user id every key is built from (DynamoDB partition keys ≤ 2,048 bytes,
 * S3 object keys ≤ 1,024): one too long for them is refused up front with a clear 403, never a 500
 * from the store; the longest accepted one works on every route.
 */
import { describe, expect, it } from 'vitest';
import { MAX_USER_ID_BYTES } from '../../lambdas/http/request.js';
import { activityRaw, pushBody } from '../support/records.js';
import { apiAs, useLocalStack } from '../support/stack.js';

const stack = useLocalStack();
const presign = { kind: 'fit', content_type: 'application/vnd.ant.fit', size_bytes: 1000, activity_id: null, sha256: null };

describe("the token's subject as a user id", () => {
  it.each([
    ['pull', (api: ReturnType<typeof apiAs>) => api.pull({ last_pulled_at: null })],
    ['push', (api: ReturnType<typeof apiAs>) => api.push(pushBody({ activities: { created: [activityRaw('long-sub')] } }, null))],
    ['presign', (api: ReturnType<typeof apiAs>) => api.request('POST', '/api/v1/uploads', presign)],
    ['conflicts', (api: ReturnType<typeof apiAs>) => api.request('GET', '/api/v1/conflicts')],
  ] as const)('a 3,000-byte sub → %s answers 403 naming token.sub', async (_route, call) => {
    const api = apiAs(stack(), await stack().issuer.issue('u'.repeat(3_000)));
    const r = await call(api);
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'forbidden', details: [{ path: 'token.sub', field: 'sub' }] });
  });

  it(`a sub of exactly ${MAX_USER_ID_BYTES} bytes (multi-byte characters counted as bytes) is served; one byte more is not`, async () => {
    const longest = `${'é'.repeat((MAX_USER_ID_BYTES - 2) / 2)}ab`;
    expect(Buffer.byteLength(longest)).toBe(MAX_USER_ID_BYTES);
    const api = apiAs(stack(), await stack().issuer.issue(longest));
    expect((await api.push(pushBody({ activities: { created: [activityRaw('edge-sub')] } }, null))).status).toBe(200);
    expect((await api.pull({ last_pulled_at: null })).body.changes.activities.updated.map((r: { id: string }) => r.id)).toEqual(['edge-sub']);
    expect((await api.request('POST', '/api/v1/uploads', presign)).status).toBe(201);
    const over = apiAs(stack(), await stack().issuer.issue(`${longest}c`));
    expect((await over.pull({ last_pulled_at: null })).status).toBe(403);
  });
});
