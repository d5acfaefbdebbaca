import type { Actor, Conversation, ConversationState } from '@concierge/protocol';
import type { IdempotencyWrite } from './idempotency-records.js';

/** Conversations, their messages and read marks, and the org's event log they append to. */

/**
 * A conversation as stored: the wire's `Conversation` fields (`unreadCount`: messages not written by the member
 * after the member's read mark), and its team state as `ConversationState` carries it (never rendered for a
 * member), with what only storage keeps.
 */
export interface ConversationRecord
  extends
    Pick<Conversation, 'id' | 'type' | 'title' | 'lastMessageAt' | 'unreadCount'>,
    Pick<ConversationState, 'status' | 'assigneeID' | 'awaitingReply'> {
  orgID: string;
  memberID: string;
  externalUserID: string;
  createdAt: string;
  /** seq of the latest activity (creation or message): the "newest activity first" order. */
  lastSeq: number;
  memberReadSeq: number;
  conciergeReadSeq: number;
  stateUpdatedAt: string;
  stateUpdatedBy: Actor;
}

export type MessageVia = 'member' | 'server';

export interface MessageRecord {
  id: string;
  orgID: string;
  conversationID: string;
  seq: number;
  type: string;
  authorID: string;
  body: string | null;
  /** Who put it on the wire: the member's own token, or a server credential (concierge or on behalf). */
  via: MessageVia;
  createdAt: string;
}

export type StoredEventType = 'message' | 'conversation' | 'read' | 'conversation.updated' | 'note';

/** Events only the team's streams (agents, Org-API-Key) carry: never a member's stream, page or count. */
export const TEAM_ONLY_EVENTS: readonly StoredEventType[] = ['conversation.updated', 'note'];

/** One row of an org's durable event log: what `GET /v1/stream` replays and fans out. */
export interface StoredEvent {
  orgID: string;
  seq: number;
  type: StoredEventType;
  memberID: string;
  conversationID: string;
  /** For `message` events the message itself; for others, the event's JSON payload as written. */
  message: MessageRecord | null;
  payload: unknown;
}

export interface NewConversation {
  orgID: string;
  memberID: string;
  type: string;
  title: string | null;
}

export interface NewMessage {
  orgID: string;
  conversationID: string;
  type: string;
  authorID: string;
  body: string | null;
  via: MessageVia;
  /** Who sent it, for the `conversation.updated` event when it flips the state; the member by default. */
  actor?: Actor | undefined;
}

export interface ReadMark {
  orgID: string;
  conversationID: string;
  reader: 'member' | 'concierge';
  readerID: string;
  /** The message read up to; the mark only ever moves forward. */
  messageID: string;
}

export interface ReadMarkResult {
  conversation: ConversationRecord;
  /** False when the mark was already at or past this message (nothing written, no event). */
  moved: boolean;
}

/** The team state of a conversation record, as `conversation.updated` and the state routes carry it. */
export function conversationState(c: ConversationRecord): ConversationState {
  return {
    conversationID: c.id,
    status: c.status,
    assigneeID: c.assigneeID,
    awaitingReply: c.awaitingReply,
    updatedAt: c.stateUpdatedAt,
    updatedBy: c.stateUpdatedBy,
  };
}

/** The conversations, messages and event log part of the Store port (store.ts). */
export interface ConversationStore {
  createConversation(input: NewConversation, idem?: IdempotencyWrite<ConversationRecord>): Promise<ConversationRecord>;
  getConversation(orgID: string, conversationID: string): Promise<ConversationRecord | null>;
  /** Newest activity first. */
  listConversations(orgID: string, memberID: string): Promise<ConversationRecord[]>;

  /** Throws NotFoundInStore if the conversation is gone (for example its member was removed meanwhile). */
  insertMessage(input: NewMessage, idem?: IdempotencyWrite<MessageRecord>): Promise<MessageRecord>;
  getMessage(conversationID: string, messageID: string): Promise<MessageRecord | null>;
  /** Newest first, strictly older than `beforeSeq` when given. */
  listMessagesBefore(conversationID: string, beforeSeq: number | null, limit: number): Promise<MessageRecord[]>;
  /** Oldest first, strictly newer than `afterSeq`. */
  listMessagesAfter(conversationID: string, afterSeq: number, limit: number): Promise<MessageRecord[]>;
  /** The newest message's seq, or 0. */
  latestMessageSeq(conversationID: string): Promise<number>;

  markRead(mark: ReadMark, idem?: IdempotencyWrite<ReadMarkResult>): Promise<ReadMarkResult>;

  /** Events of an org after `afterSeq`, oldest first; `memberID` narrows them to one member's. */
  listEventsAfter(orgID: string, memberID: string | null, afterSeq: number, limit: number): Promise<StoredEvent[]>;
  /** The org's latest event seq, or 0. */
  latestEventSeq(orgID: string): Promise<number>;
}
