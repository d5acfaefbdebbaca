import type {
  AgentPerson,
  AgentRecord,
  AgentSessionRecord,
  NoteRecord,
  ApiKeyRecord,
  ConversationRecord,
  MemberAttributes,
  MemberRecord,
  MessageRecord,
  OrgRecord,
  StoredEvent,
  StoredEventType,
  InboxCounts,
  InboxRow,
} from './store.js';

/**
 * Row → record mappers for both dialects. Records carry numbers and ISO-8601 strings; node-postgres hands back
 * bigint columns as strings and timestamptz as Date, SQLite hands back what was stored (text, integers), so every
 * column goes through the same conversions and both adapters give the same records byte for byte.
 */
export type Row = Record<string, unknown>;

export function iso(v: unknown): string {
  return v instanceof Date ? v.toISOString() : String(v);
}

function isoOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : iso(v);
}

function textOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : (v as string);
}

export function toOrg(r: Row): OrgRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    signingSecret: new Uint8Array(r.signing_secret as Buffer),
    createdAt: iso(r.created_at),
    defaultTier: r.default_tier as string,
  };
}

export function toApiKey(r: Row): ApiKeyRecord {
  return {
    id: r.id as string,
    orgID: r.org_id as string,
    hint: r.hint as string,
    createdAt: iso(r.created_at),
    revokedAt: isoOrNull(r.revoked_at),
  };
}

