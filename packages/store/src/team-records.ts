import type { Actor, ConversationState, ConversationStatus, InboxCounts } from '@concierge/protocol';
import type { ConversationRecord, MessageRecord } from './conversation-records.js';
import type { IdempotencyWrite } from './idempotency-records.js';

/** The team's work on conversations: the inbox, its search and counts, state changes and notes. */

export interface NoteRecord {
  id: string;
  orgID: string;
  conversationID: string;
  authorID: string;
  body: string;
  createdAt: string;
  seq: number;
}

export interface InboxFilter {
  orgID: string;
  status?: ConversationStatus | undefined;
  /** `none`: unassigned; an agent id: theirs. */
  assignee?: string | undefined;
  awaiting?: boolean | undefined;
}

export interface InboxRow {
  conversation: ConversationRecord;
  member: { externalUserID: string; displayName: string | null; email: string | null; tier: string | null };
  lastMessage: MessageRecord | null;
  /** The keyset position: the conversation's activity as of the snapshot. */
  position: number;
  search?: { snippet: string; rank: number };
}

/** A change of a conversation's team state; `assign` null unassigns. */
export type StateChange = { assign: string | null } | { status: ConversationStatus };

/** The inbox, state and notes part of the Store port (store.ts). */
export interface TeamStore {
  /**
   * The org's conversations newest activity first, as of `snapshot` (an org seq): a conversation whose activity
   * moved after it keeps its position as of the snapshot, so paging neither skips nor repeats one.
   */
  inbox(filter: InboxFilter, snapshot: number, before: number | null, limit: number): Promise<InboxRow[]>;
  /** `q` ranked (best first, ties by activity), `offset` into that order. */
  searchInbox(filter: InboxFilter, q: string, offset: number, limit: number): Promise<InboxRow[]>;
  inboxCounts(orgID: string, agentID: string | null): Promise<InboxCounts>;
  /** One conversation of the org as the inbox lists it (its activity as its position); null when the org has none. */
  inboxItem(orgID: string, conversationID: string): Promise<InboxRow | null>;
  /** Applies a state change; `changed` false (and no event) when it was the state already. */
  changeState(
    orgID: string,
    conversationID: string,
    change: StateChange,
    actor: Actor,
  ): Promise<{ state: ConversationState; changed: boolean }>;
  addNote(
    note: { orgID: string; conversationID: string; authorID: string; body: string },
    idem?: IdempotencyWrite<NoteRecord>,
  ): Promise<NoteRecord>;
  /** Newest first, strictly older than `beforeSeq` when given. */
  listNotes(conversationID: string, beforeSeq: number | null, limit: number): Promise<NoteRecord[]>;
}
