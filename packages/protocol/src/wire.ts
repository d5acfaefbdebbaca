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

export interface Member {
  externalUserID: string;
  displayName: string | null;
  email: string | null;
  tier: string | null;
  createdAt: string;
  updatedAt: string;
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
  bodyLimitBytes: 64 * 1024,
} as const;
