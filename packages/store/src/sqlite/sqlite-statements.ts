import type Database from 'better-sqlite3';
import { CONVERSATION_COLUMNS, EVENT_COLUMNS, EVENT_JOIN, INBOX_COLUMNS, SESSION_AGENT_COLUMNS } from '../rows.js';
import { IDEMPOTENCY_TTL_MS, TEAM_ONLY_EVENTS } from '../store.js';
import { sqliteError } from './sqlite-errors.js';
import { PAGE_COLUMNS } from './sqlite-rows.js';

export type Statement = Database.Statement;

/**
 * Prepares a statement whose storage failures (a full disk, an I/O error, …) surface as `StorageUnavailable`, so
 * every read and write of the adapter reports them the same way.
 */
export function guard(stmt: Statement): Statement {
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
 * Every statement of the SQLite dialect but the webhooks' (sqlite-webhooks.ts) and the inbox's (made per filter),
 * prepared once per connection: `prepare` for rows as objects, `prepareRaw` for rows as arrays (pages of messages).
 */
export function sqliteStatements<S>(prepare: (sql: string) => S, prepareRaw: (sql: string) => S) {
  return {
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
    // One writer: the next list_seq is read and used in the same statement, nothing can take it meanwhile.
    insertMember: prepare(
      `INSERT INTO members (id, org_id, external_user_id, display_name, email, tier, attributes, created_at,
         updated_at, list_seq)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, coalesce((SELECT max(list_seq) FROM members), 0) + 1)`,
    ),
    memberListSeq: prepare('SELECT list_seq FROM members WHERE id = ?'),
    updateMember: prepare(
      `UPDATE members SET display_name = ?, email = ?, tier = ?, attributes = ?, archived_at = ?,
         tokens_valid_after = ?, updated_at = ? WHERE id = ?`,
    ),
    membersLatest: prepare(
      'SELECT * FROM members WHERE org_id = ? AND archived_at IS NULL ORDER BY list_seq DESC LIMIT ?',
    ),
    membersBefore: prepare(
      `SELECT * FROM members WHERE org_id = ? AND archived_at IS NULL AND list_seq < ?
       ORDER BY list_seq DESC LIMIT ?`,
    ),
    setDefaultTier: prepare('UPDATE orgs SET default_tier = ? WHERE id = ?'),
    revokeMember: prepare(
      `UPDATE members SET tokens_valid_after = max(tokens_valid_after, ?), updated_at = ?
       WHERE org_id = ? AND external_user_id = ? RETURNING *`,
    ),
    deleteMemberMessages: prepare(
      'DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE member_id = ?)',
    ),
    deleteMemberSearch: prepare(
      `DELETE FROM message_search WHERE rowid IN (SELECT row FROM message_search_rows
         WHERE conversation_id IN (SELECT id FROM conversations WHERE member_id = ?))`,
    ),
    deleteMemberSearchRows: prepare(
      'DELETE FROM message_search_rows WHERE conversation_id IN (SELECT id FROM conversations WHERE member_id = ?)',
    ),
    deleteMemberNotes: prepare(
      'DELETE FROM notes WHERE conversation_id IN (SELECT id FROM conversations WHERE member_id = ?)',
    ),
    // Rowids count up, and searches walk them newest first (ORDER BY rowid DESC, which FTS5 serves by reading
    // its lists backwards), so a search that wants the newest matches stops early instead of reading a common
    // word's whole list. They once counted down (migration 7 turned them round): FTS5 appends a row to its
    // in-memory pending lists only if its rowid is above the last one's, so each lower rowid flushed those lists
    // to a new segment on disk, and every send paid for a segment and its merges.
    insertMessageSearch: prepare(
      `INSERT INTO message_search (rowid, body, conversation_id, org_id)
       VALUES (coalesce((SELECT rowid FROM message_search ORDER BY rowid DESC LIMIT 1), 0) + 1, ?, ?, ?)`,
    ),
    countMatches: prepare(
      'SELECT count(*) AS n FROM (SELECT 1 FROM message_search WHERE message_search MATCH ? LIMIT ?)',
    ),
    insertMessageSearchRow: prepare('INSERT INTO message_search_rows (conversation_id, row) VALUES (?, ?)'),
    deleteMemberNames: prepare(
      'DELETE FROM member_search WHERE rowid IN (SELECT row FROM member_search_rows WHERE member_id = ?)',
    ),
    deleteMemberNamesRow: prepare('DELETE FROM member_search_rows WHERE member_id = ?'),
    insertMemberNames: prepare('INSERT INTO member_search (names, member_id, org_id) VALUES (?, ?, ?)'),
    insertMemberNamesRow: prepare('INSERT INTO member_search_rows (member_id, row) VALUES (?, ?)'),
    insertAgent: prepare(
      `INSERT INTO agents (id, org_id, email, name, role, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (org_id, email) DO NOTHING`,
    ),
    findAgent: prepare('SELECT * FROM agents WHERE id = ? AND (? IS NULL OR org_id = ?)'),
    updateAgent: prepare('UPDATE agents SET name = ?, role = ?, disabled_at = ? WHERE id = ?'),
    listAgents: prepare('SELECT * FROM agents WHERE org_id = ? ORDER BY created_at, id'),
    agentsByEmail: prepare('SELECT * FROM agents WHERE email = ? AND (? IS NULL OR org_id = ?) ORDER BY created_at'),
    insertLink: prepare('INSERT INTO agent_links (token_hash, agent_id, expires_at) VALUES (?, ?, ?)'),
    spendLink: prepare(
      `UPDATE agent_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
       RETURNING agent_id`,
    ),
    setPassword: prepare('UPDATE agents SET password_hash = ? WHERE id = ?'),
    // The no-op update makes RETURNING answer the row in force when one was there already.
    ensurePerson: prepare(
      `INSERT INTO agent_people (email, password_kdf) VALUES (?, ?)
       ON CONFLICT (email) DO UPDATE SET password_kdf = agent_people.password_kdf RETURNING password_kdf`,
    ),
    person: prepare(
      `SELECT a.*, o.name AS org_name, p.password_kdf FROM agents a JOIN orgs o ON o.id = a.org_id
       LEFT JOIN agent_people p ON p.email = a.email WHERE a.email = ? ORDER BY a.created_at, a.id`,
    ),
    linkPerson: prepare(
      `SELECT a.email, p.password_kdf FROM agent_links l JOIN agents a ON a.id = l.agent_id
       LEFT JOIN agent_people p ON p.email = a.email
       WHERE l.token_hash = ? AND l.used_at IS NULL AND l.expires_at > ? AND a.disabled_at IS NULL`,
    ),
    insertSession: prepare(
      `INSERT INTO agent_sessions (id, agent_id, org_id, refresh_hash, previous_hash, created_at, last_used_at,
         expires_at, user_agent) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?)`,
    ),
    getSession: prepare('SELECT * FROM agent_sessions WHERE id = ?'),
    rotateSession: prepare(
      'UPDATE agent_sessions SET refresh_hash = ?, previous_hash = ?, last_used_at = ?, expires_at = ? WHERE id = ?',
    ),
    revokeSessions: prepare(
      `UPDATE agent_sessions SET revoked_at = ? WHERE agent_id = ? AND (? IS NULL OR id = ?) AND revoked_at IS NULL`,
    ),
    sessionMark: prepare(
      `SELECT ${SESSION_AGENT_COLUMNS} FROM agent_sessions s JOIN agents a ON a.id = s.agent_id WHERE s.id = ?`,
    ),
    listSessions: prepare(
      'SELECT * FROM agent_sessions WHERE agent_id = ? AND revoked_at IS NULL ORDER BY created_at DESC, id',
    ),
    setState: prepare(
      `UPDATE conversations SET status = ?, assignee_id = ?, state_updated_at = ?, state_by_kind = ?, state_by_id = ?
       WHERE id = ?`,
    ),
    insertNote: prepare(
      'INSERT INTO notes (id, org_id, conversation_id, seq, author_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    inboxItem: prepare(
      `SELECT ${INBOX_COLUMNS} FROM (SELECT c.*, c.last_seq AS pos FROM conversations c
         WHERE c.org_id = ? AND c.id = ?) c
       JOIN members m ON m.id = c.member_id
       LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq`,
    ),
    notesLatest: prepare('SELECT * FROM notes WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?'),
    notesBefore: prepare('SELECT * FROM notes WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
    counts: prepare(
      `SELECT
         count(*) FILTER (WHERE status = 'open' AND assignee_id IS NULL) AS unassigned,
         count(*) FILTER (WHERE status = 'open' AND assignee_id = @agent) AS mine,
         count(*) FILTER (WHERE status = 'open') AS open,
         count(*) FILTER (WHERE status = 'open' AND awaiting = 1) AS awaiting,
         count(*) FILTER (WHERE status = 'closed') AS closed
       FROM conversations WHERE org_id = @org`,
    ),
    // CAST: better-sqlite3 binds a JS number as REAL, and FTS5 silently drops a rowid constraint that is not an
    // INTEGER, answering with its first match in any conversation of any org instead of this row.
    messageSnippet: prepare(
      `SELECT snippet(message_search, 0, '[', ']', '…', 16) AS snippet FROM message_search
       WHERE message_search MATCH ? AND rowid = CAST(? AS INTEGER)`,
    ),
    messageSearchText: prepare('SELECT body FROM message_search WHERE rowid = CAST(? AS INTEGER)'),
    memberSnippet: prepare(
      `SELECT highlight(member_search, 0, '[', ']') AS snippet FROM member_search
       WHERE member_search MATCH ? AND rowid = CAST(? AS INTEGER)`,
    ),
    deleteMemberEvents: prepare('DELETE FROM events WHERE member_id = ?'),
    deleteMemberConversations: prepare('DELETE FROM conversations WHERE member_id = ?'),
    deleteMember: prepare('DELETE FROM members WHERE id = ?'),
    // Two statements, not one with RETURNING: SQLite opens a statement journal for an UPDATE … RETURNING, and
    // opening one makes FTS5 flush its pending rows (xSavepoint), so every send wrote its own index segment.
    bumpSeq: prepare('UPDATE orgs SET event_seq = event_seq + 1 WHERE id = ?'),
    insertEvent: prepare(
      'INSERT INTO events (org_id, seq, type, member_id, conversation_id, payload) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    insertConversation: prepare(
      `INSERT INTO conversations (id, org_id, member_id, type, title, created_at, last_seq, created_seq,
         state_updated_at, state_by_kind, state_by_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getConversation: prepare(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.id = c.member_id
       WHERE c.org_id = ? AND c.id = ?`,
    ),
    listConversations: prepare(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.id = c.member_id
       WHERE c.member_id = ? AND c.org_id = ? ORDER BY c.last_seq DESC`,
    ),
    conversationHead: prepare('SELECT member_id, status, awaiting FROM conversations WHERE id = ? AND org_id = ?'),
    // The send's effect as its rule decided it (rules/send-effect.ts).
    touchConversation: prepare(
      `UPDATE conversations SET last_message_at = ?, last_seq = ?, member_unread = member_unread + ?,
         awaiting = ?, status = CASE WHEN ? THEN 'open' ELSE status END
       WHERE id = ?`,
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
    // A member's own stream never carries the team's events (state changes, notes).
    eventsAfterMember: prepare(
      `SELECT ${EVENT_COLUMNS} FROM ${EVENT_JOIN}
       WHERE e.member_id = ? AND e.org_id = ? AND e.seq > ?
         AND e.type NOT IN (${TEAM_ONLY_EVENTS.map((t) => `'${t}'`).join(', ')}) ORDER BY e.seq LIMIT ?`,
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
    insertResumePoint: prepare(
      'INSERT INTO stream_resume_points (holder, stream, seq, expires_at) VALUES (?, ?, ?, ?)',
    ),
    resumePoints: prepare(
      `SELECT n, seq FROM stream_resume_points WHERE holder = ? AND stream = ? AND expires_at > ?
       ORDER BY seq, n`,
    ),
    deleteResumePoint: prepare('DELETE FROM stream_resume_points WHERE n = ?'),
    purgeResumePoints: prepare('DELETE FROM stream_resume_points WHERE expires_at < ?'),
    probe: prepare(
      `INSERT INTO meta (key, value) VALUES ('write_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    ),
  };
}
