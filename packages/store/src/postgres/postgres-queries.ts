import type { AppendedMessage, NewApiKey, SendEffect, WriteTx } from '../dialect.js';
import {
  toAgent,
  toAgentSession,
  CONVERSATION_COLUMNS,
  payloadText,
  toConversation,
  attributesText,
  toMember,
  type Row,
} from '../rows.js';
import {
  type Actor,
  type AgentRecord,
  type AgentSessionRecord,
  type ConversationStatus,
  type NoteRecord,
  IDEMPOTENCY_TTL_MS,
  type ConversationRecord,
  type IdempotencyScope,
  type MemberRecord,
  type MessageRecord,
  type OrgRecord,
  type ReadMark,
  type ResumePoint,
  type StoredEvent,
  type StoredResponse,
} from '../store.js';
import { MEMBER_COLUMNS } from './postgres-reads.js';
import { PostgresWebhookTx } from './postgres-webhooks.js';
import { unmatchable } from './unmatchable.js';
import { query } from './prepared.js';

/** Transaction-level advisory lock key for the first-start org ("orgs" in ASCII). */
const FIRST_ORG_LOCK = 0x6f726773;

/**
 * The PostgreSQL dialect's steps of the write rules, on the batch's connection inside its transaction. Every
 * statement is a named prepared statement (prepared.ts), planned once per connection.
 */
export class PostgresTx extends PostgresWebhookTx implements WriteTx {
  private async rows(sql: string, params: unknown[]): Promise<Row[]> {
    return (await query(this.c, sql, params)).rows;
  }

  private async count(sql: string, params: unknown[]): Promise<number> {
    return (await query(this.c, sql, params)).rowCount ?? 0;
  }

  async anyOrg(): Promise<boolean> {
    return (await this.rows('SELECT 1 FROM orgs LIMIT 1', [])).length > 0;
  }

  async lockFirstOrg(): Promise<void> {
    // Instances starting together on an empty database queue here; the first creates the org, the rest see it.
    await query(this.c, 'SELECT pg_advisory_xact_lock($1)', [FIRST_ORG_LOCK]);
  }

  async insertOrg(org: OrgRecord): Promise<void> {
    await query(this.c, 'INSERT INTO orgs (id, name, signing_secret, created_at) VALUES ($1, $2, $3, $4)', [
      org.id,
      org.name,
      Buffer.from(org.signingSecret),
      org.createdAt,
    ]);
  }

  async orgExists(orgID: string): Promise<boolean> {
    if (unmatchable([orgID])) return false;
    return (await this.rows('SELECT 1 FROM orgs WHERE id = $1', [orgID])).length > 0;
  }

  async insertApiKey(orgID: string, key: NewApiKey, createdAt: string): Promise<void> {
    await query(this.c, 'INSERT INTO api_keys (id, org_id, hash, hint, created_at) VALUES ($1, $2, $3, $4, $5)', [
      key.id,
      orgID,
      key.hash,
      key.hint,
      createdAt,
    ]);
  }

  async revokeApiKey(orgID: string, keyID: string, at: string): Promise<boolean> {
    if (unmatchable([orgID, keyID])) return false;
    const sql = 'UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL';
    return (await this.count(sql, [at, orgID, keyID])) > 0;
  }

  async findMember(orgID: string, externalUserID: string): Promise<MemberRecord | null> {
    if (unmatchable([orgID, externalUserID])) return null;
    const sql = `SELECT ${MEMBER_COLUMNS} FROM members WHERE org_id = $1 AND external_user_id = $2`;
    const r = (await this.rows(sql, [orgID, externalUserID]))[0];
    return r === undefined ? null : toMember(r);
  }

  async insertMember(m: MemberRecord): Promise<number> {
    const r = await this.rows(
      `INSERT INTO members (id, org_id, external_user_id, display_name, email, tier, attributes, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING list_seq`,
      [m.id, m.orgID, m.externalUserID, m.displayName, m.email, m.tier, attributesText(m), m.createdAt, m.updatedAt],
    );
    return Number(r[0]?.list_seq);
  }

  async updateMemberProfile(m: MemberRecord): Promise<void> {
    await query(
      this.c,
      `UPDATE members SET display_name = $1, email = $2, tier = $3, attributes = $4, archived_at = $5,
         tokens_valid_after = $6, updated_at = $7 WHERE id = $8`,
      [m.displayName, m.email, m.tier, attributesText(m), m.archivedAt, m.tokensValidAfter, m.updatedAt, m.id],
    );
  }

  async updateOrgDefaultTier(orgID: string, tier: string): Promise<boolean> {
    if (unmatchable([orgID])) return false;
    return (await this.count('UPDATE orgs SET default_tier = $1 WHERE id = $2', [tier, orgID])) > 0;
  }

