/**
 * The wire shapes. Field names and nullability follow the seed page and the wire contract to the byte: every
 * key is always present, `| null` fields are sent as `null`, never omitted. Fields marked "ours" are additions.
 */

export type MessageType = 'member' | 'concierge' | 'system';

export interface Message {
  id: string;
  /** `member` (written by the member, or by the org's backend on the member's behalf), `concierge`, `system`. */
  type: MessageType | (string & {});
  /** A member's message: their `externalUserID`. A concierge message: the agent's id, or `concierge`. */
  authorID: string;
  /** Null for a non-text or system message. */
  body: string | null;
  /** ISO-8601 with `Z`, millisecond precision. */
  createdAt: string;
}

export interface Conversation {
  id: string;
  type: string;
  title: string | null;
  lastMessageAt: string | null;
  /** Ours: messages from the other side after the member's read mark. Present for member-scoped reads. */
  unreadCount: number;
}

/** A JSON value, as `JSON.parse` gives it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * The contract's MemberSummary (`GET`/`PUT /v1/members/{externalUserID}`, the entries of `GET /v1/members`), with
 * our additions. `redemptionCounts` and `wallet` are loyalty features of the hosted API that Concierge does not
 * have: always present (its clients require the keys), always empty.
 */
export interface Member {
  externalUserID: string;
  displayName: string | null;
  /** Ours. */
  email: string | null;
  /** Never null: a member without a tier of their own reports the org's default tier. */
  tier: string;
  /** The org's own JSON object about the member, stored and returned as given; null until one is set. */
  attributes: { [key: string]: JsonValue } | null;
  /** Always `{}`: Concierge has no redemptions. */
  redemptionCounts: Record<string, never>;
  /** Always `{}`: Concierge has no loyalty wallet. */
  wallet: Record<string, never>;
  /** Ours: when the member was archived (`DELETE`), or null. A PUT restores them. */
  archivedAt: string | null;
  /** Ours. */
  createdAt: string;
  /** Ours. */
  updatedAt: string;
}

export interface ListMembersResponse {
  /** Newest first (by when the member was first seen). */
  members: Member[];
  /** Pass back as `cursor` for the next (older) page; `null` ends the list. */
  nextCursor: string | null;
}

/** `DELETE /v1/members/{externalUserID}`: the contract's offboarding answer, with ours beside it. */
export interface ArchiveMemberResponse {
  externalUserID: string;
  /** True when the member exists and is now archived (false: there was no such member). */
  archived: boolean;
  /** Always false: Concierge keeps no balance (`retainBalance` is accepted and has nothing to act on). */
  balanceRetained: boolean;
  /** Ours. */
  ok: true;
  /** Ours: always false, since `DELETE` never erases (`POST /v1/members/{externalUserID}/erase` does). */
  deleted: false;
}

export interface ListConversationsResponse {
  conversations: Conversation[];
}

export interface ListMessagesResponse {
  /** Newest first. */
  messages: Message[];
  /** Pass back as `cursor` for the next (older) page; `null` ends the history. */
  nextCursor: string | null;
  /**
   * Ours: the position of the newest message on this page (or of the conversation's start when the page is
   * empty). Open the stream with it as `after` / `Last-Event-ID` to go live from this page with no gap.
   */
  latestCursor: string;
}

export interface SendMessageResponse {
  ok: true;
  /** Ours: the message as stored, so a client can reconcile its optimistic copy. */
  message: Message;
}

export interface ExchangeResponse {
  accessToken: string;
  /** ISO-8601 instant. */
  expiresAt: string;
}

export interface MarkReadResponse {
  ok: true;
  conversation: Conversation;
}

/** Ours: a single-use stream ticket (`POST /v1/stream-tickets`), for clients that cannot send headers (EventSource). */
export interface StreamTicket {
  ticket: string;
  expiresAt: string;
}

/** Org-API-Keys carry this prefix so clients (and people) can tell a server credential from a member token. */
export const API_KEY_PREFIX = 'ck_live_';

/**
 * Every prefix an Org-API-Key may carry: `ck_live_` by default, or one chosen at creation
 * (`concierge keys create --prefix expys_live_`) so that a backend on the hosted API's official SDK, which takes a
 * credential for a server key only if it starts with `expys_`, runs unchanged (docs/auth.md). Member tokens are
 * JWTs (`eyJ…`) and tickets start `tkt_`, so neither can match.
 */
export const API_KEY_PREFIX_PATTERN = /^[a-z]+_(?:live|sandbox)_/;

export const LIMITS = {
  /** Page size bounds for listMessages. */
  pageDefault: 50,
  pageMax: 100,
  /** Default maximum message length in characters (configurable on the server). */
  messageMaxChars: 4000,
  idempotencyKeyMaxChars: 255,
  externalUserIDMaxChars: 255,
  titleMaxChars: 200,
  typeMaxChars: 64,
  profileFieldMaxChars: 320,
  /** A member's `attributes`: at most this many bytes as JSON (UTF-8), and objects or arrays nested this deep. */
  attributesMaxBytes: 16 * 1024,
  attributesMaxDepth: 8,
  /** Page size bounds for `GET /v1/members`. */
  membersPageDefault: 50,
  membersPageMax: 100,
  bodyLimitBytes: 64 * 1024,
} as const;