export function toMember(r: Row): MemberRecord {
  return {
    id: r.id as string,
    orgID: r.org_id as string,
    externalUserID: r.external_user_id as string,
    displayName: textOrNull(r.display_name),
    email: textOrNull(r.email),
    tier: textOrNull(r.tier),
    attributes:
      r.attributes === null || r.attributes === undefined
        ? null
        : (JSON.parse(r.attributes as string) as MemberAttributes),
    tokensValidAfter: Number(r.tokens_valid_after),
    archivedAt: isoOrNull(r.archived_at),
    listSeq: Number(r.list_seq),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** The columns `toConversation` reads, for `conversations c JOIN members m` (the same SQL in both dialects). */
export const CONVERSATION_COLUMNS = `c.id, c.org_id, c.member_id, m.external_user_id, c.type, c.title, c.created_at,
  c.last_message_at, c.last_seq, c.member_read_seq, c.concierge_read_seq, c.member_unread AS unread_count,
  c.status, c.assignee_id, c.awaiting, c.state_updated_at, c.state_by_kind, c.state_by_id`;

export function toConversation(r: Row): ConversationRecord {
  return {
    id: r.id as string,
    orgID: r.org_id as string,
    memberID: r.member_id as string,
    externalUserID: r.external_user_id as string,
    type: r.type as string,
    title: textOrNull(r.title),
    createdAt: iso(r.created_at),
    lastMessageAt: isoOrNull(r.last_message_at),
    lastSeq: Number(r.last_seq),
    memberReadSeq: Number(r.member_read_seq),
    conciergeReadSeq: Number(r.concierge_read_seq),
    unreadCount: Number(r.unread_count ?? 0),
    status: r.status === 'closed' ? 'closed' : 'open',
    assigneeID: textOrNull(r.assignee_id),
    // SQLite stores 0/1, PostgreSQL a boolean.
    awaitingReply: r.awaiting === true || r.awaiting === 1,
    stateUpdatedAt: iso(r.state_updated_at ?? r.created_at),
    stateUpdatedBy: {
      kind: (r.state_by_kind ?? 'member') as 'agent' | 'member' | 'key',
      id: (r.state_by_id as string | null) ?? '',
    },
  };
}

export function toAgent(r: Row): AgentRecord {
  return {
    id: r.id as string,
    orgID: r.org_id as string,
    email: r.email as string,
    name: r.name as string,
    role: r.role === 'admin' ? 'admin' : 'agent',
    createdAt: iso(r.created_at),
    disabledAt: isoOrNull(r.disabled_at),
  };
}

/** The person behind `email` from their agents' rows, each joined with its org's name and the email's KDF. */
export function toAgentPerson(email: string, rows: Row[]): AgentPerson {
  return {
    email,
    passwordKdf: (rows[0]?.password_kdf as string | null | undefined) ?? null,
    memberships: rows.map((r) => ({
      ...toAgent(r),
      passwordHash: (r.password_hash as string | null) ?? null,
      orgName: r.org_name as string,
    })),
  };
}

export function toAgentSession(r: Row): AgentSessionRecord {
  return {
    id: r.id as string,
    agentID: r.agent_id as string,
    orgID: r.org_id as string,
    refreshHash: r.refresh_hash as string,
    previousHash: textOrNull(r.previous_hash),
    createdAt: iso(r.created_at),
    lastUsedAt: iso(r.last_used_at),
    expiresAt: iso(r.expires_at),
    userAgent: textOrNull(r.user_agent),
    revokedAt: isoOrNull(r.revoked_at),
  };
}

/** The agent columns of a session row joined with its agent (`s` sessions, `a` agents). */
export const SESSION_AGENT_COLUMNS = `s.*, a.id AS a_id, a.org_id AS a_org_id, a.email AS a_email, a.name AS a_name,
  a.role AS a_role, a.created_at AS a_created_at, a.disabled_at AS a_disabled_at`;

export function toSessionMark(r: Row): { session: AgentSessionRecord; agent: AgentRecord } {
  return {
    session: toAgentSession(r),
    agent: toAgent({
      id: r.a_id,
      org_id: r.a_org_id,
      email: r.a_email,
      name: r.a_name,
      role: r.a_role,
      created_at: r.a_created_at,
      disabled_at: r.a_disabled_at,
    }),
  };
}

export function toNote(r: Row): NoteRecord {
  return {
    id: r.id as string,
    orgID: r.org_id as string,
    conversationID: r.conversation_id as string,
    authorID: r.author_id as string,
    body: r.body as string,
    createdAt: iso(r.created_at),
    seq: Number(r.seq),
  };
}

/**
 * The inbox's row: the conversation (`c`, with `pos`), its member (`m`) and its last message (`lm`, the message
 * whose seq is the conversation's `last_seq`, if its last activity was one).
 */
export const INBOX_COLUMNS = `${CONVERSATION_COLUMNS}, c.pos, m.display_name, m.email, m.tier,
  lm.id AS lm_id, lm.type AS lm_type, lm.author_id AS lm_author_id, lm.body AS lm_body, lm.via AS lm_via,
  lm.created_at AS lm_created_at, lm.seq AS lm_seq`;

export function toInboxCounts(r: Row): InboxCounts {
  return {
    unassigned: Number(r.unassigned),
    mine: Number(r.mine),
    open: Number(r.open),
    awaiting: Number(r.awaiting),
    closed: Number(r.closed),
  };
}

export function toInboxRow(r: Row): InboxRow {
  const conversation = toConversation(r);
  const row: InboxRow = {
    conversation,
    member: {
      externalUserID: conversation.externalUserID,
      displayName: textOrNull(r.display_name),
      email: textOrNull(r.email),
      tier: textOrNull(r.tier),
    },
    lastMessage:
      r.lm_id === null || r.lm_id === undefined
        ? null
        : toMessage({
            id: r.lm_id,
            org_id: conversation.orgID,
            conversation_id: conversation.id,
            seq: r.lm_seq,
            type: r.lm_type,
            author_id: r.lm_author_id,
            body: r.lm_body,
            via: r.lm_via,
            created_at: r.lm_created_at,
          }),
    position: Number(r.pos),
  };
  if (r.snippet !== undefined) row.search = { snippet: (r.snippet as string | null) ?? '', rank: Number(r.rank) };
  return row;
}

export function toMessage(r: Row): MessageRecord {
  return {
    id: r.id as string,
    orgID: r.org_id as string,
    conversationID: r.conversation_id as string,
    seq: Number(r.seq),
    type: r.type as string,
    authorID: r.author_id as string,
    body: textOrNull(r.body),
    via: r.via as MessageRecord['via'],
    createdAt: iso(r.created_at),
  };
}

/** Events with their message joined in (a `message` event's row in `messages` has the same seq). */
export const EVENT_COLUMNS = `e.org_id, e.seq, e.type, e.member_id, e.conversation_id, e.payload,
  m.id AS m_id, m.type AS m_type, m.author_id AS m_author_id, m.body AS m_body, m.via AS m_via,
  m.created_at AS m_created_at`;

export const EVENT_JOIN = `events e LEFT JOIN messages m
  ON e.type = 'message' AND m.conversation_id = e.conversation_id AND m.seq = e.seq`;

/** One row of the event-log query (`EVENT_COLUMNS` from `EVENT_JOIN`) as a StoredEvent. */
export function toEvent(r: Row): StoredEvent {
  return {
    orgID: r.org_id as string,
    seq: Number(r.seq),
    type: r.type as StoredEventType,
    memberID: r.member_id as string,
    conversationID: r.conversation_id as string,
    payload: r.payload === null || r.payload === undefined ? null : (JSON.parse(r.payload as string) as unknown),
    message:
      r.m_id === null || r.m_id === undefined
        ? null
        : toMessage({
            id: r.m_id,
            org_id: r.org_id,
            conversation_id: r.conversation_id,
            seq: r.seq,
            type: r.m_type,
            author_id: r.m_author_id,
            body: r.m_body,
            via: r.m_via,
            created_at: r.m_created_at,
          }),
  };
}

/** The event's payload as stored: JSON text, byte for byte what a replay renders, or null. */
export function payloadText(event: StoredEvent): string | null {
  return event.payload === null ? null : JSON.stringify(event.payload);
}

/** A member's attributes as stored (JSON text in both dialects, so they come back exactly as given), or null. */
export function attributesText(m: MemberRecord): string | null {
  return m.attributes === null ? null : JSON.stringify(m.attributes);
}
