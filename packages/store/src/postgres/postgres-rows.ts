import { eventFromRow } from '../event-row.js';
import type {
  ApiKeyRecord,
  ConversationRecord,
  MemberRecord,
  MessageRecord,
  OrgRecord,
  StoredEvent,
} from '../store.js';

/**
 * Row → record mappers. node-postgres returns bigint columns (seqs, epoch ms, counts) as strings and timestamptz
 * as Date; records carry numbers and ISO-8601 strings, exactly as the SQLite adapter gives them.
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

export function toEvent(r: Row): StoredEvent {
  return eventFromRow(r, toMessage);
}
