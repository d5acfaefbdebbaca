import { EventEmitter } from 'node:events';
import type { AgentRecord, AgentRole, MemberRecord, Store } from '@concierge/store';
import { decodeJwt } from 'jose';
import { verifyAgentToken } from './agent-tokens.js';
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
  | { kind: 'server'; orgID: string; keyID: string }
  | {
      kind: 'agent';
      orgID: string;
      agentID: string;
      sessionID: string;
      role: AgentRole;
      expiresAt: number;
      iat: number;
    };

/** The idempotency and rate-limit identity of a principal. */
export function principalID(p: Principal): string {
  return p.kind === 'member' ? `member:${p.memberID}` : p.kind === 'agent' ? `agent:${p.agentID}` : `key:${p.keyID}`;
}

/** The audience a JWT claims, read before verification to pick the checks; null if unreadable. */
function audience(token: string): string | null {
  try {
    const aud = decodeJwt(token).aud;
    return typeof aud === 'string' ? aud : null;
  } catch {
    return null;
  }
}

export interface MemberMark {
  orgID: string;
  tokensValidAfter: number;
  deleted: boolean;
  /** Archived (offboarded): no token is accepted until a PUT restores the member. */
  archived: boolean;
}

/**
 * `CONCIERGE_MEMBER_CACHE_MAX` lowers the member-mark cache's size. It exists for the test suite, which uses
 * it to prove that an evicted mark is reloaded rather than taken as "valid"; production has no reason to set it.
 */
const MAX_CACHED_MEMBERS = positiveInt(process.env.CONCIERGE_MEMBER_CACHE_MAX) ?? 200_000;
const MAX_CACHED_TOKENS = 50_000;

function positiveInt(text: string | undefined): number | null {
  const n = Number(text);
  return text !== undefined && Number.isInteger(n) && n > 0 ? n : null;
}

/** What a stream's lifetime check can say without I/O: `unknown` when the member's mark is not cached. */
export type CachedValidity = 'valid' | 'invalid' | 'unknown';

/**
 * Turns an `Authorization` header into a Principal. Member tokens are checked against cached org secrets and
 * cached revocation marks, so the hot path makes no database round-trip; the caches are filled on first use and
 * kept current by the writes that change them (exchange, revoke-tokens, member removal) through `note*`, on
 * every instance through the store's `revoked` signal.
 *
 * A signal can be lost (a PostgreSQL LISTEN connection drops), so the cache is trusted only while the store says
 * its notifications are live: meanwhile marks are read from the database on every check, and when the channel
 * comes back (`onResync`) both caches are dropped, since what changed in between is unknown.
 *
 * Emits `revoked(memberID, deleted)` so open streams of that member can be ended at once, and `resync` so the
 * hub re-checks every open stream against the database.
 */
export class Authenticator extends EventEmitter {
  private readonly orgSecrets = new Map<string, Uint8Array | null>();
  private readonly members = new Map<string, MemberMark>();
  /**
   * Agent sessions ended by a signal (a disable, a revocation) since start: lets a stream's per-write check end
   * them without I/O. The store stays the authority: every request reads the session.
   */
  private readonly endedSessions = new Set<string>();
  /** Agent id → when all their sessions ended (disable, sign out everywhere): tokens issued before are dead. */
  private readonly agentsEndedAt = new Map<string, number>();
  /**
   * Tokens whose signature and claims already verified: an app sends the same token on every call until it
   * refreshes, so the HMAC check runs once per token, not once per request. Expiry and revocation are still
   * checked on every use below.
   */
  private readonly verified = new Map<string, MemberClaims>();
  /**
   * Moves whenever the marks may have changed behind a read in flight (a revocation signal, a resync): a mark
   * read from the database before that is returned to its caller but not cached, so it cannot overwrite newer.
   */
  private generation = 0;

