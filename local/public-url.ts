/**
 * Developing against the local stack from a phone or an emulator (`PUBLIC_HOST`).
 *
 * With `HOST=0.0.0.0` a device on the LAN reaches the API, but the presigned S3 URLs the stack
 * hands out name the embedded S3 (s3rver), which listens on a random port of 127.0.0.1: the
 * device's own loopback. So when a public host is set, every storage URL in an API answer is
 * rewritten to `http://<public host>:<port>/local/s3/…`, and the local server forwards those
 * requests to the S3 endpoint unchanged otherwise. Signatures stay valid: a presigned POST signs
 * its policy document, not the URL, and a presigned GET signs the S3 endpoint's host, which the
 * forwarded request carries again.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';

/** Path prefix under which the local server forwards requests to the S3 endpoint. */
export const S3_PROXY_PREFIX = '/local/s3';

/**
 * `value` with every string that starts with the S3 endpoint's origin pointed at the proxy
 * instead (objects and arrays walked; nothing else changes).
 */
export function rewriteStorageUrls(value: unknown, s3Endpoint: string, publicBase: string): unknown {
  const origin = new URL(s3Endpoint).origin;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v === origin || v.startsWith(`${origin}/`) ? `${publicBase}${S3_PROXY_PREFIX}${v.slice(origin.length)}` : v;
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

/** A JSON response body with its storage URLs rewritten; other bodies unchanged. */
export function rewriteResponseBody(body: string, s3Endpoint: string, publicBase: string): string {
  if (!body.includes(new URL(s3Endpoint).origin)) return body;
  try {
    return JSON.stringify(rewriteStorageUrls(JSON.parse(body), s3Endpoint, publicBase));
  } catch {
    return body;
  }
}

/** Forwards a request under `/local/s3/` to the S3 endpoint, streaming both bodies. */
export function proxyToS3(req: IncomingMessage, res: ServerResponse, s3Endpoint: string): void {
  const target = new URL(s3Endpoint);
  const path = (req.url ?? '/').slice(S3_PROXY_PREFIX.length) || '/';
  // A client following a redirect to a presigned URL here (the account export's 303) stays on the
  // API's origin, so it sends its API token along; in AWS S3 is another origin and the token is
  // dropped, and S3 refuses a presigned request that also carries an Authorization header.
  const { authorization: _token, ...headers } = req.headers;
  const presigned = /[?&]X-Amz-Signature=/.test(path);
  const upstream = httpRequest(
    { hostname: target.hostname, port: target.port, method: req.method, path, headers: { ...(presigned ? headers : req.headers), host: target.host } },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', (e) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`local S3 proxy: ${e.message}`);
  });
  req.pipe(upstream);
}
