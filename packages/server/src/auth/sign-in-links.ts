import { createHash, randomBytes } from 'node:crypto';
import type { NewSignInLink } from '@concierge/store';

/** A sign-in link is valid this long, and once. */
export const SIGN_IN_LINK_TTL_MS = 24 * 60 * 60 * 1000;

/** A new one-time sign-in link: the token (shown once, in the link) and what the store keeps (its SHA-256). */
export function newSignInLink(now = Date.now()): { token: string; stored: NewSignInLink } {
  const token = randomBytes(32).toString('base64url');
  return { token, stored: { hash: hashLinkToken(token), expiresAt: now + SIGN_IN_LINK_TTL_MS } };
}

export function hashLinkToken(token: string): string {
  return createHash('sha256').update(`link:${token}`).digest('hex');
}

/** The token rides in the fragment, which browsers never send: it cannot reach an access log or a Referer. */
export function signInURL(baseURL: string, token: string): string {
  return `${baseURL.replace(/\/+$/, '')}/console/setup#token=${token}`;
}
