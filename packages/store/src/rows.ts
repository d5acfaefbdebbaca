import type {
  ApiKeyRecord,
  ConversationRecord,
  MemberRecord,
  MessageRecord,
  OrgRecord,
  StoredEvent,
  StoredEventType,
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
    tokensValidAfter: Number(r.tokens_valid_after),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

/** The columns `toConversation` reads, for `conversations c JOIN members m` (the same SQL in both dialects). */
export const CONVERSATION_COLUMNS = `c.id, c.org_id, c.member_id, m.external_user_id, c.type, c.title, c.created_at,
  c.last_message_at, c.last_seq, c.member_read_seq, c.concierge_read_seq, c.member_unread AS unread_count`;

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
  };
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
