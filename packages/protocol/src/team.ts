import type { Conversation } from './wire.js';

/**
 * The concierge team's side of the wire: agents and their sign-in, the org-wide inbox, conversation
 * state and internal notes. None of it is ever shown to a member's credential.
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

/** One org the signed-in person may switch to: an agent of theirs there, opened by the same password. */
export interface AgentOrg {
  orgID: string;
  orgName: string;
  agentID: string;
  role: AgentRole;
}

/** What setup, sign-in and refresh answer; the refresh secret travels only in the `concierge_refresh` cookie. */
export interface SignedIn {
  accessToken: string;
  expiresAt: string;
  agent: Agent;
  /**
   * Every org where the same email is an enabled agent with the same password, this one included, oldest first:
   * what the console's org switcher offers (`POST /v1/agent-auth/switch`).
   */
  orgs: AgentOrg[];
}

export interface CreateAgentResponse {
  agent: Agent;
  /** `<public base URL>/console/setup#token=…`: single use, valid 24 hours. */
  signInLink: string;
  signInLinkExpiresAt: string;
}

export interface AgentSession {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  userAgent: string | null;
  /** True for the session of the access token that asked. */
  current: boolean;
}

export type ConversationStatus = 'open' | 'closed';

export interface Actor {
  kind: 'agent' | 'member' | 'key';
  id: string;
}

export interface ConversationState {
  conversationID: string;
  status: ConversationStatus;
  assigneeID: string | null;
  /** True when the last message is the member's. */
  awaitingReply: boolean;
  updatedAt: string;
  updatedBy: Actor;
}

export interface InboxItem {
  conversation: Conversation & { externalUserID: string };
  status: ConversationStatus;
  assigneeID: string | null;
  awaitingReply: boolean;
  lastActivityAt: string;
  member: { externalUserID: string; displayName: string | null; email: string | null; tier: string | null };
  lastMessage: {
    id: string;
    authorID: string;
    /** At most 140 characters. */
    preview: string;
    createdAt: string;
    fromMember: boolean;
  } | null;
  /** Only with `q`: the best-matching text with matches in `[` `]`, and the relevance (higher is better). */
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
