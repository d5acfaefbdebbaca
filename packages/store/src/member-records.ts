import type { JsonValue } from '@concierge/protocol';
import type { IdempotencyWrite } from './idempotency-records.js';

/** Members: an org's end users, known by the org's own id for them (`externalUserID`). */

/** A member's free-form attributes: a JSON object (bounded at the server's edge), stored and returned as given. */
export type MemberAttributes = { [key: string]: JsonValue };

export interface MemberProfile {
  displayName?: string | null | undefined;
  email?: string | null | undefined;
  tier?: string | null | undefined;
  attributes?: MemberAttributes | null | undefined;
}

export type MemberUpsertMode = 'merge' | 'restore' | 'live';

export interface MemberRecord {
  id: string;
  orgID: string;
  externalUserID: string;
  displayName: string | null;
  email: string | null;
  tier: string | null;
  attributes: MemberAttributes | null;
  /** Member tokens issued before this instant (epoch ms) are refused. */
  tokensValidAfter: number;
  /**
   * Set while the member is archived (offboarded): no token is issued, none is accepted, their history stays for
   * the team; a PUT clears it.
   */
  archivedAt: string | null;
  /** The member's place in the org's listing, newest highest (a keyset for `GET /v1/members`). */
  listSeq: number;
  createdAt: string;
  updatedAt: string;
}

/** The members part of the Store port (store.ts). */
export interface MemberStore {
  /**
   * Creates or updates a member; fields left out keep their values. `merge` leaves an archive as it is; `restore`
   * (the member PUT) also ends one; `live` (the token exchange) changes nothing of an archived member and returns it
   * as stored, for the caller to refuse.
   */
  upsertMember(
    orgID: string,
    externalUserID: string,
    profile: MemberProfile,
    mode: MemberUpsertMode,
    idem?: IdempotencyWrite<MemberRecord>,
  ): Promise<MemberRecord>;
  getMember(orgID: string, externalUserID: string): Promise<MemberRecord | null>;
  getMemberByID(memberID: string): Promise<MemberRecord | null>;
  /** An org's members, newest first, strictly older than `beforeSeq` (a `listSeq`) when given; archived left out. */
  listMembers(orgID: string, beforeSeq: number | null, limit: number): Promise<MemberRecord[]>;
  /**
   * Archives the member (refuses every token issued so far and any new one until restored); the member as stored,
   * or null if there is none. Archiving an archived member changes nothing.
   */
  archiveMember(orgID: string, externalUserID: string, at: number): Promise<MemberRecord | null>;
  /** Erases the member with their conversations, messages and events. Returns false if there was none. */
  deleteMember(orgID: string, externalUserID: string, idem?: IdempotencyWrite<boolean>): Promise<boolean>;
  revokeMemberTokens(
    orgID: string,
    externalUserID: string,
    at: number,
    idem?: IdempotencyWrite<MemberRecord | null>,
  ): Promise<MemberRecord | null>;
}
