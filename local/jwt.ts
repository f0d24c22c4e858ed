/**
 * Local development tokens: ES256 JWTs signed by a key the local stack keeps in its data
 * folder, verified on each request the way API Gateway's JWT authorizer does (signature,
 * issuer, audience, expiry). Never part of the deployed stack.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';

export const LOCAL_ISSUER = 'https://runningcoach.local/auth';
export const LOCAL_AUDIENCE = 'runningcoach-sync-local';
const ALG = 'ES256';

export interface LocalIssuer {
  issue(userId: string, ttlSeconds?: number): Promise<string>;
  /** Verified claims, or undefined when the token is missing, malformed, expired or not ours. */
  verify(token: string): Promise<JWTPayload | undefined>;
}

export async function createLocalIssuer(dataDir?: string): Promise<LocalIssuer> {
  const keyFile = dataDir ? join(dataDir, 'local-jwt-key.json') : undefined;
  let jwk: JWK;
  if (keyFile && existsSync(keyFile)) {
    jwk = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK;
  } else {
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    jwk = await exportJWK(privateKey);
    if (keyFile) writeFileSync(keyFile, JSON.stringify(jwk), { mode: 0o600 });
  }
  const privateKey = await importJWK(jwk, ALG);
  const { d: _private, ...publicJwk } = jwk;
  const publicKey = await importJWK(publicJwk, ALG);
  return {
    issue: (userId, ttlSeconds = 24 * 3600) =>
      new SignJWT({ token_use: 'access' })
        .setProtectedHeader({ alg: ALG })
        .setSubject(userId)
        .setIssuer(LOCAL_ISSUER)
        .setAudience(LOCAL_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(privateKey),
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, publicKey, { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, algorithms: [ALG] });
        return typeof payload.sub === 'string' && payload.sub.length > 0 ? payload : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
