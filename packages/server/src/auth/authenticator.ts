import { EventEmitter } from 'node:events';
import type { MemberRecord, Store } from '@concierge/store';
import { ApiError } from '../errors.js';
import { hashApiKey, looksLikeApiKey } from './api-keys.js';
import { tokenOrg, verifyMemberToken, type MemberClaims } from './member-tokens.js';

function expired(): ApiError {
  return new ApiError('TOKEN_EXPIRED', 'This member token has expired: refresh it and retry.', {
    headers: { 'www-authenticate': 'Bearer error="invalid_token", error_description="The access token expired"' },
  });
}

export type Principal =
  | { kind: 'member'; orgID: string; memberID: string; externalUserID: string; expiresAt: number; iat: number }
  | { kind: 'server'; orgID: string; keyID: string };

/** The idempotency and rate-limit identity of a principal. */
export function principalID(p: Principal): string {
  return p.kind === 'member' ? `member:${p.memberID}` : `key:${p.keyID}`;
}

interface MemberMark {
  orgID: string;
  tokensValidAfter: number;
  deleted: boolean;
}

const MAX_CACHED_MEMBERS = 200_000;
const MAX_CACHED_TOKENS = 50_000;

/**
 * Turns an `Authorization` header into a Principal. Member tokens are checked against cached org secrets and
 * cached revocation marks, so the hot path makes no database round-trip; the caches are filled on first use and
 * kept current by the writes that change them (exchange, revoke-tokens, member removal) through `note*`.
 *
 * Emits `revoked(memberID, deleted)` so open streams of that member can be ended at once.
 */
export class Authenticator extends EventEmitter {
  private readonly orgSecrets = new Map<string, Uint8Array | null>();
  private readonly members = new Map<string, MemberMark>();
  /**
   * Tokens whose signature and claims already verified: an app sends the same token on every call until it
   * refreshes, so the HMAC check runs once per token, not once per request. Expiry and revocation are still
   * checked on every use below.
   */
  private readonly verified = new Map<string, MemberClaims>();

  constructor(private readonly store: Store) {
    super();
    this.setMaxListeners(0);
    // Revocations arrive here from every instance (this one too) and update the cache before anything else.
    store.onEphemeral((m) => {
      if (m.kind !== 'revoked') return;
      this.members.set(m.memberID, { orgID: m.orgID, tokensValidAfter: m.tokensValidAfter, deleted: m.deleted });
      this.emit('revoked', m.memberID, m.deleted);
    });
  }

  async authenticate(header: string | undefined): Promise<Principal> {
    if (header === undefined || header === '')
      throw new ApiError('UNAUTHORIZED', 'Send a credential: `Authorization: Bearer <token or Org-API-Key>`.');
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (m === null) throw new ApiError('UNAUTHORIZED', 'The Authorization header must be `Bearer <credential>`.');
    return this.credential(m[1]!);
  }

  async credential(credential: string): Promise<Principal> {
    if (looksLikeApiKey(credential)) {
      const key = credential.length > 200 ? null : await this.store.findApiKeyByHash(hashApiKey(credential));
      if (key === null) throw new ApiError('API_KEY_INVALID', 'This Org-API-Key is unknown or revoked.');
      return { kind: 'server', orgID: key.orgID, keyID: key.id };
    }
    return this.memberToken(credential);
  }

  private async memberToken(token: string): Promise<Principal> {
    const now = Date.now();
    let claims = this.verified.get(token);
    if (claims === undefined) {
      claims = await this.verify(token, now);
      if (this.verified.size >= MAX_CACHED_TOKENS) this.verified.clear();
      this.verified.set(token, claims);
    }
    if (claims.expms <= now) {
      this.verified.delete(token);
      throw expired();
    }
    const orgID = claims.org;
    const mark = await this.memberMark(claims.sub);
    if (mark === null || mark.deleted || mark.orgID !== orgID || claims.iatms < mark.tokensValidAfter)
      throw new ApiError('TOKEN_REVOKED', 'This member token was revoked.');
    return {
      kind: 'member',
      orgID,
      memberID: claims.sub,
      externalUserID: claims.ext,
      expiresAt: claims.expms,
      iat: claims.iatms,
    };
  }

  private async verify(token: string, now: number): Promise<MemberClaims> {
    const invalid = new ApiError('TOKEN_INVALID', 'This member token is malformed, forged, or not for this server.');
    if (token.length > 4096) throw invalid;
    const orgID = tokenOrg(token);
    if (orgID === null) throw invalid;
    const secret = await this.orgSecret(orgID);
    if (secret === null) throw invalid;
    const result = await verifyMemberToken(secret, token, now);
    if (!result.ok) throw result.reason === 'expired' ? expired() : invalid;
    if (result.claims.org !== orgID) throw invalid;
    return result.claims;
  }

  /** True while a member principal's token is still good (not expired, not revoked): streams re-check this. */
  stillValid(p: Principal, now = Date.now()): boolean {
    if (p.kind !== 'member') return true;
    if (p.expiresAt <= now) return false;
    const mark = this.members.get(p.memberID);
    return mark === undefined || (!mark.deleted && p.iat >= mark.tokensValidAfter);
  }

  async orgSecret(orgID: string): Promise<Uint8Array | null> {
    if (this.orgSecrets.has(orgID)) return this.orgSecrets.get(orgID)!;
    const org = await this.store.getOrg(orgID);
    // Unknown orgs are not cached: the id came from an unverified header and must not grow the map.
    if (org === null) return null;
    this.orgSecrets.set(orgID, org.signingSecret);
    return org.signingSecret;
  }

  private async memberMark(memberID: string): Promise<MemberMark | null> {
    const cached = this.members.get(memberID);
    if (cached !== undefined) return cached;
    const member = await this.store.getMemberByID(memberID);
    if (member === null) return null;
    return this.noteMember(member);
  }

  /**
   * Records a member's current revocation mark. `revoked` also tells every instance, which ends the member's
   * open streams everywhere at once.
   */
  noteMember(member: MemberRecord, revoked = false): MemberMark {
    const previous = this.members.get(member.id);
    const mark = { orgID: member.orgID, tokensValidAfter: member.tokensValidAfter, deleted: false };
    if (this.members.size >= MAX_CACHED_MEMBERS && previous === undefined) {
      const oldest = this.members.keys().next();
      if (oldest.done !== true) this.members.delete(oldest.value);
    }
    this.members.set(member.id, mark);
    if (revoked)
      this.store.publishEphemeral({
        kind: 'revoked',
        orgID: member.orgID,
        memberID: member.id,
        tokensValidAfter: member.tokensValidAfter,
        deleted: false,
      });
    return mark;
  }

  noteDeleted(memberID: string, orgID: string): void {
    this.store.publishEphemeral({
      kind: 'revoked',
      orgID,
      memberID,
      tokensValidAfter: Number.MAX_SAFE_INTEGER,
      deleted: true,
    });
  }
}
