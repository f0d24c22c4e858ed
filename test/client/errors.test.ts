import { describe, expect, it } from 'vitest';
import { createSyncAdapter, SyncClientError, SyncHttpError, SyncNetworkError, SyncProtocolError } from '../../client/index.js';
import { parseRetryAfter } from '../../client/http.js';
import { BASE_URL, fakeFetch, type FakeAnswer } from './support/fake-fetch.js';

const FIRST_SYNC = { lastPulledAt: undefined, schemaVersion: 1, migration: null };

async function pullFailure(answer: FakeAnswer | (() => never)): Promise<unknown> {
  const { fetch } = fakeFetch(typeof answer === 'function' ? answer : () => answer);
  const adapter = createSyncAdapter({ baseUrl: BASE_URL, getToken: () => 'tok', fetch });
  return adapter.pullChanges(FIRST_SYNC).then(
    () => expect.fail('pull should have failed'),
    (e: unknown) => e,
  );
}

describe('client errors: answers become typed errors', () => {
  it("maps a v1 error body to a SyncHttpError with the server's code, message and details", async () => {
    const details = [{ path: 'changes.activities.updated.0.distance_m', message: 'expected number', table: 'activities', record_id: 'a1', field: 'distance_m' }];
    const e = await pullFailure({ status: 400, body: { error: { code: 'validation_error', message: 'invalid push', details } } });
    expect(e).toBeInstanceOf(SyncHttpError);
    expect(e).toBeInstanceOf(SyncClientError);
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'SyncHttpError', status: 400, code: 'validation_error', message: 'invalid push', details, retryAfterSeconds: undefined });
  });

  it.each([
    [401, { message: 'Unauthorized' }, 'unauthorized', 'Unauthorized'],
    [403, { message: 'Forbidden' }, 'forbidden', 'Forbidden'],
    [404, { message: 'Not Found' }, 'not_found', 'Not Found'],
    [413, { message: 'Request Entity Too Large' }, 'payload_too_large', 'Request Entity Too Large'],
    [502, undefined, 'bad_gateway', 'HTTP 502'],
    [418, undefined, 'http_error', 'HTTP 418'],
  ])('maps a %i without a v1 body (API Gateway, a proxy) to a code from the status', async (status, body, code, message) => {
    const e = await pullFailure(body ? { status, body } : { status, text: '<html>teapot</html>' });
    expect(e).toMatchObject({ status, code, message, details: [] });
  });

  it('carries Retry-After of a 429 and a 503 in seconds', async () => {
    const throttled = await pullFailure({ status: 429, headers: { 'Retry-After': '7' }, body: { error: { code: 'throttled', message: 'slow down', details: [] } } });
    expect(throttled).toMatchObject({ status: 429, code: 'throttled', retryAfterSeconds: 7 });
    const deadline = await pullFailure({ status: 503, headers: { 'retry-after': '1' }, body: { error: { code: 'push_deadline_exceeded', message: 'retry', details: [] } } });
    expect(deadline).toMatchObject({ status: 503, code: 'push_deadline_exceeded', retryAfterSeconds: 1 });
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2027-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter('Fri, 01 Jan 2027 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Thu, 31 Dec 2026 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('never leaks a 500 body it cannot read: the code comes from the status', async () => {
    expect(await pullFailure({ status: 500, text: 'Traceback: secret internals' })).toMatchObject({ status: 500, code: 'internal_error', message: 'HTTP 500' });
  });

  it('turns a rejected fetch into a SyncNetworkError that keeps the cause', async () => {
    const cause = new TypeError('fetch failed');
    const e = await pullFailure(() => {
      throw cause;
    });
    expect(e).toBeInstanceOf(SyncNetworkError);
    expect(e).toBeInstanceOf(SyncClientError);
    expect((e as Error).cause).toBe(cause);
    expect((e as Error).message).toMatch(/GET \/api\/v1\/sync failed: fetch failed/);
    expect((e as Error).message).not.toContain('tok');
  });

  it('turns a body cut off mid-answer into a SyncNetworkError', async () => {
    const adapter = createSyncAdapter({
      baseUrl: BASE_URL,
      getToken: () => 'tok',
      fetch: async () => ({ status: 200, headers: { get: () => null }, text: () => Promise.reject(new Error('socket closed')) }),
    });
    await expect(adapter.pullChanges(FIRST_SYNC)).rejects.toBeInstanceOf(SyncNetworkError);
  });

  it('turns a 2xx that is not JSON into a SyncProtocolError', async () => {
    const { fetch } = fakeFetch(() => ({ status: 200, text: 'OK' }));
    const adapter = createSyncAdapter({ baseUrl: BASE_URL, getToken: () => 'tok', fetch });
    await expect(adapter.pushChanges({ changes: {}, lastPulledAt: 1 })).rejects.toBeInstanceOf(SyncProtocolError);
  });

  it('lets a failing getToken reject the sync with its own error', async () => {
    const boom = new Error('logged out');
    const adapter = createSyncAdapter({ baseUrl: BASE_URL, getToken: () => Promise.reject(boom), fetch: fakeFetch(() => ({})).fetch });
    await expect(adapter.pullChanges(FIRST_SYNC)).rejects.toBe(boom);
  });
});

describe('createSyncAdapter options', () => {
  const getToken = () => 'tok';
  it.each([
    [{ baseUrl: 'sync.example.com', getToken }, /baseUrl/],
    [{ baseUrl: '', getToken }, /baseUrl/],
    [{ baseUrl: BASE_URL, getToken: 'tok' }, /getToken/],
    [{ baseUrl: BASE_URL, getToken, maxPushBytes: 0 }, /maxPushBytes/],
    [{ baseUrl: BASE_URL, getToken, maxPushBytes: 1.5 }, /maxPushBytes/],
  ])('rejects invalid options at creation (%o)', (options, message) => {
    expect(() => createSyncAdapter(options as never)).toThrow(message);
  });

  it('accepts a base URL with a trailing slash or a path prefix', async () => {
    const fake = fakeFetch(() => ({ body: { changes: {}, timestamp: 1 } }));
    await createSyncAdapter({ baseUrl: 'https://sync.test/prefix/', getToken, fetch: fake.fetch }).pullChanges(FIRST_SYNC);
    expect(fake.requests[0]?.url.pathname).toBe('/prefix/api/v1/sync');
  });
});
