/** A scripted `fetch` for unit tests of `client/`: records every request, answers from a handler. */
import type { FetchLike } from '../../../client/index.js';

export interface FakeRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body?: string;
  /** The parsed JSON body (POST). */
  readonly json?: any;
}

export interface FakeAnswer {
  status?: number;
  body?: unknown;
  /** A raw body, sent as is (for non-JSON answers). */
  text?: string;
  headers?: Record<string, string>;
}

export function fakeFetch(handler: (req: FakeRequest, index: number) => FakeAnswer | Promise<FakeAnswer>): { fetch: FetchLike; requests: FakeRequest[] } {
  const requests: FakeRequest[] = [];
  const fetch: FetchLike = async (url, init) => {
    const req: FakeRequest = {
      method: init.method,
      url: new URL(url),
      headers: init.headers,
      body: init.body,
      json: init.body === undefined ? undefined : JSON.parse(init.body),
    };
    requests.push(req);
    const answer = await handler(req, requests.length - 1);
    const headers = new Map(Object.entries(answer.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const text = answer.text ?? JSON.stringify(answer.body ?? {});
    return { status: answer.status ?? 200, headers: { get: (name) => headers.get(name.toLowerCase()) ?? null }, text: async () => text };
  };
  return { fetch, requests };
}

/** A pull page in contract v1 form; tables not given are empty. */
export function page(
  changes: Record<string, { updated?: Record<string, unknown>[]; deleted?: string[]; created?: Record<string, unknown>[] }>,
  timestamp: number,
  cursor?: string,
) {
  const full = Object.fromEntries(
    Object.entries(changes).map(([t, c]) => [t, { created: c.created ?? [], updated: c.updated ?? [], deleted: c.deleted ?? [] }]),
  );
  return { body: { changes: full, timestamp, ...(cursor ? { cursor } : {}) } };
}

export const BASE_URL = 'https://sync.test';
