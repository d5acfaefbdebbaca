import type { ConversationState, NoteEvent } from './team.js';
import type { Conversation, Message } from './wire.js';

/**
 * Events of the one-connection stream (`GET /v1/stream`). Each travels as an SSE event whose `event:` is the
 * type and whose `data:` is the JSON payload below; its `id:` resumes the whole stream. See docs/sse.md.
 */
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
  /** Who moved their read mark: `member` or `concierge`. */
  reader: 'member' | 'concierge';
  /** The member's externalUserID when the reader is the member; the agent id (or `concierge`) otherwise. */
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
  /** Team streams only (agents, Org-API-Key): a conversation's state changed. */
  'conversation.updated': ConversationState;
  /** Team streams only: an internal note was added. */
  note: NoteEvent;
}

export type StreamEventType = keyof StreamEventMap;

/** `id` is the resume point (pass it back as `after`); typing events are not stored and carry none. */
export type StreamEvent = {
  [K in StreamEventType]: { type: K; id: string | null; data: StreamEventMap[K] };
}[StreamEventType];
