/**
 * The wire shapes the SDK reads and writes. They are a copy of `@concierge/protocol`'s (wire.ts, events.ts) so the
 * published package depends on nothing private; `packages/sdk-tests/src/types.test.ts` proves at compile time that
 * the two stay assignable both ways, so they cannot drift apart silently.
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
  /** ISO-8601 with `Z`. */
  createdAt: string;
}

export interface Conversation {
  id: string;
  type: string;
  title: string | null;
  lastMessageAt: string | null;
  /** Messages from the other side after the member's read mark. */
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
   * The position of the newest message on this page (or of the conversation's start when the page is empty):
   * a stream opened `after` it goes live from this page with no gap. Servers before it existed leave it out.
   */
  latestCursor: string;
}

export interface SendMessageResponse {
  ok: true;
  /** The message as stored, to reconcile an optimistic copy. */
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

export interface StreamTicket {
  ticket: string;
  expiresAt: string;
}

/** Events of the one-connection stream (`GET /v1/stream`). */
export interface MessageEvent {
  conversationID: string;
  message: Message;
}

export interface ConversationEvent {
  conversation: Conversation;
  /** Present on server-credential streams: which member the conversation belongs to. */
  externalUserID?: string;
}

export interface ReadEvent {
  conversationID: string;
  reader: 'member' | 'concierge';
  readerID: string;
  messageID: string;
  readAt: string;
}

export interface TypingEvent {
  conversationID: string;
  typist: 'member' | 'concierge';
  typistID: string;
  at: string;
}

export interface StreamEventMap {
  message: MessageEvent;
  conversation: ConversationEvent;
  read: ReadEvent;
  typing: TypingEvent;
}

export type StreamEventType = keyof StreamEventMap;

/** `id` is the resume point (pass it back as `after`); typing events are not stored and carry none. */
export type StreamEvent = {
  [K in StreamEventType]: { type: K; id: string | null; data: StreamEventMap[K] };
}[StreamEventType];

/** The error envelope of every non-2xx answer. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    requestID?: string;
    retryable?: boolean;
    field?: string;
  };
}
