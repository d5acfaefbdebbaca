import type Database from 'better-sqlite3';
import type { NewApiKey, ReadQueries, WriteTx } from '../dialect.js';
import {
  CONVERSATION_COLUMNS,
  EVENT_COLUMNS,
  EVENT_JOIN,
  payloadText,
  toApiKey,
  toConversation,
  toEvent,
  toMember,
  toMessage,
  toOrg,
  type Row,
} from '../rows.js';
import {
  IDEMPOTENCY_TTL_MS,
  type ConversationRecord,
  type IdempotencyScope,
  type MemberRecord,
  type MessageRecord,
  type OrgRecord,
  type ReadMark,
  type StoredEvent,
  type StoredResponse,
} from '../store.js';
import { sqliteError } from './sqlite-errors.js';
import { PAGE_COLUMNS, pageRow } from './sqlite-rows.js';

type Statement = Database.Statement;

/**
 * Prepares a statement whose storage failures (a full disk, an I/O error, …) surface as `StorageUnavailable`, so
 * every read and write of the adapter reports them the same way.
 */
function guard(stmt: Statement): Statement {
  for (const name of ['run', 'get', 'all'] as const) {
    const original = stmt[name].bind(stmt);
    (stmt as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      try {
        return original(...args);
      } catch (error) {
        throw sqliteError(error);
      }
    };
  }
  return stmt;
}

/**
 * The SQLite dialect's SQL: every statement prepared once, the reads of the port (`reads`) and the steps of the
 * write rules (`tx`, synchronous: a batch runs without yielding to the event loop). No rule is decided here.
 */
export class SqliteQueries {
  readonly reads: ReadQueries;
  readonly tx: WriteTx;

