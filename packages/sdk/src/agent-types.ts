import type { Conversation, Message, StreamEventMap } from '@concierge/protocol';

/*
 * The team API's wire shapes (docs/api.md, "Agents", "Inbox"), as the agent client reads them. They live here
 * until `@concierge/protocol` carries them; each field follows the team-API contract.
 */

export type AgentRole = 'admin' | 'agent';

export interface Agent {
  id: string;
  orgID: string;
  email: string;
  name: string;
  role: AgentRole;
  createdAt: string;
  disabledAt: string | null;
}

/** The answer of every sign-in route: a short-lived bearer (the refresh secret travels in an HttpOnly cookie). */
export interface SignedIn {
  accessToken: string;
  expiresAt: string;
  agent: Agent;
}

export type ConversationStatus = 'open' | 'closed';

export interface InboxMember {
  externalUserID: string;
  displayName: string | null;
  email: string | null;
  tier: string | null;
}

export interface InboxLastMessage {
  id: string;
  authorID: string;
  /** At most 140 characters of the body. */
  preview: string;
  createdAt: string;
  fromMember: boolean;
}

export interface InboxItem {
  conversation: Pick<Conversation, 'id' | 'type' | 'title' | 'lastMessageAt'>;
  status: ConversationStatus;
  assigneeID: string | null;
  awaitingReply: boolean;
  lastActivityAt: string;
  member: InboxMember;
  lastMessage: InboxLastMessage | null;
  /** Only with `q`: where the text matched and how well. */
  search?: { snippet: string; rank: number };
}

export interface InboxPage {
  data: InboxItem[];
  nextCursor: string | null;
}

export interface InboxCounts {
  unassigned: number;
  mine: number;
  open: number;
  awaiting: number;
  closed: number;
}

export interface ConversationState {
  conversationID: string;
  status: ConversationStatus;
  assigneeID: string | null;
  awaitingReply: boolean;
  updatedAt: string;
  updatedBy: { kind: 'agent' | 'member' | 'key'; id: string };
}

export interface Note {
  id: string;
  conversationID: string;
  authorID: string;
  body: string;
  createdAt: string;
}

export interface NotesPage {
  notes: Note[];
  nextCursor: string | null;
}

export interface NoteEvent {
  conversationID: string;
  note: Note;
}

/** What an agent's (or the Org-API-Key's) `GET /v1/stream` carries: the member events plus team-only state. */
export interface AgentStreamEventMap extends StreamEventMap {
  'conversation.updated': ConversationState;
  note: NoteEvent;
}

export type AgentStreamEventType = keyof AgentStreamEventMap;

export type AgentStreamEvent = {
  [K in AgentStreamEventType]: { type: K; id: string | null; data: AgentStreamEventMap[K] };
}[AgentStreamEventType];

export type { Message };
