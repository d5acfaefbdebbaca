import { signOrgToken, verifyOrgToken, type OrgTokenClaims, type OrgTokenResult } from './org-jwt.js';

/**
 * Agent access tokens: org JWTs (see org-jwt.ts) like member tokens, told apart by their audience (`agent`),
 * naming the agent (`sub`) and the session (`sid`) they belong to. Short-lived (15 minutes): the console refreshes
 * them through the refresh cookie. Every use also reads the session from the store (see
 * Authenticator), so a disabled agent or a revoked session is refused at once.
 */
export const AGENT_TOKEN_TTL_MS = 15 * 60 * 1000;

export interface AgentClaims extends OrgTokenClaims {
  sid: string;
}

export function signAgentToken(secret: Uint8Array, claims: AgentClaims): string {
  const { sid, ...common } = claims;
  return signOrgToken(secret, 'agent', common, { sid });
}

export type AgentVerifyResult = OrgTokenResult<AgentClaims>;

export function verifyAgentToken(secret: Uint8Array, token: string, now: number): Promise<AgentVerifyResult> {
  return verifyOrgToken(secret, token, now, 'agent', ['sid']);
}
