import type Database from 'better-sqlite3';
import type { NewApiKey, ReadQueries, WriteTx } from '../dialect.js';
import {
  INBOX_COLUMNS,
  toAgent,
  toAgentPerson,
  toAgentSession,
  toInboxRow,
  toNote,
  toSessionMark,
  payloadText,
  toApiKey,
  toConversation,
  toEvent,
  attributesText,
  toMember,
  toMessage,
  toOrg,
  type Row,
  toInboxCounts,
} from '../rows.js';
import { searchSnippet } from '../search-snippet.js';
import { fts5Query, SEARCH_WINDOW } from '../search-terms.js';

import {
  type AgentRecord,
  type AgentSessionRecord,
  type InboxFilter,
  type NoteRecord,
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
import { pageRow } from './sqlite-rows.js';
import { guard, sqliteStatements, type Statement } from './sqlite-statements.js';
import { sqliteWebhooks } from './sqlite-webhooks.js';

/** Up to this many matches (in every org) a text search is ranked by bm25; past it, by matches among the newest. */
const BM25_MAX_MATCHES = 5000;

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
    const s = sqliteStatements(prepare, prepareRaw);
    const one = (stmt: Statement, ...args: unknown[]): Row | null => (stmt.get(...args) as Row | undefined) ?? null;
    const all = (stmt: Statement, ...args: unknown[]): Row[] => stmt.all(...args) as Row[];
    const map = <T>(row: Row | null, f: (r: Row) => T): T | null => (row === null ? null : f(row));
    const webhooks = sqliteWebhooks(prepare);

    this.reads = {
      ...webhooks.reads,
      serverSecret: async () => map(one(s.serverSecret), (r) => new Uint8Array(r.value as Buffer)),
      getOrg: async (orgID) => map(one(s.getOrg, orgID), toOrg),
      listOrgs: async () => all(s.listOrgs).map(toOrg),
      listApiKeys: async (orgID) => all(s.listKeys, orgID).map(toApiKey),
      findApiKeyByHash: async (hash) => map(one(s.keyByHash, hash), toApiKey),
      getMember: async (orgID, ext) => map(one(s.getMember, orgID, ext), toMember),
      getMemberByID: async (memberID) => map(one(s.getMemberByID, memberID), toMember),
      listMembers: async (orgID, beforeSeq, limit) =>
        (beforeSeq === null ? all(s.membersLatest, orgID, limit) : all(s.membersBefore, orgID, beforeSeq, limit)).map(
          toMember,
        ),
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
      resumePoints: async (holder, stream, now) => all(s.resumePoints, holder, stream, now).map((r) => Number(r.seq)),
      listAgents: async (orgID) => all(s.listAgents, orgID).map(toAgent),
      getAgent: async (orgID, id) => map(one(s.findAgent, id, orgID, orgID), toAgent),
      findAgentsByEmail: async (email, orgID) =>
        all(s.agentsByEmail, email, orgID, orgID).map((r) => ({
          ...toAgent(r),
          passwordHash: (r.password_hash as string | null) ?? null,
        })),
      findAgentPerson: async (email) => toAgentPerson(email, all(s.person, email)),
      signInLinkPerson: async (hash, now) =>
        map(one(s.linkPerson, hash, now), (r) => ({
          email: r.email as string,
          passwordKdf: (r.password_kdf as string | null) ?? null,
        })),
      getAgentSession: async (id) => map(one(s.sessionMark, id), toSessionMark),
      listAgentSessions: async (agentID) => all(s.listSessions, agentID).map(toAgentSession),
      listNotes: async (conversationID, beforeSeq, limit) =>
        (beforeSeq === null
          ? all(s.notesLatest, conversationID, limit)
          : all(s.notesBefore, conversationID, beforeSeq, limit)
        ).map(toNote),
      inboxCounts: async (orgID, agentID) => {
        const r = one(s.counts, { org: orgID, agent: agentID })!;
        return toInboxCounts(r);
      },
      inboxItem: async (orgID, conversationID) => {
        const row = one(s.inboxItem, orgID, conversationID);
        return row === null ? null : toInboxRow(row);
      },
      inbox: async (filter, snapshot, before, limit) => {
        const { sql, params } = filterSQL(filter);
        const stmt = cached(
          `SELECT ${INBOX_COLUMNS} FROM (
             SELECT * FROM (SELECT c.*, c.last_seq AS pos FROM conversations c
               WHERE c.org_id = @org AND c.last_seq <= @snap AND c.last_seq < @before ${sql}
               ORDER BY c.last_seq DESC LIMIT @limit)
             UNION ALL
             SELECT * FROM (SELECT c.*, coalesce(
                 (SELECT max(x.seq) FROM messages x WHERE x.conversation_id = c.id AND x.seq <= @snap),
                 CASE WHEN c.created_seq <= @snap THEN c.created_seq END) AS pos
               FROM conversations c WHERE c.org_id = @org AND c.last_seq > @snap ${sql})
           ) c JOIN members m ON m.id = c.member_id
           LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq
           WHERE c.pos IS NOT NULL AND c.pos < @before ORDER BY c.pos DESC LIMIT @limit`,
        );
        return all(stmt, {
          ...params,
          org: filter.orgID,
          snap: snapshot,
          before: before ?? Number.MAX_SAFE_INTEGER,
          limit,
        }).map(toInboxRow);
      },
      searchInbox: async (filter, terms, offset, limit) => {
        const { sql, params } = filterSQL(filter);
        // The newest SEARCH_WINDOW matching messages of the org, each conversation's best kept. A match in the member's
        // name, email or id ranks above any match in text. Text is ranked by bm25 when the words are rare enough
        // (FTS5's bm25 reads every match of a word once per query, to weigh it); for a word in thousands of
        // messages, by how many of the newest matches the conversation holds. Snippets are made for the page only.
        // The candidates drive the plan (CROSS JOIN keeps them the outer loop: left to itself, the planner walked
        // every conversation of the org by conversations_org_activity and probed the candidates for each), and only
        // the page's rows are joined to their member and last message.
        const textScore = (bm25: boolean) => (bm25 ? '-bm25(message_search)' : '1.0');
        const stmt = (bm25: boolean) =>
          cached(
            `WITH hits AS MATERIALIZED (
               SELECT * FROM (SELECT conversation_id AS cid, ${textScore(bm25)} AS score, rowid AS hit, 'm' AS src
                 FROM message_search WHERE message_search MATCH @q AND org_id = @org
                 ORDER BY rowid DESC LIMIT @window)
               UNION ALL
               SELECT * FROM (SELECT c.id AS cid, 1e9 - bm25(member_search) AS score, member_search.rowid AS hit,
                   'p' AS src
                 FROM member_search JOIN conversations c ON c.member_id = member_search.member_id
                 WHERE member_search MATCH @q AND member_search.org_id = @org LIMIT @window)
             ), best AS MATERIALIZED (
               SELECT cid, max(score) + ${bm25 ? '0' : 'count(*)'} AS rank, hit, src FROM hits GROUP BY cid
             ), page AS MATERIALIZED (
               SELECT best.*, c.last_seq AS pos FROM best CROSS JOIN conversations c ON c.id = best.cid
               WHERE c.org_id = @org ${sql}
               ORDER BY best.rank DESC, c.last_seq DESC LIMIT @limit OFFSET @offset
             )
             SELECT ${INBOX_COLUMNS}, page.rank, page.hit, page.src FROM page
               CROSS JOIN (SELECT c.*, c.last_seq AS pos FROM conversations c) c ON c.id = page.cid
               JOIN members m ON m.id = c.member_id
               LEFT JOIN messages lm ON lm.conversation_id = c.id AND lm.seq = c.last_seq
             ORDER BY page.rank DESC, page.pos DESC`,
          );
        const q = fts5Query(terms);
        const common = Number(one(s.countMatches, q, BM25_MAX_MATCHES + 1)?.n ?? 0) > BM25_MAX_MATCHES;
        const rows = all(stmt(!common), { ...params, org: filter.orgID, q, limit, offset, window: SEARCH_WINDOW });
        const snippet = (r: Row): unknown => {
          if (r.src !== 'm') return one(s.memberSnippet, q, r.hit)?.snippet;
          const body = one(s.messageSearchText, r.hit)?.body;
          return (
            (typeof body === 'string' ? searchSnippet(body, terms) : null) ?? one(s.messageSnippet, q, r.hit)?.snippet
          );
        };
        return rows.map((r) => toInboxRow({ ...r, snippet: snippet(r) ?? '' }));
      },
    };

    const statements = new Map<string, Statement>();
    /** The inbox's SQL depends on its filters: one prepared statement per combination, made on first use. */
    const cached = (sql: string): Statement => {
      let stmt = statements.get(sql);
      if (stmt === undefined) statements.set(sql, (stmt = prepare(sql)));
      return stmt;
    };
    const indexMemberNames = (m: MemberRecord): void => {
      s.deleteMemberNames.run(m.id);
      s.deleteMemberNamesRow.run(m.id);
      const names = [m.displayName, m.email, m.externalUserID].filter((x) => x !== null).join(' ');
      const row = s.insertMemberNames.run(names, m.id, m.orgID).lastInsertRowid;
      s.insertMemberNamesRow.run(m.id, row);
    };

    const nextSeq = (orgID: string): number | null =>
      s.bumpSeq.run(orgID).changes === 0 ? null : Number(one(s.latestEventSeq, orgID)?.event_seq);
    const insertEvent = (e: StoredEvent): void => {
      s.insertEvent.run(e.orgID, e.seq, e.type, e.memberID, e.conversationID, payloadText(e));
    };
    this.tx = {
      ...webhooks.tx,
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
        s.insertMember.run(
          m.id,
          m.orgID,
          m.externalUserID,
          m.displayName,
          m.email,
          m.tier,
          attributesText(m),
          m.createdAt,
          m.updatedAt,
        );
        indexMemberNames(m);
        return Number(one(s.memberListSeq, m.id)?.list_seq);
      },
      updateMemberProfile: (m: MemberRecord) => {
        s.updateMember.run(
          m.displayName,
          m.email,
          m.tier,
          attributesText(m),
          m.archivedAt,
          m.tokensValidAfter,
          m.updatedAt,
          m.id,
        );
        indexMemberNames(m);
      },
      updateOrgDefaultTier: (orgID, tier) => s.setDefaultTier.run(tier, orgID).changes > 0,
      revokeMemberTokens: (orgID, ext, at, updatedAt) => map(one(s.revokeMember, at, updatedAt, orgID, ext), toMember),
      deleteMemberMessages: (id) => {
        // The search index holds the messages' text too: erased with them.
        s.deleteMemberSearch.run(id);
        s.deleteMemberSearchRows.run(id);
        s.deleteMemberNotes.run(id);
        s.deleteMemberMessages.run(id);
      },
      deleteMemberEvents: (id) => void s.deleteMemberEvents.run(id),
      deleteMemberConversations: (id) => void s.deleteMemberConversations.run(id),
      deleteMember: (id) => {
        s.deleteMemberNames.run(id);
        s.deleteMemberNamesRow.run(id);
        s.deleteMember.run(id);
      },
      nextSeq,
      claimSeqForMember: (orgID, memberID) => {
        const member = one(s.getMemberByID, memberID);
        if (member === null || member.org_id !== orgID) return null;
        const seq = nextSeq(orgID);
        return seq === null ? null : { seq, externalUserID: member.external_user_id as string };
      },
      appendEvent: insertEvent,
      insertConversation: (c: ConversationRecord) => {
        s.insertConversation.run(
          c.id,
          c.orgID,
          c.memberID,
          c.type,
          c.title,
          c.createdAt,
          c.lastSeq,
          c.lastSeq,
          c.stateUpdatedAt,
          c.stateUpdatedBy.kind,
          c.stateUpdatedBy.id,
        );
      },
      appendMessage: (m: Omit<MessageRecord, 'seq'>, effect) => {
        const head = one(s.conversationHead, m.conversationID, m.orgID);
        if (head === null) return null;
        const seq = nextSeq(m.orgID);
        if (seq === null) return null;
        s.insertMessage.run(m.conversationID, seq, m.id, m.orgID, m.type, m.authorID, m.body, m.via, m.createdAt);
        s.touchConversation.run(
          m.createdAt,
          seq,
          effect.unread,
          effect.awaitingReply ? 1 : 0,
          effect.reopen ? 1 : 0,
          m.conversationID,
        );
        if (m.body !== null) {
          const row = s.insertMessageSearch.run(m.body, m.conversationID, m.orgID).lastInsertRowid;
          s.insertMessageSearchRow.run(m.conversationID, row);
        }
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
        return {
          seq,
          memberID,
          webhooks: webhooks.hooked(m.orgID),
          before: { status: head.status === 'closed' ? 'closed' : 'open', awaitingReply: head.awaiting === 1 },
        };
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
      insertResumePoint: (p: ResumePoint) => void s.insertResumePoint.run(p.holder, p.stream, p.seq, p.expiresAt),
      resumePointRows: (holder, stream, now) =>
        all(s.resumePoints, holder, stream, now).map((r) => ({ n: Number(r.n), seq: Number(r.seq) })),
      deleteResumePoint: (n) => s.deleteResumePoint.run(n).changes > 0,
      purgeResumePoints: (now) => s.purgeResumePoints.run(now).changes,
      writeProbe: (bytes) => void s.probe.run(bytes),
      insertAgent: (a: AgentRecord) =>
        s.insertAgent.run(a.id, a.orgID, a.email, a.name, a.role, a.createdAt).changes > 0,
      findAgent: (orgID, id) => map(one(s.findAgent, id, orgID, orgID), toAgent),
      updateAgent: (a: AgentRecord) => void s.updateAgent.run(a.name, a.role, a.disabledAt, a.id),
      insertSignInLink: (hash, agentID, expiresAt) => void s.insertLink.run(hash, agentID, expiresAt),
      spendSignInLink: (hash, now, at) => (one(s.spendLink, at, hash, now)?.agent_id as string | undefined) ?? null,
      setAgentPassword: (agentID, hash) => void s.setPassword.run(hash, agentID),
      ensureAgentPerson: (email, kdf) => one(s.ensurePerson, email, kdf)!.password_kdf as string,
      insertAgentSession: (x: AgentSessionRecord) =>
        void s.insertSession.run(
          x.id,
          x.agentID,
          x.orgID,
          x.refreshHash,
          x.createdAt,
          x.lastUsedAt,
          x.expiresAt,
          x.userAgent,
        ),
      agentSession: (id) => map(one(s.getSession, id), toAgentSession),
      rotateAgentSession: (id, hash, previous, at, expiresAt) =>
        void s.rotateSession.run(hash, previous, at, expiresAt, id),
      revokeAgentSessions: (agentID, sessionID, at) => s.revokeSessions.run(at, agentID, sessionID, sessionID).changes,
      setConversationState: (id, st) =>
        void s.setState.run(st.status, st.assigneeID, st.updatedAt, st.updatedBy.kind, st.updatedBy.id, id),
      insertNote: (n: NoteRecord) =>
        void s.insertNote.run(n.id, n.orgID, n.conversationID, n.seq, n.authorID, n.body, n.createdAt),
    };
  }
}

/** The inbox filters as SQL over `conversations c`, with named parameters. */
function filterSQL(filter: InboxFilter): { sql: string; params: Record<string, unknown> } {
  const parts: string[] = [];
  const params: Record<string, unknown> = {};
  if (filter.status !== undefined) {
    parts.push('AND c.status = @status');
    params.status = filter.status;
  }
  if (filter.assignee === 'none') parts.push('AND c.assignee_id IS NULL');
  else if (filter.assignee !== undefined) {
    parts.push('AND c.assignee_id = @assignee');
    params.assignee = filter.assignee;
  }
  if (filter.awaiting === true) parts.push('AND c.awaiting = 1');
  return { sql: parts.join(' '), params };
}
