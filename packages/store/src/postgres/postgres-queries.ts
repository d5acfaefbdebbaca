import type pg from 'pg';
import type { AppendedMessage, NewApiKey, ReadQueries, WriteTx } from '../dialect.js';
import {
  INBOX_COLUMNS,
  SESSION_AGENT_COLUMNS,
  toAgent,
  toAgentPerson,
  toAgentSession,
  toInboxRow,
  toNote,
  toSessionMark,
  CONVERSATION_COLUMNS,
  EVENT_COLUMNS,
  EVENT_JOIN,
  payloadText,
  toApiKey,
  toConversation,
  toEvent,
  attributesText,
  toMember,
  toMessage,
  toOrg,
  type Row,
} from '../rows.js';
import { SEARCH_WINDOW, tsQuery } from '../search-terms.js';
import {
  TEAM_ONLY_EVENTS,
  type Actor,
  type AgentRecord,
  type AgentSessionRecord,
  type ConversationStatus,
  type InboxFilter,
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
import { postgresError } from './postgres-errors.js';
import { PostgresWebhookTx, postgresWebhookReads } from './postgres-webhooks.js';
import { query } from './prepared.js';

const NUL = '\u0000';

/** Named, not `*`: the rows also hold a search vector that no read needs to carry over the wire. */
const MESSAGE_COLUMNS = 'conversation_id, seq, id, org_id, type, author_id, body, via, created_at';
const MEMBER_COLUMNS = `id, org_id, external_user_id, display_name, email, tier, attributes, tokens_valid_after,
  archived_at, list_seq, created_at, updated_at`;

/** A lookup by a value holding NUL cannot match a stored row (none can hold one), and would be a SQL error. */
export function unmatchable(params: readonly unknown[]): boolean {
  return params.some((p) => typeof p === 'string' && p.includes(NUL));
}

/** The PostgreSQL dialect's reads: one query each on the read pool, its failures classified. */
export function postgresReads(pool: pg.Pool): ReadQueries {
  const rows = async (sql: string, params: unknown[] = [], prepared = true): Promise<Row[]> => {
    if (unmatchable(params)) return [];
    try {
      return (prepared ? await query(pool, sql, params) : await pool.query<Row>(sql, params)).rows;
    } catch (error) {
      throw postgresError(error);
    }
  };
  const one = async (sql: string, params: unknown[] = []): Promise<Row | null> => (await rows(sql, params))[0] ?? null;
  const map = <T>(row: Row | null, f: (r: Row) => T): T | null => (row === null ? null : f(row));
  return {
    ...postgresWebhookReads(rows),
    serverSecret: async () =>
      map(await one(`SELECT value FROM meta WHERE key = 'server_secret'`), (r) => new Uint8Array(r.value as Buffer)),
    getOrg: async (orgID) => map(await one('SELECT * FROM orgs WHERE id = $1', [orgID]), toOrg),
    listOrgs: async () => (await rows('SELECT * FROM orgs ORDER BY created_at, id')).map(toOrg),
    listApiKeys: async (orgID) =>
      (await rows('SELECT * FROM api_keys WHERE org_id = $1 ORDER BY created_at, id', [orgID])).map(toApiKey),
    findApiKeyByHash: async (hash) =>
      map(await one('SELECT * FROM api_keys WHERE hash = $1 AND revoked_at IS NULL', [hash]), toApiKey),
    getMember: async (orgID, ext) =>
      map(
        await one(`SELECT ${MEMBER_COLUMNS} FROM members WHERE org_id = $1 AND external_user_id = $2`, [orgID, ext]),
        toMember,
      ),
    getMemberByID: async (memberID) =>
      map(await one(`SELECT ${MEMBER_COLUMNS} FROM members WHERE id = $1`, [memberID]), toMember),
    listMembers: async (orgID, beforeSeq, limit) =>
      (beforeSeq === null
        ? await rows(
            `SELECT ${MEMBER_COLUMNS} FROM members WHERE org_id = $1 AND archived_at IS NULL
             ORDER BY list_seq DESC LIMIT $2`,
            [orgID, limit],
          )
        : await rows(
            `SELECT ${MEMBER_COLUMNS} FROM members WHERE org_id = $1 AND archived_at IS NULL AND list_seq < $2
             ORDER BY list_seq DESC LIMIT $3`,
            [orgID, beforeSeq, limit],
          )
      ).map(toMember),
    getConversation: async (orgID, id) =>
      map(
        await one(
          `SELECT ${CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.id = c.member_id
           WHERE c.org_id = $1 AND c.id = $2`,
          [orgID, id],
        ),
        toConversation,
      ),
    listConversations: async (orgID, memberID) =>
      (
        await rows(
          `SELECT ${CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.id = c.member_id
           WHERE c.member_id = $1 AND c.org_id = $2 ORDER BY c.last_seq DESC`,
          [memberID, orgID],
        )
      ).map(toConversation),
    getMessage: async (conversationID, id) =>
      map(
        await one(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND id = $2`, [
          conversationID,
          id,
        ]),
        toMessage,
      ),
    listMessagesBefore: async (conversationID, beforeSeq, limit) =>
      (beforeSeq === null
        ? await rows(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 ORDER BY seq DESC LIMIT $2`, [
            conversationID,
            limit,
          ])
        : await rows(
            `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
            [conversationID, beforeSeq, limit],
          )
      ).map(toMessage),
    listMessagesAfter: async (conversationID, afterSeq, limit) =>
      (
        await rows(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
          [conversationID, afterSeq, limit],
        )
      ).map(toMessage),
    latestMessageSeq: async (conversationID) =>
      Number(
        (await one('SELECT max(seq) AS seq FROM messages WHERE conversation_id = $1', [conversationID]))?.seq ?? 0,
      ),
    listEventsAfter: async (orgID, memberID, afterSeq, limit) =>
      (memberID === null
        ? await rows(
            `SELECT ${EVENT_COLUMNS} FROM ${EVENT_JOIN} WHERE e.org_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3`,
            [orgID, afterSeq, limit],
          )
        : await rows(
            `SELECT ${EVENT_COLUMNS} FROM ${EVENT_JOIN}
             WHERE e.member_id = $1 AND e.org_id = $2 AND e.seq > $3
               AND e.type NOT IN (${TEAM_ONLY_EVENTS.map((t) => `'${t}'`).join(', ')}) ORDER BY e.seq LIMIT $4`,
            [memberID, orgID, afterSeq, limit],
          )
      ).map(toEvent),
    latestEventSeq: async (orgID) =>
      Number((await one('SELECT event_seq FROM orgs WHERE id = $1', [orgID]))?.event_seq ?? 0),
    getIdempotency: async (scope: IdempotencyScope) =>
      map(
        await one(
          'SELECT fingerprint, status, body, created_at FROM idempotency_keys WHERE org_id = $1 AND principal = $2 AND key = $3',
          [scope.orgID, scope.principal, scope.key],
        ),
        (r) => ({
          fingerprint: r.fingerprint as string,
          status: Number(r.status),
          body: r.body as string,
          createdAt: Number(r.created_at),
        }),
      ),
    resumePoints: async (holder, stream, now) =>
      (
        await rows(
          'SELECT seq FROM stream_resume_points WHERE holder = $1 AND stream = $2 AND expires_at > $3 ORDER BY seq, n',
          [holder, stream, now],
        )
      ).map((r) => Number(r.seq)),
    listAgents: async (orgID) =>
      (await rows('SELECT * FROM agents WHERE org_id = $1 ORDER BY created_at, id', [orgID])).map(toAgent),
    getAgent: async (orgID, id) =>
      map(await one('SELECT * FROM agents WHERE id = $1 AND org_id = $2', [id, orgID]), toAgent),
    findAgentsByEmail: async (email, orgID) =>
      (
        await rows('SELECT * FROM agents WHERE email = $1 AND ($2::text IS NULL OR org_id = $2) ORDER BY created_at', [
          email,
          orgID,
        ])
      ).map((r) => ({ ...toAgent(r), passwordHash: (r.password_hash as string | null) ?? null })),
    findAgentPerson: async (email) =>
      toAgentPerson(
        email,
        await rows(
          `SELECT a.*, o.name AS org_name, p.password_kdf FROM agents a JOIN orgs o ON o.id = a.org_id
           LEFT JOIN agent_people p ON p.email = a.email WHERE a.email = $1 ORDER BY a.created_at, a.id`,
          [email],
        ),
      ),
    signInLinkPerson: async (hash, now) =>
      map(
        await one(
          `SELECT a.email, p.password_kdf FROM agent_links l JOIN agents a ON a.id = l.agent_id
           LEFT JOIN agent_people p ON p.email = a.email
           WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2 AND a.disabled_at IS NULL`,
          [hash, now],
        ),
        (r) => ({ email: r.email as string, passwordKdf: (r.password_kdf as string | null) ?? null }),
      ),
    getAgentSession: async (id) =>
      map(
        await one(
          `SELECT ${SESSION_AGENT_COLUMNS} FROM agent_sessions s JOIN agents a ON a.id = s.agent_id WHERE s.id = $1`,
          [id],
        ),
        toSessionMark,
      ),
    listAgentSessions: async (agentID) =>
      (
        await rows(
          'SELECT * FROM agent_sessions WHERE agent_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id',
          [agentID],
        )
      ).map(toAgentSession),
    listNotes: async (conversationID, beforeSeq, limit) =>
      (beforeSeq === null
        ? await rows('SELECT * FROM notes WHERE conversation_id = $1 ORDER BY seq DESC LIMIT $2', [
            conversationID,
            limit,
          ])
        : await rows('SELECT * FROM notes WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3', [
            conversationID,
            beforeSeq,
            limit,
          ])
      ).map(toNote),
    inboxCounts: async (orgID, agentID) => {
      const r = (await one(
        `SELECT
           count(*) FILTER (WHERE status = 'open' AND assignee_id IS NULL) AS unassigned,
           count(*) FILTER (WHERE status = 'open' AND assignee_id = $2) AS mine,
           count(*) FILTER (WHERE status = 'open') AS open,
           count(*) FILTER (WHERE status = 'open' AND awaiting) AS awaiting,
           count(*) FILTER (WHERE status = 'closed') AS closed
         FROM conversations WHERE org_id = $1`,
        [orgID, agentID],
      ))!;
      return {
        unassigned: Number(r.unassigned),
        mine: Number(r.mine),
        open: Number(r.open),
        awaiting: Number(r.awaiting),
        closed: Number(r.closed),
      };
    },
    inbox: async (filter, snapshot, before, limit) => {
      const params: unknown[] = [filter.orgID, snapshot, before ?? Number.MAX_SAFE_INTEGER, limit];
      const f = filterSQL(filter, params);
      const sql = `SELECT ${INBOX_COLUMNS} FROM (
          (SELECT c.*, c.last_seq AS pos FROM conversations c
            WHERE c.org_id = $1 AND c.last_seq <= $2 AND c.last_seq < $3 ${f}
            ORDER BY c.last_seq DESC LIMIT $4)
          UNION ALL
          (SELECT c.*, coalesce(
              (SELECT max(x.seq) FROM messages x WHERE x.conversation_id = c.id AND x.seq <= $2),
              CASE WHEN c.created_seq <= $2 THEN c.created_seq END) AS pos
            FROM conversations c WHERE c.org_id = $1 AND c.last_seq > $2 ${f})
        ) c JOIN members m ON m.id = c.member_id
        LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq
        WHERE c.pos IS NOT NULL AND c.pos < $3 ORDER BY c.pos DESC LIMIT $4`;
      return (await rows(sql, params)).map(toInboxRow);
    },
    searchInbox: async (filter, terms, offset, limit) => {
      const q = tsQuery(terms);
      const params: unknown[] = [filter.orgID, q, limit, offset, SEARCH_WINDOW];
      const f = filterSQL(filter, params);
      // The newest SEARCH_WINDOW hits ranked (ts_rank; a match in the member's name, email or id above any match
      // in text; see search-terms.ts), each conversation's best kept; headlines (costly) only for the page.
      // to_tsquery is written inline, not in a CTE: the planner then sees the words and estimates their frequency,
      // and walks messages_org_seq backwards for a common word instead of fetching and sorting all its matches.
      // ts_rank runs on the window only, after the LIMIT.
      const tsq = `to_tsquery('simple', $2)`;
      const sql = `WITH hits AS (
          (SELECT w.cid, ts_rank(w.search, ${tsq}) AS score, w.text FROM (
            SELECT x.conversation_id AS cid, x.search, x.body AS text FROM messages x
            WHERE x.org_id = $1 AND x.search @@ ${tsq} ORDER BY x.seq DESC LIMIT $5) w)
          UNION ALL
          (SELECT c.id, 1e9 + ts_rank(p.search, ${tsq}),
                 concat_ws(' ', p.display_name, p.email, p.external_user_id)
            FROM members p JOIN conversations c ON c.member_id = p.id
            WHERE p.org_id = $1 AND p.search @@ ${tsq} ORDER BY c.last_seq DESC LIMIT $5)
        ),
        best AS (SELECT DISTINCT ON (cid) cid, score AS rank, text FROM hits ORDER BY cid, score DESC),
        page AS (
          SELECT c.*, c.last_seq AS pos, best.rank, best.text FROM best JOIN conversations c ON c.id = best.cid
          WHERE c.org_id = $1 ${f} ORDER BY best.rank DESC, c.last_seq DESC LIMIT $3 OFFSET $4
        )
        SELECT ${INBOX_COLUMNS}, c.rank,
          ts_headline('simple', c.text, ${tsq}, 'StartSel=[, StopSel=], MaxWords=16, MinWords=6, MaxFragments=1')
            AS snippet
        FROM page c JOIN members m ON m.id = c.member_id
        LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq
        ORDER BY c.rank DESC, c.last_seq DESC`;
      // Unnamed, so planned for these words on every call: a prepared statement's generic plan knows no word and
      // would pick one path for all of them (the seq walk is as wrong for a rare word as the GIN sort for a common one).
      return (await rows(sql, params, false)).map(toInboxRow);
    },
  };
}

/** The inbox filters as SQL over `conversations c`, appending their values to `params`. */
function filterSQL(filter: InboxFilter, params: unknown[]): string {
  const parts: string[] = [];
  if (filter.status !== undefined) {
    params.push(filter.status);
    parts.push(`AND c.status = $${params.length}`);
  }
  if (filter.assignee === 'none') parts.push('AND c.assignee_id IS NULL');
  else if (filter.assignee !== undefined) {
    params.push(filter.assignee);
    parts.push(`AND c.assignee_id = $${params.length}`);
  }
  if (filter.awaiting === true) parts.push('AND c.awaiting');
  return parts.join(' ');
}

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

  async appendMessage(m: Omit<MessageRecord, 'seq'>, unread: 0 | 1): Promise<AppendedMessage | null> {
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
                           member_unread = member_unread + $9::int, awaiting = ($4::text = 'member'),
                           status = CASE WHEN $4::text = 'member' THEN 'open' ELSE status END
                    FROM s WHERE conversations.id = $1::text),
              e AS (INSERT INTO events (org_id, seq, type, member_id, conversation_id, payload)
                    SELECT $2::text, s.event_seq, 'message', h.member_id, $1::text, NULL FROM s, h)
         SELECT s.event_seq, h.member_id, h.status, h.awaiting,
                EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.org_id = $2::text AND w.disabled_at IS NULL)
                  AS webhooks
         FROM s, h`,
        [m.conversationID, m.orgID, m.id, m.type, m.authorID, m.body, m.via, m.createdAt, unread],
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