  constructor(db: Database.Database) {
    const prepare = (sql: string): Statement => guard(db.prepare(sql));
    const prepareRaw = (sql: string): Statement => guard(db.prepare(sql).raw(true));
    const s = {
      serverSecret: prepare(`SELECT value FROM meta WHERE key = 'server_secret'`),
      getOrg: prepare('SELECT * FROM orgs WHERE id = ?'),
      anyOrg: prepare('SELECT 1 FROM orgs LIMIT 1'),
      listOrgs: prepare('SELECT * FROM orgs ORDER BY created_at, id'),
      insertOrg: prepare('INSERT INTO orgs (id, name, signing_secret, created_at) VALUES (?, ?, ?, ?)'),
      insertKey: prepare('INSERT INTO api_keys (id, org_id, hash, hint, created_at) VALUES (?, ?, ?, ?, ?)'),
      listKeys: prepare('SELECT * FROM api_keys WHERE org_id = ? ORDER BY created_at, id'),
      revokeKey: prepare('UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL'),
      keyByHash: prepare('SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL'),
      getMember: prepare('SELECT * FROM members WHERE org_id = ? AND external_user_id = ?'),
      getMemberByID: prepare('SELECT * FROM members WHERE id = ?'),
      insertMember: prepare(
        `INSERT INTO members (id, org_id, external_user_id, display_name, email, tier, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateMember: prepare('UPDATE members SET display_name = ?, email = ?, tier = ?, updated_at = ? WHERE id = ?'),
      revokeMember: prepare(
        `UPDATE members SET tokens_valid_after = max(tokens_valid_after, ?), updated_at = ?
         WHERE org_id = ? AND external_user_id = ? RETURNING *`,
      ),
      deleteMemberMessages: prepare(
        'DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE member_id = ?)',
      ),
      deleteMemberEvents: prepare('DELETE FROM events WHERE member_id = ?'),
      deleteMemberConversations: prepare('DELETE FROM conversations WHERE member_id = ?'),
      deleteMember: prepare('DELETE FROM members WHERE id = ?'),
      nextSeq: prepare('UPDATE orgs SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq'),
      insertEvent: prepare(
        'INSERT INTO events (org_id, seq, type, member_id, conversation_id, payload) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      insertConversation: prepare(
        `INSERT INTO conversations (id, org_id, member_id, type, title, created_at, last_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      getConversation: prepare(
        `SELECT ${CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.id = c.member_id
         WHERE c.org_id = ? AND c.id = ?`,
      ),
      listConversations: prepare(
        `SELECT ${CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.id = c.member_id
         WHERE c.member_id = ? AND c.org_id = ? ORDER BY c.last_seq DESC`,
      ),
      conversationHead: prepare('SELECT member_id FROM conversations WHERE id = ? AND org_id = ?'),
      touchConversation: prepare(
        `UPDATE conversations SET last_message_at = ?, last_seq = ?, member_unread = member_unread + ? WHERE id = ?`,
      ),
      insertMessage: prepare(
        `INSERT INTO messages (conversation_id, seq, id, org_id, type, author_id, body, via, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getMessage: prepare('SELECT * FROM messages WHERE conversation_id = ? AND id = ?'),
      messagesBefore: prepareRaw(
        `SELECT ${PAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
      ),
      messagesLatest: prepareRaw(
        `SELECT ${PAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?`,
      ),
      messagesAfter: prepareRaw(
        `SELECT ${PAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
      ),
      latestMessageSeq: prepare('SELECT max(seq) AS seq FROM messages WHERE conversation_id = ?'),
      setMemberRead: prepare(
        `UPDATE conversations SET member_read_seq = @seq,
           member_unread = (SELECT count(*) FROM messages x WHERE x.conversation_id = @id AND x.seq > @seq AND x.type <> 'member')
         WHERE id = @id AND member_read_seq < @seq`,
      ),
      setConciergeRead: prepare(
        'UPDATE conversations SET concierge_read_seq = @seq WHERE id = @id AND concierge_read_seq < @seq',
      ),
      eventsAfterOrg: prepare(
        `SELECT ${EVENT_COLUMNS} FROM ${EVENT_JOIN} WHERE e.org_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`,
      ),
      eventsAfterMember: prepare(
        `SELECT ${EVENT_COLUMNS} FROM ${EVENT_JOIN}
         WHERE e.member_id = ? AND e.org_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`,
      ),
      latestEventSeq: prepare('SELECT event_seq FROM orgs WHERE id = ?'),
      insertIdem: prepare(
        `INSERT INTO idempotency_keys (org_id, principal, key, fingerprint, status, body, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (org_id, principal, key) DO UPDATE SET
           fingerprint = excluded.fingerprint, status = excluded.status, body = excluded.body,
           created_at = excluded.created_at
         WHERE idempotency_keys.created_at < excluded.created_at - ${IDEMPOTENCY_TTL_MS}`,
      ),
      getIdem: prepare(
        'SELECT fingerprint, status, body, created_at FROM idempotency_keys WHERE org_id = ? AND principal = ? AND key = ?',
      ),
      purgeIdem: prepare('DELETE FROM idempotency_keys WHERE created_at < ?'),
      spendTicket: prepare('INSERT INTO spent_tickets (nonce, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      purgeTickets: prepare('DELETE FROM spent_tickets WHERE expires_at < ?'),
      probe: prepare(
        `INSERT INTO meta (key, value) VALUES ('write_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      ),
    };
    const one = (stmt: Statement, ...args: unknown[]): Row | null => (stmt.get(...args) as Row | undefined) ?? null;
    const all = (stmt: Statement, ...args: unknown[]): Row[] => stmt.all(...args) as Row[];
    const map = <T>(row: Row | null, f: (r: Row) => T): T | null => (row === null ? null : f(row));

    this.reads = {
      serverSecret: async () => map(one(s.serverSecret), (r) => new Uint8Array(r.value as Buffer)),
      getOrg: async (orgID) => map(one(s.getOrg, orgID), toOrg),
      listOrgs: async () => all(s.listOrgs).map(toOrg),
      listApiKeys: async (orgID) => all(s.listKeys, orgID).map(toApiKey),
      findApiKeyByHash: async (hash) => map(one(s.keyByHash, hash), toApiKey),
      getMember: async (orgID, ext) => map(one(s.getMember, orgID, ext), toMember),
      getMemberByID: async (memberID) => map(one(s.getMemberByID, memberID), toMember),
      getConversation: async (orgID, id) => map(one(s.getConversation, orgID, id), toConversation),
      listConversations: async (orgID, memberID) => all(s.listConversations, memberID, orgID).map(toConversation),
      getMessage: async (conversationID, id) => map(one(s.getMessage, conversationID, id), toMessage),
      listMessagesBefore: async (conversationID, beforeSeq, limit) =>
        (
          (beforeSeq === null
            ? s.messagesLatest.all(conversationID, limit)
            : s.messagesBefore.all(conversationID, beforeSeq, limit)) as unknown[][]
        ).map((r) => pageRow(conversationID, r)),
      listMessagesAfter: async (conversationID, afterSeq, limit) =>
        (s.messagesAfter.all(conversationID, afterSeq, limit) as unknown[][]).map((r) => pageRow(conversationID, r)),
      latestMessageSeq: async (conversationID) => Number(one(s.latestMessageSeq, conversationID)?.seq ?? 0),
      listEventsAfter: async (orgID, memberID, afterSeq, limit) =>
        (memberID === null
          ? all(s.eventsAfterOrg, orgID, afterSeq, limit)
          : all(s.eventsAfterMember, memberID, orgID, afterSeq, limit)
        ).map(toEvent),
      latestEventSeq: async (orgID) => Number(one(s.latestEventSeq, orgID)?.event_seq ?? 0),
      getIdempotency: async (scope: IdempotencyScope) =>
        map(one(s.getIdem, scope.orgID, scope.principal, scope.key), (r) => ({
          fingerprint: r.fingerprint as string,
          status: Number(r.status),
          body: r.body as string,
          createdAt: Number(r.created_at),
        })),
    };

    const nextSeq = (orgID: string): number | null => map(one(s.nextSeq, orgID), (r) => Number(r.event_seq));
    const insertEvent = (e: StoredEvent): void => {
      s.insertEvent.run(e.orgID, e.seq, e.type, e.memberID, e.conversationID, payloadText(e));
    };
    this.tx = {
      anyOrg: () => one(s.anyOrg) !== null,
      // One connection writes, and a batch runs whole before the next: nothing to wait for.
      lockFirstOrg: () => {},
      insertOrg: (org: OrgRecord) => {
        s.insertOrg.run(org.id, org.name, Buffer.from(org.signingSecret), org.createdAt);
      },
      orgExists: (orgID) => one(s.getOrg, orgID) !== null,
      insertApiKey: (orgID, key: NewApiKey, createdAt) => {
        s.insertKey.run(key.id, orgID, key.hash, key.hint, createdAt);
      },
      revokeApiKey: (orgID, keyID, at) => s.revokeKey.run(at, orgID, keyID).changes > 0,
      findMember: (orgID, ext) => map(one(s.getMember, orgID, ext), toMember),
      insertMember: (m: MemberRecord) => {
        s.insertMember.run(m.id, m.orgID, m.externalUserID, m.displayName, m.email, m.tier, m.createdAt, m.updatedAt);
      },
      updateMemberProfile: (m: MemberRecord) => {
        s.updateMember.run(m.displayName, m.email, m.tier, m.updatedAt, m.id);
      },
      revokeMemberTokens: (orgID, ext, at, updatedAt) => map(one(s.revokeMember, at, updatedAt, orgID, ext), toMember),
      deleteMemberMessages: (id) => void s.deleteMemberMessages.run(id),
      deleteMemberEvents: (id) => void s.deleteMemberEvents.run(id),
      deleteMemberConversations: (id) => void s.deleteMemberConversations.run(id),
      deleteMember: (id) => void s.deleteMember.run(id),
      nextSeq,
      claimSeqForMember: (orgID, memberID) => {
        const member = one(s.getMemberByID, memberID);
        if (member === null || member.org_id !== orgID) return null;
        const seq = nextSeq(orgID);
        return seq === null ? null : { seq, externalUserID: member.external_user_id as string };
      },
      appendEvent: insertEvent,
      insertConversation: (c: ConversationRecord) => {
        s.insertConversation.run(c.id, c.orgID, c.memberID, c.type, c.title, c.createdAt, c.lastSeq);
      },
      appendMessage: (m: Omit<MessageRecord, 'seq'>, unread) => {
        const head = one(s.conversationHead, m.conversationID, m.orgID);
        if (head === null) return null;
        const seq = nextSeq(m.orgID);
        if (seq === null) return null;
        s.insertMessage.run(m.conversationID, seq, m.id, m.orgID, m.type, m.authorID, m.body, m.via, m.createdAt);
        s.touchConversation.run(m.createdAt, seq, unread, m.conversationID);
        const memberID = head.member_id as string;
        insertEvent({
          orgID: m.orgID,
          seq,
          type: 'message',
          memberID,
          conversationID: m.conversationID,
          message: null,
          payload: null,
        });
        return { seq, memberID };
      },
      messagePosition: (conversationID, messageID) =>
        map(one(s.getMessage, conversationID, messageID), (r) => ({ seq: Number(r.seq), orgID: r.org_id as string })),
      moveReadMark: (reader: ReadMark['reader'], conversationID, seq) =>
        (reader === 'member' ? s.setMemberRead : s.setConciergeRead).run({ seq, id: conversationID }).changes > 0,
      conversation: (orgID, id) => map(one(s.getConversation, orgID, id), toConversation),
      recordIdempotency: (scope: IdempotencyScope, fingerprint, response: StoredResponse, now) =>
        s.insertIdem.run(scope.orgID, scope.principal, scope.key, fingerprint, response.status, response.body, now)
          .changes > 0,
      purgeIdempotency: (before) => s.purgeIdem.run(before).changes,
      spendTicket: (nonce, expiresAt) => s.spendTicket.run(nonce, expiresAt).changes > 0,
      purgeSpentTickets: (now) => s.purgeTickets.run(now).changes,
      writeProbe: (bytes) => void s.probe.run(bytes),
    };
  }
}
