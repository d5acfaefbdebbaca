import { createHmac } from 'node:crypto';
import { errors as joseErrors, jwtVerify, decodeProtectedHeader } from 'jose';

/**
 * Member tokens are JWTs (HS256) signed with the org's own secret and naming org (`kid`, `org`), member (`sub`,
 * `ext`), issue and expiry to the millisecond (`iatms`, `expms`; `iat`/`exp` are the usual whole seconds for
 * other tools). Verification needs no database: the org secret and the member's revocation mark are cached.
 *
 * Signing is a plain synchronous HMAC because a token is minted inside the write transaction that records the
 * exchange's idempotency key (the replayed body must be the very token first sent); HS256 is deterministic, and
 * verification goes through jose, which checks the algorithm, structure and claims.
 */
export interface MemberClaims {
  org: string;
  sub: string;
  ext: string;
  iatms: number;
  expms: number;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signMemberToken(secret: Uint8Array, claims: MemberClaims): string {
  const header = b64({ alg: 'HS256', typ: 'JWT', kid: claims.org });
  const payload = b64({
    iss: 'concierge',
    aud: 'member',
    sub: claims.sub,
    org: claims.org,
    ext: claims.ext,
    iat: Math.floor(claims.iatms / 1000),
    exp: Math.ceil(claims.expms / 1000),
    iatms: claims.iatms,
    expms: claims.expms,
  });
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** The org a token claims to belong to, read before verification to pick the key; `null` if unreadable. */
export function tokenOrg(token: string): string | null {
  try {
    const kid = decodeProtectedHeader(token).kid;
    return typeof kid === 'string' && kid.length > 0 && kid.length < 100 ? kid : null;
  } catch {
    return null;
  }
}

export type VerifyResult = { ok: true; claims: MemberClaims } | { ok: false; reason: 'expired' | 'invalid' };

export async function verifyMemberToken(secret: Uint8Array, token: string, now: number): Promise<VerifyResult> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: 'concierge',
      audience: 'member',
      // Expiry is checked below to the millisecond; jose's whole-second check would be looser.
      clockTolerance: 5,
    });
    const { org, sub, ext, iatms, expms } = payload as Record<string, unknown>;
    if (
      typeof org !== 'string' ||
      typeof sub !== 'string' ||
      typeof ext !== 'string' ||
      typeof iatms !== 'number' ||
      typeof expms !== 'number'
    )
      return { ok: false, reason: 'invalid' };
    if (expms <= now) return { ok: false, reason: 'expired' };
    return { ok: true, claims: { org, sub, ext, iatms, expms } };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return { ok: false, reason: 'expired' };
    return { ok: false, reason: 'invalid' };
  }
}