  constructor(private readonly store: Store) {
    super();
    this.setMaxListeners(0);
    // Revocations arrive here from every instance (this one too) and update the cache before anything else.
    store.onEphemeral((m) => {
      if (m.kind !== 'revoked') return;
      this.generation++;
      this.cacheMark(m.memberID, {
        orgID: m.orgID,
        tokensValidAfter: m.tokensValidAfter,
        deleted: m.deleted,
        archived: m.archived === true,
      });
      this.emit('revoked', m.memberID, m.deleted);
    });
    store.onEphemeral((m) => {
      if (m.kind !== 'agent-revoked') return;
      if (m.sessionID === null) this.agentsEndedAt.set(m.agentID, Date.now());
      else this.endedSessions.add(m.sessionID);
      // Only a shortcut for streams (the store decides every request): losing it costs a heartbeat at most.
      if (this.endedSessions.size > 100_000) this.endedSessions.clear();
      if (this.agentsEndedAt.size > 100_000) this.agentsEndedAt.clear();
      this.emit('agent-revoked', m.agentID, m.sessionID);
    });
    store.onResync(() => {
      this.generation++;
      this.members.clear();
      this.verified.clear();
      this.emit('resync');
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
    // A member token verified before skips reading its audience: decoding the JWT again was 6% of a send's
    // event-loop time (the send benchmark's profile). Only member tokens are ever in `verified`.
    if (!this.verified.has(credential) && audience(credential) === 'agent') return this.agentToken(credential);
    return this.memberToken(credential);
  }

  /**
   * An agent token is checked against its session in the store on every use, not a cache: agents are a handful
   * of people, so one indexed read per request is cheap, and a disable or sign-out (from the API, the CLI or
   * another instance, whatever signal was lost) is then refused on the very next request.
   */
  private async agentToken(token: string): Promise<Principal> {
    const now = Date.now();
    const invalid = new ApiError('TOKEN_INVALID', 'This agent token is malformed, forged, or not for this server.');
    if (token.length > 4096) throw invalid;
    const orgID = tokenOrg(token);
    if (orgID === null) throw invalid;
    const secret = await this.orgSecret(orgID);
    if (secret === null) throw invalid;
    const result = await verifyAgentToken(secret, token, now);
    if (!result.ok) {
      if (result.reason === 'expired')
        throw new ApiError('TOKEN_EXPIRED', 'This agent token has expired: refresh it and retry.', {
          headers: { 'www-authenticate': 'Bearer error="invalid_token", error_description="The access token expired"' },
        });
      throw invalid;
    }
    const { claims } = result;
    if (claims.org !== orgID) throw invalid;
    const agent = await this.liveAgent(claims.sid, claims.sub, orgID, now);
    if (agent === null) throw new ApiError('TOKEN_REVOKED', 'This agent was disabled or signed out.');
    return {
      kind: 'agent',
      orgID,
      agentID: agent.id,
      sessionID: claims.sid,
      role: agent.role,
      expiresAt: claims.expms,
      iat: claims.iatms,
    };
  }

  /** The agent behind a session if the session is live and the agent enabled; null otherwise. */
  private async liveAgent(sessionID: string, agentID: string, orgID: string, now: number): Promise<AgentRecord | null> {
    const mark = await this.store.getAgentSession(sessionID);
    if (mark === null) return null;
    const { session, agent } = mark;
    const live =
      session.revokedAt === null &&
      Date.parse(session.expiresAt) > now &&
      agent.disabledAt === null &&
      agent.id === agentID &&
      agent.orgID === orgID;
    return live ? agent : null;
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
    if (mark === null || mark.deleted || mark.archived || mark.orgID !== orgID || claims.iatms < mark.tokensValidAfter)
      throw new ApiError('TOKEN_REVOKED', 'This member token was revoked, or its member archived or removed.');
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

  /**
   * Whether a principal's token is still good (not expired, not revoked, its member not removed), as far as the
   * cache can tell without I/O: streams check this on every write and ask `stillValid` when it says `unknown`
   * (a mark evicted or never loaded) or while notifications are not live.
   */
  cachedValidity(p: Principal, now = Date.now()): CachedValidity {
    if (p.kind === 'agent')
      return p.expiresAt <= now ||
        this.endedSessions.has(p.sessionID) ||
        p.iat <= (this.agentsEndedAt.get(p.agentID) ?? -1)
        ? 'invalid'
        : 'valid';
    if (p.kind !== 'member') return 'valid';
    if (p.expiresAt <= now) return 'invalid';
    const mark = this.members.get(p.memberID);
    if (mark === undefined) return 'unknown';
    return markAccepts(p, mark) ? 'valid' : 'invalid';
  }

  /**
   * Whether a principal's token is still good, reading the member's mark from the database when the cache
   * cannot be trusted (not cached, or notifications not live). A missing member is not valid.
   */
  async stillValid(p: Principal, now = Date.now()): Promise<boolean> {
    if (p.kind === 'agent')
      return p.expiresAt > now && (await this.liveAgent(p.sessionID, p.agentID, p.orgID, now)) !== null;
    if (p.kind !== 'member') return true;
    if (p.expiresAt <= now) return false;
    const mark = await this.memberMark(p.memberID);
    return mark !== null && markAccepts(p, mark);
  }

  /** Whether a mark (null: no such member) still accepts the principal; for checks of many streams at once. */
  accepts(p: Principal, mark: MemberMark | null, now = Date.now()): boolean {
    if (p.kind !== 'member') return true;
    return p.expiresAt > now && mark !== null && markAccepts(p, mark);
  }

  async orgSecret(orgID: string): Promise<Uint8Array | null> {
    if (this.orgSecrets.has(orgID)) return this.orgSecrets.get(orgID)!;
    const org = await this.store.getOrg(orgID);
    // Unknown orgs are not cached: the id came from an unverified header and must not grow the map.
    if (org === null) return null;
    this.orgSecrets.set(orgID, org.signingSecret);
    return org.signingSecret;
  }

  /**
   * A member's revocation mark (null: no such member): from the cache while notifications are live, from the
   * database otherwise (then cached for when they are live again, unless something moved meanwhile).
   */
  async memberMark(memberID: string): Promise<MemberMark | null> {
    if (this.store.notificationsLive()) {
      const cached = this.members.get(memberID);
      if (cached !== undefined) return cached;
    }
    const generation = this.generation;
    const member = await this.store.getMemberByID(memberID);
    if (member === null) return null;
    const mark = markOf(member);
    if (generation === this.generation) this.cacheMark(member.id, mark);
    return mark;
  }

  private cacheMark(memberID: string, mark: MemberMark): void {
    if (this.members.size >= MAX_CACHED_MEMBERS && !this.members.has(memberID)) {
      const oldest = this.members.keys().next();
      if (oldest.done !== true) this.members.delete(oldest.value);
    }
    this.members.set(memberID, mark);
  }

  /**
   * Records a member's current revocation mark. `revoked` also tells every instance, which ends the member's
   * open streams everywhere at once (a revocation, an archive, a restore). The signal is only a shortcut: an
   * archive also moved `tokensValidAfter` in the database, which an instance that missed it reads (see the class).
   */
  noteMember(member: MemberRecord, revoked = false): MemberMark {
    const mark = markOf(member);
    this.cacheMark(member.id, mark);
    if (revoked)
      this.store.publishEphemeral({
        kind: 'revoked',
        orgID: member.orgID,
        memberID: member.id,
        tokensValidAfter: member.tokensValidAfter,
        deleted: false,
        archived: mark.archived,
      });
    return mark;
  }

  /**
   * An agent disabled (`sessionID` null) or one session ended: tells every instance, whose hubs end the streams
   * at once. A re-enabled agent signs in afresh (disabling revoked every session), so the mark never needs undoing.
   */
  noteAgentRevoked(orgID: string, agentID: string, sessionID: string | null): void {
    this.store.publishEphemeral({ kind: 'agent-revoked', orgID, agentID, sessionID });
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

function markAccepts(p: Extract<Principal, { kind: 'member' }>, mark: MemberMark): boolean {
  return !mark.deleted && !mark.archived && mark.orgID === p.orgID && p.iat >= mark.tokensValidAfter;
}

function markOf(member: MemberRecord): MemberMark {
  return {
    orgID: member.orgID,
    tokensValidAfter: member.tokensValidAfter,
    deleted: false,
    archived: member.archivedAt !== null,
  };
}
