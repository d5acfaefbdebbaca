import { createHmac } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';

/**
 * Agent access tokens: JWTs (HS256) signed with the org's secret like member tokens, told apart by their audience
 * (`agent`), naming the agent (`sub`) and the session (`sid`) they belong to. Short-lived (15 minutes): the
 * console refreshes them through the refresh cookie. Every use also reads the session from the store (see
 * Authenticator), so a disabled agent or a revoked session is refused at once.
 */
export const AGENT_TOKEN_TTL_MS = 15 * 60 * 1000;

export interface AgentClaims {
  org: string;
  sub: string;
  sid: string;
  iatms: number;
  expms: number;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signAgentToken(secret: Uint8Array, claims: AgentClaims): string {
  const header = b64({ alg: 'HS256', typ: 'JWT', kid: claims.org });
  const payload = b64({
    iss: 'concierge',
    aud: 'agent',
    sub: claims.sub,
    org: claims.org,
    sid: claims.sid,
    iat: Math.floor(claims.iatms / 1000),
    exp: Math.ceil(claims.expms / 1000),
    iatms: claims.iatms,
    expms: claims.expms,
  });
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

export type AgentVerifyResult = { ok: true; claims: AgentClaims } | { ok: false; reason: 'expired' | 'invalid' };

export async function verifyAgentToken(secret: Uint8Array, token: string, now: number): Promise<AgentVerifyResult> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      algorithms: ['HS256'],
      issuer: 'concierge',
      audience: 'agent',
      clockTolerance: 5,
    });
    const { org, sub, sid, iatms, expms } = payload as Record<string, unknown>;
    if (
      typeof org !== 'string' ||
      typeof sub !== 'string' ||
      typeof sid !== 'string' ||
      typeof iatms !== 'number' ||
      typeof expms !== 'number'
    )
      return { ok: false, reason: 'invalid' };
    if (expms <= now) return { ok: false, reason: 'expired' };
    return { ok: true, claims: { org, sub, sid, iatms, expms } };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return { ok: false, reason: 'expired' };
    return { ok: false, reason: 'invalid' };
  }
}