  async revokeMemberTokens(orgID: string, ext: string, at: number, updatedAt: string): Promise<MemberRecord | null> {
    if (unmatchable([orgID, ext])) return null;
    const r = await this.rows(
      `UPDATE members SET tokens_valid_after = GREATEST(tokens_valid_after, $1), updated_at = $2
       WHERE org_id = $3 AND external_user_id = $4 RETURNING ${MEMBER_COLUMNS}`,
      [at, updatedAt, orgID, ext],
    );
    return r[0] === undefined ? null : toMember(r[0]);
  }

  async deleteMemberMessages(memberID: string): Promise<void> {
    // Notes go with the messages (the search vectors live on the rows themselves).
    await query(
      this.c,
      'DELETE FROM notes WHERE conversation_id IN (SELECT id FROM conversations WHERE member_id = $1)',
      [memberID],
    );
    const sql = 'DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE member_id = $1)';
    await query(this.c, sql, [memberID]);
  }

  async deleteMemberEvents(memberID: string): Promise<void> {
    await query(this.c, 'DELETE FROM events WHERE member_id = $1', [memberID]);
  }

  async deleteMemberConversations(memberID: string): Promise<void> {
    await query(this.c, 'DELETE FROM conversations WHERE member_id = $1', [memberID]);
  }

  async deleteMember(memberID: string): Promise<void> {
    await query(this.c, 'DELETE FROM members WHERE id = $1', [memberID]);
  }

  async nextSeq(orgID: string): Promise<number | null> {
    const sql = 'UPDATE orgs SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq';
    const r = (await this.rows(sql, [orgID]))[0];
    return r === undefined ? null : Number(r.event_seq);
  }

  async claimSeqForMember(orgID: string, memberID: string): Promise<{ seq: number; externalUserID: string } | null> {
    if (unmatchable([orgID, memberID])) return null;
    // The counter moves only when the member is there (the CTE's UPDATE is conditional on it).
    const r = (
      await this.rows(
        `WITH m AS (SELECT external_user_id FROM members WHERE id = $1 AND org_id = $2),
              s AS (UPDATE orgs SET event_seq = event_seq + 1 WHERE id = $2 AND EXISTS (SELECT 1 FROM m)
                    RETURNING event_seq)
         SELECT s.event_seq, m.external_user_id FROM s, m`,
        [memberID, orgID],
      )
    )[0];
    return r === undefined ? null : { seq: Number(r.event_seq), externalUserID: r.external_user_id as string };
  }

  async appendEvent(e: StoredEvent): Promise<void> {
    await query(
      this.c,
      'INSERT INTO events (org_id, seq, type, member_id, conversation_id, payload) VALUES ($1, $2, $3, $4, $5, $6)',
      [e.orgID, e.seq, e.type, e.memberID, e.conversationID, payloadText(e)],
    );
  }

  async insertConversation(c: ConversationRecord): Promise<void> {
    await query(
      this.c,
      `INSERT INTO conversations (id, org_id, member_id, type, title, created_at, last_seq, created_seq,
         state_updated_at, state_by_kind, state_by_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10)`,
      [
        c.id,
        c.orgID,
        c.memberID,
        c.type,
        c.title,
        c.createdAt,
        c.lastSeq,
        c.stateUpdatedAt,
        c.stateUpdatedBy.kind,
        c.stateUpdatedBy.id,
      ],
    );
  }

  async appendMessage(m: Omit<MessageRecord, 'seq'>, effect: SendEffect): Promise<AppendedMessage | null> {
    if (unmatchable([m.orgID, m.conversationID])) return null;
    // The hot path in one round trip: take the seq, insert the message and its event, touch the conversation.
    // Every part hangs off `s`, whose UPDATE only happens when the conversation exists in this org.
    const r = (
      await this.rows(
        `WITH h AS (SELECT member_id, status, awaiting FROM conversations WHERE id = $1::text AND org_id = $2::text),
              s AS (UPDATE orgs SET event_seq = event_seq + 1 WHERE id = $2::text AND EXISTS (SELECT 1 FROM h)
                    RETURNING event_seq),
              m AS (INSERT INTO messages (conversation_id, seq, id, org_id, type, author_id, body, via, created_at)
                    SELECT $1::text, s.event_seq, $3::text, $2::text, $4::text, $5::text, $6::text, $7::text,
                           $8::timestamptz FROM s),
              t AS (UPDATE conversations SET last_message_at = $8::timestamptz, last_seq = s.event_seq,
                           member_unread = member_unread + $9::int, awaiting = $10::boolean,
                           status = CASE WHEN $11::boolean THEN 'open' ELSE status END
                    FROM s WHERE conversations.id = $1::text),
              e AS (INSERT INTO events (org_id, seq, type, member_id, conversation_id, payload)
                    SELECT $2::text, s.event_seq, 'message', h.member_id, $1::text, NULL FROM s, h)
         SELECT s.event_seq, h.member_id, h.status, h.awaiting,
                EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.org_id = $2::text AND w.disabled_at IS NULL)
                  AS webhooks
         FROM s, h`,
        [
          m.conversationID,
          m.orgID,
          m.id,
          m.type,
          m.authorID,
          m.body,
          m.via,
          m.createdAt,
          effect.unread,
          effect.awaitingReply,
          effect.reopen,
        ],
      )
    )[0];
    return r === undefined
      ? null
      : {
          seq: Number(r.event_seq),
          memberID: r.member_id as string,
          webhooks: r.webhooks === true,
          before: { status: r.status === 'closed' ? 'closed' : 'open', awaitingReply: r.awaiting === true },
        };
  }

