import { createHmac } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';

/**
 * The one token format of Concierge: a JWT (HS256) signed with the org's own secret, naming the org (`kid`, `org`),
 * the subject (`sub`), issue and expiry to the millisecond (`iatms`, `expms`; `iat`/`exp` are the usual whole seconds
 * for other tools) and, by its audience, what it is for (`member`, `agent`): a token of one kind never passes as the
 * other. Member and agent tokens add their own string claims (`ext`, `sid`).
 *
 * Signing is a plain synchronous HMAC because a member token is minted inside the write transaction that records
 * the exchange's idempotency key (the replayed body must be the very token first sent); HS256 is deterministic, and
 * verification goes through jose, which checks the algorithm, structure and claims.
 */
export interface OrgTokenClaims {
  org: string;
  sub: string;
  iatms: number;
  expms: number;
}

export type OrgTokenResult<C> = { ok: true; claims: C } | { ok: false; reason: 'expired' | 'invalid' };

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signOrgToken<E extends Record<string, string>>(
  secret: Uint8Array,
  audience: string,
  claims: OrgTokenClaims,
  extra: E,
): string {
  const header = b64({ alg: 'HS256', typ: 'JWT', kid: claims.org });
  const payload = b64({
    iss: 'concierge',
    aud: audience,
    sub: claims.sub,
    org: claims.org,
    ...extra,
    iat: Math.floor(claims.iatms / 1000),
    exp: Math.ceil(claims.expms / 1000),
    iatms: claims.iatms,
    expms: claims.expms,
  });
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** Verifies a token of `audience` and reads its claims, with `extra` naming the string claims its kind adds. */
export async function verifyOrgToken<K extends string>(
  secret: Uint8Array,
  token: string,
  now: number,
  audience: string,
  extra: readonly K[],
): Promise<OrgTokenResult<OrgTokenClaims & Record<K, string>>> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: 'concierge',
      audience,
      // Expiry is checked below to the millisecond; jose's whole-second check would be looser.
      clockTolerance: 5,
    });
    const { org, sub, iatms, expms } = payload as Record<string, unknown>;
    if (typeof org !== 'string' || typeof sub !== 'string' || typeof iatms !== 'number' || typeof expms !== 'number')
      return { ok: false, reason: 'invalid' };
    const claims: Record<string, unknown> = { org, sub, iatms, expms };
    for (const name of extra) {
      const value = (payload as Record<string, unknown>)[name];
      if (typeof value !== 'string') return { ok: false, reason: 'invalid' };
      claims[name] = value;
    }
    if (expms <= now) return { ok: false, reason: 'expired' };
    return { ok: true, claims: claims as OrgTokenClaims & Record<K, string> };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return { ok: false, reason: 'expired' };
    return { ok: false, reason: 'invalid' };
  }
}
