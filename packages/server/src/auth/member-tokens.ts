import { decodeProtectedHeader } from 'jose';
import { signOrgToken, verifyOrgToken, type OrgTokenClaims, type OrgTokenResult } from './org-jwt.js';

/**
 * Member tokens: org JWTs (see org-jwt.ts) of audience `member`, naming the member (`sub`) and their
 * externalUserID (`ext`). Verification needs no database: the org secret and the member's revocation mark are
 * cached.
 */
export interface MemberClaims extends OrgTokenClaims {
  ext: string;
}

export function signMemberToken(secret: Uint8Array, claims: MemberClaims): string {
  const { ext, ...common } = claims;
  return signOrgToken(secret, 'member', common, { ext });
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

export type VerifyResult = OrgTokenResult<MemberClaims>;

export function verifyMemberToken(secret: Uint8Array, token: string, now: number): Promise<VerifyResult> {
  return verifyOrgToken(secret, token, now, 'member', ['ext']);
}