  async messagePosition(conversationID: string, messageID: string): Promise<{ seq: number; orgID: string } | null> {
    if (unmatchable([conversationID, messageID])) return null;
    const sql = 'SELECT seq, org_id FROM messages WHERE conversation_id = $1 AND id = $2';
    const r = (await this.rows(sql, [conversationID, messageID]))[0];
    return r === undefined ? null : { seq: Number(r.seq), orgID: r.org_id as string };
  }

  async moveReadMark(reader: ReadMark['reader'], conversationID: string, seq: number): Promise<boolean> {
    const sql =
      reader === 'member'
        ? `UPDATE conversations SET member_read_seq = $1, member_unread = (
             SELECT count(*) FROM messages x WHERE x.conversation_id = $2 AND x.seq > $1 AND x.type <> 'member')
           WHERE id = $2 AND member_read_seq < $1`
        : 'UPDATE conversations SET concierge_read_seq = $1 WHERE id = $2 AND concierge_read_seq < $1';
    return (await this.count(sql, [seq, conversationID])) > 0;
  }

  async conversation(orgID: string, conversationID: string): Promise<ConversationRecord | null> {
    const r = (
      await this.rows(
        `SELECT ${CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.id = c.member_id
         WHERE c.org_id = $1 AND c.id = $2`,
        [orgID, conversationID],
      )
    )[0];
    return r === undefined ? null : toConversation(r);
  }

  async recordIdempotency(
    scope: IdempotencyScope,
    fingerprint: string,
    response: StoredResponse,
    now: number,
  ): Promise<boolean> {
    const inserted = await this.count(
      `INSERT INTO idempotency_keys (org_id, principal, key, fingerprint, status, body, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (org_id, principal, key) DO UPDATE
         SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, body = EXCLUDED.body,
             created_at = EXCLUDED.created_at
         WHERE idempotency_keys.created_at < $8`,
      [
        scope.orgID,
        scope.principal,
        scope.key,
        fingerprint,
        response.status,
        response.body,
        now,
        now - IDEMPOTENCY_TTL_MS,
      ],
    );
    return inserted > 0;
  }

  purgeIdempotency(before: number): Promise<number> {
    return this.count('DELETE FROM idempotency_keys WHERE created_at < $1', [before]);
  }

  async spendTicket(nonce: string, expiresAt: number): Promise<boolean> {
    if (unmatchable([nonce])) return false;
    const sql = 'INSERT INTO spent_tickets (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING';
    return (await this.count(sql, [nonce, expiresAt])) > 0;
  }

  purgeSpentTickets(now: number): Promise<number> {
    return this.count('DELETE FROM spent_tickets WHERE expires_at < $1', [now]);
  }

  async insertResumePoint(p: ResumePoint): Promise<void> {
    await query(this.c, 'INSERT INTO stream_resume_points (holder, stream, seq, expires_at) VALUES ($1, $2, $3, $4)', [
      p.holder,
      p.stream,
      p.seq,
      p.expiresAt,
    ]);
  }

  async resumePointRows(holder: string, stream: string, now: number): Promise<Array<{ n: number; seq: number }>> {
    if (unmatchable([holder, stream])) return [];
    const sql = `SELECT n, seq FROM stream_resume_points WHERE holder = $1 AND stream = $2 AND expires_at > $3
       ORDER BY seq, n`;
    return (await this.rows(sql, [holder, stream, now])).map((r) => ({ n: Number(r.n), seq: Number(r.seq) }));
  }

  async deleteResumePoint(n: number): Promise<boolean> {
    // Under READ COMMITTED a delete that waited for another instance's delete of the row finds it gone: 0 rows.
    return (await this.count('DELETE FROM stream_resume_points WHERE n = $1', [n])) > 0;
  }

  purgeResumePoints(now: number): Promise<number> {
    return this.count('DELETE FROM stream_resume_points WHERE expires_at < $1', [now]);
  }

