import type pg from 'pg';
import type { ReadQueries } from '../dialect.js';
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
  toApiKey,
  toConversation,
  toEvent,
  toMember,
  toMessage,
  toOrg,
  type Row,
  toInboxCounts,
} from '../rows.js';
import { searchSnippet } from '../search-snippet.js';
import { SEARCH_WINDOW, tsQuery } from '../search-terms.js';
import { TEAM_ONLY_EVENTS, type InboxFilter, type IdempotencyScope } from '../store.js';
import { postgresError } from './postgres-errors.js';
import { postgresWebhookReads } from './postgres-webhooks.js';
import { unmatchable } from './unmatchable.js';
import { query } from './prepared.js';

/** Named, not `*`: the rows also hold a search vector that no read needs to carry over the wire. */
const MESSAGE_COLUMNS = 'conversation_id, seq, id, org_id, type, author_id, body, via, created_at';
export const MEMBER_COLUMNS = `id, org_id, external_user_id, display_name, email, tier, attributes, tokens_valid_after,
  archived_at, list_seq, created_at, updated_at`;

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
      return toInboxCounts(r);
    },
    inboxItem: async (orgID, conversationID) =>
      map(
        await one(
          `SELECT ${INBOX_COLUMNS} FROM (SELECT c.*, c.last_seq AS pos FROM conversations c
             WHERE c.org_id = $1 AND c.id = $2) c
           JOIN members m ON m.id = c.member_id
           LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq`,
          [orgID, conversationID],
        ),
        toInboxRow,
      ),
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
        SELECT ${INBOX_COLUMNS}, c.rank, c.text AS search_text,
          ts_headline('simple', c.text, ${tsq}, 'StartSel=[, StopSel=], MaxWords=16, MinWords=6, MaxFragments=1')
            AS snippet
        FROM page c JOIN members m ON m.id = c.member_id
        LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq
        ORDER BY c.rank DESC, c.last_seq DESC`;
      // Unnamed, so planned for these words on every call: a prepared statement's generic plan knows no word and
      // would pick one path for all of them (the seq walk is as wrong for a rare word as the GIN sort for a common one).
      return (await rows(sql, params, false)).map((r) =>
        toInboxRow({
          ...r,
          snippet: (typeof r.search_text === 'string' ? searchSnippet(r.search_text, terms) : null) ?? r.snippet,
        }),
      );
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
