import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';

/** What the check reads of a request (any route's, whatever its config type). */
type RequestHeads = Pick<FastifyRequest, 'headers' | 'socket'>;

/** The parts of the configuration the check reads. */
export interface SameOriginOptions {
  /** `--public-url`, or '' when unset. */
  publicUrl: string;
}

/**
 * An `onRequest` hook for the routes that act on the refresh cookie (`/v1/agent-auth/refresh`, `…/sign-out`): a
 * request from a page of another origin is refused with 403 `FORBIDDEN` before the cookie is read, so no other site
 * can rotate or end an agent's session (cross-site request forgery; OWASP CSRF Prevention Cheat Sheet, "Verifying
 * Origin with standard headers" and "Fetch Metadata headers"). `SameSite=Strict` already keeps other sites' pages
 * from sending the cookie; this also covers another origin of the same site (a sibling subdomain), which
 * SameSite lets through, and browsers without SameSite.
 *
 * Allowed: the server's own origin, that is the `--public-url` origin, or the scheme and `Host` the request was
 * sent to (a page is only ever served its cookie by that host). A request with no `Origin` and no `Sec-Fetch-Site`
 * is not from a browser page (browsers send `Origin` on every POST, and `Sec-Fetch-Site` to https and loopback
 * servers): a CLI or a script that holds the cookie itself, which is no forgery, so it passes. `--cors-origins`
 * plays no part: it says which pages may read answers, and a forged request needs no answer to do its harm.
 */
export function sameOriginOnly(options: SameOriginOptions) {
  const publicOrigin = options.publicUrl === '' ? null : new URL(options.publicUrl).origin;
  const refused = () =>
    new ApiError('FORBIDDEN', 'This route takes requests from the console on this server only (Origin check).');

  return async function sameOriginOnly(req: RequestHeads): Promise<void> {
    const site = req.headers['sec-fetch-site'];
    // `same-site` is another origin of the same site; `none` is a navigation the user typed, never a POST's.
    if (site === 'cross-site' || site === 'same-site') throw refused();
    const origin = req.headers.origin;
    if (origin === undefined) return;
    if (origin === publicOrigin) return;
    if (!fromOwnHost(origin, req)) throw refused();
  };
}

/** `origin` names the host (and port) the request was sent to, over a scheme at least as safe as its own. */
function fromOwnHost(origin: string, req: RequestHeads): boolean {
  const host = req.headers.host;
  if (host === undefined || origin === 'null') return false;
  let from: URL;
  let to: URL;
  try {
    from = new URL(origin);
    // The Host header parsed the way the Origin is, so `example.com:443` and `https://example.com` compare equal.
    to = new URL(`${from.protocol}//${host}`);
  } catch {
    return false;
  }
  if (from.protocol !== 'https:' && from.protocol !== 'http:') return false;
  if (from.host !== to.host) return false;
  // A plain-http page (its traffic open to rewriting) may not act on a session that this server keeps over TLS.
  const viaTLS =
    ('encrypted' in req.socket && req.socket.encrypted === true) || req.headers['x-forwarded-proto'] === 'https';
  return from.protocol === 'https:' || !viaTLS;
}