  async writeProbe(bytes: Buffer): Promise<void> {
    await query(
      this.c,
      `INSERT INTO meta (key, value) VALUES ('write_probe', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [bytes],
    );
  }

  async insertAgent(a: AgentRecord): Promise<boolean> {
    const sql = `INSERT INTO agents (id, org_id, email, name, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (org_id, email) DO NOTHING`;
    return (await this.count(sql, [a.id, a.orgID, a.email, a.name, a.role, a.createdAt])) > 0;
  }

  async findAgent(orgID: string | null, agentID: string): Promise<AgentRecord | null> {
    if (unmatchable([orgID, agentID])) return null;
    const sql = 'SELECT * FROM agents WHERE id = $1 AND ($2::text IS NULL OR org_id = $2)';
    const r = (await this.rows(sql, [agentID, orgID]))[0];
    return r === undefined ? null : toAgent(r);
  }

  async updateAgent(a: AgentRecord): Promise<void> {
    await query(this.c, 'UPDATE agents SET name = $1, role = $2, disabled_at = $3 WHERE id = $4', [
      a.name,
      a.role,
      a.disabledAt,
      a.id,
    ]);
  }

  async insertSignInLink(hash: string, agentID: string, expiresAt: number): Promise<void> {
    await query(this.c, 'INSERT INTO agent_links (token_hash, agent_id, expires_at) VALUES ($1, $2, $3)', [
      hash,
      agentID,
      expiresAt,
    ]);
  }

  async spendSignInLink(hash: string, now: number, at: string): Promise<string | null> {
    const sql = `UPDATE agent_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3
       RETURNING agent_id`;
    const r = (await this.rows(sql, [at, hash, now]))[0];
    return r === undefined ? null : (r.agent_id as string);
  }

  async setAgentPassword(agentID: string, passwordHash: string): Promise<void> {
    await query(this.c, 'UPDATE agents SET password_hash = $1 WHERE id = $2', [passwordHash, agentID]);
  }

  async ensureAgentPerson(email: string, passwordKdf: string): Promise<string> {
    // The no-op update makes RETURNING answer the row in force when one was there already (a concurrent insert
    // waits for the other transaction, then returns its row).
    const sql = `INSERT INTO agent_people (email, password_kdf) VALUES ($1, $2)
       ON CONFLICT (email) DO UPDATE SET password_kdf = agent_people.password_kdf RETURNING password_kdf`;
    return (await this.rows(sql, [email, passwordKdf]))[0]!.password_kdf as string;
  }

  async insertAgentSession(x: AgentSessionRecord): Promise<void> {
    await query(
      this.c,
      `INSERT INTO agent_sessions (id, agent_id, org_id, refresh_hash, previous_hash, created_at, last_used_at,
         expires_at, user_agent) VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8)`,
      [x.id, x.agentID, x.orgID, x.refreshHash, x.createdAt, x.lastUsedAt, x.expiresAt, x.userAgent],
    );
  }

  async agentSession(sessionID: string): Promise<AgentSessionRecord | null> {
    if (unmatchable([sessionID])) return null;
    const r = (await this.rows('SELECT * FROM agent_sessions WHERE id = $1', [sessionID]))[0];
    return r === undefined ? null : toAgentSession(r);
  }

  async rotateAgentSession(
    sessionID: string,
    refreshHash: string,
    previousHash: string,
    at: string,
    expiresAt: string,
  ): Promise<void> {
    await query(
      this.c,
      'UPDATE agent_sessions SET refresh_hash = $1, previous_hash = $2, last_used_at = $3, expires_at = $4 WHERE id = $5',
      [refreshHash, previousHash, at, expiresAt, sessionID],
    );
  }

  revokeAgentSessions(agentID: string, sessionID: string | null, at: string): Promise<number> {
    return this.count(
      `UPDATE agent_sessions SET revoked_at = $1
       WHERE agent_id = $2 AND ($3::text IS NULL OR id = $3) AND revoked_at IS NULL`,
      [at, agentID, sessionID],
    );
  }

  async setConversationState(
    conversationID: string,
    st: { status: ConversationStatus; assigneeID: string | null; updatedAt: string; updatedBy: Actor },
  ): Promise<void> {
    await query(
      this.c,
      `UPDATE conversations SET status = $1, assignee_id = $2, state_updated_at = $3, state_by_kind = $4,
         state_by_id = $5 WHERE id = $6`,
      [st.status, st.assigneeID, st.updatedAt, st.updatedBy.kind, st.updatedBy.id, conversationID],
    );
  }

  async insertNote(n: NoteRecord): Promise<void> {
    await query(
      this.c,
      'INSERT INTO notes (id, org_id, conversation_id, seq, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [n.id, n.orgID, n.conversationID, n.seq, n.authorID, n.body, n.createdAt],
    );
  }
}
