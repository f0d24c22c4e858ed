/**
 * The one place that talks HTTP: adds the bearer token, turns a rejected `fetch` into a
 * `SyncNetworkError` and a non-2xx answer into a `SyncHttpError` carrying the server's code.
 * Uses only what React Native's `fetch` offers (no Node built-ins, no `URLSearchParams`, whose
 * React Native polyfill lacks most methods).
 */
import { SyncHttpError, SyncNetworkError, SyncProtocolError, type SyncErrorDetail } from './errors.js';
import { utf8ByteLength } from './utf8.js';

/** The part of a `fetch` Response the adapter reads. */
export interface FetchResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** The part of `fetch` the adapter calls; the global `fetch` of React Native, browsers and Node fits. */
export type FetchLike = (
  url: string,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
) => Promise<FetchResponseLike>;

export interface TransportOptions {
  /** e.g. `https://api.example.com` or `http://127.0.0.1:3000`; the adapter appends `/api/v1/sync`. */
  readonly baseUrl: string;
  /** Returns a current JWT; called before every request, so a refreshed token is picked up. */
  readonly getToken: () => string | Promise<string>;
  /** Defaults to the global `fetch`. */
  readonly fetch?: FetchLike;
}

/**
 * Checks what every client entry point needs to reach the API, once at creation, so a typo fails
 * at start-up rather than in the middle of a sync or an upload. `caller` prefixes the message.
 */
export function assertTransportOptions(caller: string, options: Pick<TransportOptions, 'baseUrl' | 'getToken'>): void {
  if (typeof options.baseUrl !== 'string' || !/^https?:\/\/[^/]/.test(options.baseUrl)) {
    throw new TypeError(`${caller}: baseUrl must be an http(s) URL, got '${String(options.baseUrl)}'`);
  }
  if (typeof options.getToken !== 'function') throw new TypeError(`${caller}: getToken must be a function`);
}

export type QueryParams = ReadonlyArray<readonly [string, string]>;

export interface Transport {
  /**
   * `path` defaults to the sync route (`/api/v1/sync`). `received`, when given, learns the UTF-8
   * size of a 2xx answer's body (pull progress).
   */
  request(method: 'GET' | 'POST', query: QueryParams, body?: string, path?: string, received?: (bytes: number) => void): Promise<unknown>;
}

const SYNC_PATH = '/api/v1/sync';

/** Codes for answers that carry no v1 error body (a proxy, or API Gateway's own `{message}`). */
const FALLBACK_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'throttled',
  500: 'internal_error',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};

export function createTransport(options: TransportOptions): Transport {
  const base = options.baseUrl.replace(/\/+$/, '');
  // Called through a wrapper so a browser's `fetch` is never invoked with a foreign `this`.
  const doFetch: FetchLike = options.fetch ?? ((url, init) => (globalThis as unknown as { fetch: FetchLike }).fetch(url, init));

  return {
    async request(method, query, body, path = SYNC_PATH, received) {
      const search = query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
      const url = `${base}${path}${search ? `?${search}` : ''}`;
      const token = await options.getToken();
      const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const what = `${method} ${path}`;

      let status: number;
      let text: string;
      let retryAfter: string | null;
      try {
        const res = await doFetch(url, body === undefined ? { method, headers } : { method, headers, body });
        status = res.status;
        retryAfter = res.headers.get('retry-after');
        text = await res.text();
      } catch (e) {
        throw new SyncNetworkError(`${what} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      }

      if (status < 200 || status > 299) throw toHttpError(status, text, retryAfter);
      received?.(utf8ByteLength(text));
      try {
        return JSON.parse(text) as unknown;
      } catch (e) {
        throw new SyncProtocolError(`${what} answered ${status} with a body that is not JSON`, { cause: e });
      }
    },
  };
}

function toHttpError(status: number, text: string, retryAfter: string | null): SyncHttpError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = isObject(body) && isObject(body.error) ? body.error : undefined;
  const code = typeof error?.code === 'string' ? error.code : (FALLBACK_CODES[status] ?? 'http_error');
  const message =
    typeof error?.message === 'string'
      ? error.message
      : isObject(body) && typeof body.message === 'string'
        ? body.message
        : `HTTP ${status}`;
  const details = Array.isArray(error?.details) ? (error.details.filter(isObject) as unknown as SyncErrorDetail[]) : [];
  return new SyncHttpError({ status, code, message, details, retryAfterSeconds: parseRetryAfter(retryAfter) });
}

/** `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
