import type pg from 'pg';
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
import { postgresError } from './postgres-errors.js';
import { query } from './prepared.js';

const NUL = '\u0000';

/** A lookup by a value holding NUL cannot match a stored row (none can hold one), and would be a SQL error. */
export function unmatchable(params: readonly unknown[]): boolean {
  return params.some((p) => typeof p === 'string' && p.includes(NUL));
}

/** The PostgreSQL dialect's reads: one query each on the read pool, its failures classified. */
export function postgresReads(pool: pg.Pool): ReadQueries {
  const rows = async (sql: string, params: unknown[] = []): Promise<Row[]> => {
    if (unmatchable(params)) return [];
    try {
      return (await query(pool, sql, params)).rows;
    } catch (error) {
      throw postgresError(error);
    }
  };
  const one = async (sql: string, params: unknown[] = []): Promise<Row | null> => (await rows(sql, params))[0] ?? null;
  const map = <T>(row: Row | null, f: (r: Row) => T): T | null => (row === null ? null : f(row));
  return {
    serverSecret: async () =>
      map(await one(`SELECT value FROM meta WHERE key = 'server_secret'`), (r) => new Uint8Array(r.value as Buffer)),
    getOrg: async (orgID) => map(await one('SELECT * FROM orgs WHERE id = $1', [orgID]), toOrg),
    listOrgs: async () => (await rows('SELECT * FROM orgs ORDER BY created_at, id')).map(toOrg),
    listApiKeys: async (orgID) =>
      (await rows('SELECT * FROM api_keys WHERE org_id = $1 ORDER BY created_at, id', [orgID])).map(toApiKey),
    findApiKeyByHash: async (hash) =>
      map(await one('SELECT * FROM api_keys WHERE hash = $1 AND revoked_at IS NULL', [hash]), toApiKey),
    getMember: async (orgID, ext) =>
      map(await one('SELECT * FROM members WHERE org_id = $1 AND external_user_id = $2', [orgID, ext]), toMember),
    getMemberByID: async (memberID) => map(await one('SELECT * FROM members WHERE id = $1', [memberID]), toMember),
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
      map(await one('SELECT * FROM messages WHERE conversation_id = $1 AND id = $2', [conversationID, id]), toMessage),
    listMessagesBefore: async (conversationID, beforeSeq, limit) =>
      (beforeSeq === null
        ? await rows('SELECT * FROM messages WHERE conversation_id = $1 ORDER BY seq DESC LIMIT $2', [
            conversationID,
            limit,
          ])
        : await rows('SELECT * FROM messages WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3', [
            conversationID,
            beforeSeq,
            limit,
          ])
      ).map(toMessage),
    listMessagesAfter: async (conversationID, afterSeq, limit) =>
      (
        await rows('SELECT * FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [
          conversationID,
          afterSeq,
          limit,
        ])
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
             WHERE e.member_id = $1 AND e.org_id = $2 AND e.seq > $3 ORDER BY e.seq LIMIT $4`,
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
  };
}

/** Transaction-level advisory lock key for the first-start org ("orgs" in ASCII). */
const FIRST_ORG_LOCK = 0x6f726773;

/**
 * The PostgreSQL dialect's steps of the write rules, on the batch's connection inside its transaction. Every
 * statement is a named prepared statement (prepared.ts), planned once per connection.
 */
export class PostgresTx implements WriteTx {
  constructor(private readonly c: pg.ClientBase) {}

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
    const sql = 'SELECT * FROM members WHERE org_id = $1 AND external_user_id = $2';
    const r = (await this.rows(sql, [orgID, externalUserID]))[0];
    return r === undefined ? null : toMember(r);
  }

  async insertMember(m: MemberRecord): Promise<void> {
    await query(
      this.c,
      `INSERT INTO members (id, org_id, external_user_id, display_name, email, tier, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [m.id, m.orgID, m.externalUserID, m.displayName, m.email, m.tier, m.createdAt, m.updatedAt],
    );
  }

  async updateMemberProfile(m: MemberRecord): Promise<void> {
    await query(this.c, 'UPDATE members SET display_name = $1, email = $2, tier = $3, updated_at = $4 WHERE id = $5', [
      m.displayName,
      m.email,
      m.tier,
      m.updatedAt,
      m.id,
    ]);
  }

  async revokeMemberTokens(orgID: string, ext: string, at: number, updatedAt: string): Promise<MemberRecord | null> {
    if (unmatchable([orgID, ext])) return null;
    const r = await this.rows(
      `UPDATE members SET tokens_valid_after = GREATEST(tokens_valid_after, $1), updated_at = $2
       WHERE org_id = $3 AND external_user_id = $4 RETURNING *`,
      [at, updatedAt, orgID, ext],
    );
    return r[0] === undefined ? null : toMember(r[0]);
  }

  async deleteMemberMessages(memberID: string): Promise<void> {
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
      `INSERT INTO conversations (id, org_id, member_id, type, title, created_at, last_seq)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [c.id, c.orgID, c.memberID, c.type, c.title, c.createdAt, c.lastSeq],
    );
  }

  async appendMessage(m: Omit<MessageRecord, 'seq'>, unread: 0 | 1): Promise<{ seq: number; memberID: string } | null> {
    if (unmatchable([m.orgID, m.conversationID])) return null;
    // The hot path in one round trip: take the seq, insert the message and its event, touch the conversation.
    // Every part hangs off `s`, whose UPDATE only happens when the conversation exists in this org.
    const r = (
      await this.rows(
        `WITH h AS (SELECT member_id FROM conversations WHERE id = $1::text AND org_id = $2::text),
              s AS (UPDATE orgs SET event_seq = event_seq + 1 WHERE id = $2::text AND EXISTS (SELECT 1 FROM h)
                    RETURNING event_seq),
              m AS (INSERT INTO messages (conversation_id, seq, id, org_id, type, author_id, body, via, created_at)
                    SELECT $1::text, s.event_seq, $3::text, $2::text, $4::text, $5::text, $6::text, $7::text,
                           $8::timestamptz FROM s),
              t AS (UPDATE conversations SET last_message_at = $8::timestamptz, last_seq = s.event_seq,
                           member_unread = member_unread + $9::int
                    FROM s WHERE conversations.id = $1::text),
              e AS (INSERT INTO events (org_id, seq, type, member_id, conversation_id, payload)
                    SELECT $2::text, s.event_seq, 'message', h.member_id, $1::text, NULL FROM s, h)
         SELECT s.event_seq, h.member_id FROM s, h`,
        [m.conversationID, m.orgID, m.id, m.type, m.authorID, m.body, m.via, m.createdAt, unread],
      )
    )[0];
    return r === undefined ? null : { seq: Number(r.event_seq), memberID: r.member_id as string };
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

  async writeProbe(bytes: Buffer): Promise<void> {
    await query(
      this.c,
      `INSERT INTO meta (key, value) VALUES ('write_probe', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [bytes],
    );
  }
}
