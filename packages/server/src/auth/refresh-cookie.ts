import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/**
 * The agent refresh cookie: `<session id>.<secret>`, the secret 256 random bits of which only the SHA-256 is
 * stored. `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page sends it), scoped to
 * `/v1/agent-auth` (no other route ever sees it), and `Secure` unless the request reached a loopback address
 * over plain http (a browser on the same machine during development, where there is no TLS to require).
 */
export const REFRESH_COOKIE = 'concierge_refresh';
export const REFRESH_PATH = '/v1/agent-auth';
/** A session lives this long after its last refresh. */
export const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;

export function newRefreshSecret(): { secret: string; hash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { secret, hash: hashSecret(secret) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function loopbackPlainHTTP(req: FastifyRequest): boolean {
  const local = req.socket.localAddress ?? '';
  const loopback = local === '::1' || local.startsWith('127.') || local.startsWith('::ffff:127.');
  const forwarded = req.headers['x-forwarded-proto'];
  const viaTLS = ('encrypted' in req.socket && req.socket.encrypted === true) || forwarded === 'https';
  return loopback && !viaTLS;
}

export function setCookie(req: FastifyRequest, sessionID: string, secret: string): string {
  const parts = [
    `${REFRESH_COOKIE}=${sessionID}.${secret}`,
    `Path=${REFRESH_PATH}`,
    `Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}`,
    'HttpOnly',
    'SameSite=Strict',
  ];
  if (!loopbackPlainHTTP(req)) parts.push('Secure');
  return parts.join('; ');
}

export function clearCookie(req: FastifyRequest): string {
  const parts = [`${REFRESH_COOKIE}=`, `Path=${REFRESH_PATH}`, 'Max-Age=0', 'HttpOnly', 'SameSite=Strict'];
  if (!loopbackPlainHTTP(req)) parts.push('Secure');
  return parts.join('; ');
}

/** The session id and secret the request's cookie carries, or null. */
export function readCookie(req: FastifyRequest): { sessionID: string; secret: string } | null {
  const header = req.headers.cookie;
  if (typeof header !== 'string' || header.length > 8192) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== REFRESH_COOKIE) continue;
    const m = /^(ags_[A-Za-z0-9]{1,40})\.([A-Za-z0-9_-]{43})$/.exec(part.slice(eq + 1).trim());
    return m === null ? null : { sessionID: m[1]!, secret: m[2]! };
  }
  return null;
}
