import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { newID, nowISO } from '../ids.js';
import {
  IDEMPOTENCY_TTL_MS,
  IdempotencyKeyTaken,
  NotFoundInStore,
  StorageUnavailable,
  UnstorableValue,
  type ApiKeyRecord,
  type CommitListener,
  type ConversationRecord,
  type Ephemeral,
  type EphemeralListener,
  type IdempotencyRecord,
  type IdempotencyScope,
  type IdempotencyWrite,
  type MemberProfile,
  type MemberRecord,
  type MessageRecord,
  type NewConversation,
  type NewMessage,
  type OrgRecord,
  type ReadMark,
  type ReadMarkResult,
  type Store,
  type StoredEvent,
  type StoredEventType,
} from '../store.js';
import { EventFeed } from './event-feed.js';
import { GroupCommit, type WriteFn, type WriteResult } from './group-commit.js';
import { EPHEMERAL_CHANNEL, EVENTS_CHANNEL, Notifier } from './notifier.js';
import { postgresError } from './postgres-errors.js';
import { migrate } from './postgres-migrations.js';
import { query } from './prepared.js';
import {
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
} from './postgres-rows.js';

export interface PostgresStoreOptions {
  /**
   * `postgres://user:password@host:port/database`; any libpq-style parameters node-postgres understands
   * (`sslmode`, …). `pool_max` (default 10) sizes the read pool; each instance also holds one writer and one
   * LISTEN connection.
   */
  url: string;
  /** Apply pending migrations (default true); when false, a schema behind the code is refused. */
  migrate?: boolean;
  /** Where the store reports trouble it recovers from by itself (a dropped LISTEN connection…). */
  onError?: (error: unknown) => void;
}

const NUL = '\u0000';

/** PostgreSQL text cannot hold NUL: refuse it by field name (422 VALIDATION), before it can become a 500. */
function storable(fields: Record<string, string | null | undefined>): void {
  for (const [field, value] of Object.entries(fields))
    if (typeof value === 'string' && value.includes(NUL))
      throw new UnstorableValue(field, 'must not contain a NUL character');
}

/** A lookup by a value holding NUL cannot match a stored row (none can hold one), and would be a SQL error. */
function unmatchable(params: readonly unknown[]): boolean {
  return params.some((p) => typeof p === 'string' && p.includes(NUL));
}

function connectionConfig(url: string): { config: pg.PoolConfig; poolMax: number } {
  const parsed = new URL(url);
  const raw = parsed.searchParams.get('pool_max');
  parsed.searchParams.delete('pool_max');
  const poolMax = raw === null ? 10 : Number(raw);
  if (!Number.isInteger(poolMax) || poolMax < 1) throw new Error(`pool_max must be a positive integer, got ${raw}`);
  return { config: { connectionString: parsed.toString() }, poolMax };
}

/** Opens (and by default migrates) a PostgreSQL store; several instances may share the database. */
/** Transaction-level advisory lock key for the first-start org ("orgs" in ASCII). */
const FIRST_ORG_LOCK = 0x6f726773;

export async function openPostgresStore(url: string, options: { migrate: boolean }): Promise<Store> {
  return PostgresStore.open({ url, migrate: options.migrate });
}

/**
 * The networked store: any number of server instances share one PostgreSQL database.
 *
 * - Writes go through group commit on one writer connection (group-commit.ts); reads use a small pool.
 * - Seqs come from `orgs.event_seq`, bumped inside the writing transaction: its row lock orders an org's writers
 *   across instances, so seqs grow in commit order within an org, as in SQLite.
 * - Fan-out: each committed batch sends one NOTIFY (orgs and seqs, never rows); every instance LISTENs and reads
 *   the new rows by cursor (event-feed.ts), so each instance's commit listeners see every event of every
 *   instance exactly once, in seq order per org. Ephemeral signals cross on their own channel.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly listeners = new Set<CommitListener>();
  private readonly ephemeralListeners = new Set<EphemeralListener>();
  private readonly resyncListeners = new Set<() => void>();
  private readonly writer: GroupCommit;
  private readonly notifier: Notifier;
  private readonly feed: EventFeed;
  private secret: Uint8Array | null = null;
  private seeded = false;
  private closed = false;
  /** LISTEN is in place and its catch-up ran: every notification since reaches this instance. */
  private live = false;
  private failing = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly writerPool: pg.Pool,
    config: pg.ClientConfig,
    private readonly onError: (error: unknown) => void,
  ) {
    this.feed = new EventFeed(
      (orgID, after, limit) => this.listEventsAfter(orgID, null, after, limit),
      (events) => {
        for (const l of this.listeners) l(events);
      },
      onError,
    );
    this.notifier = new Notifier(config, {
      events: (orgs) => {
        if (orgs === null) void this.catchUpAll();
        else for (const [orgID, seq] of orgs) this.feed.signal(orgID, seq);
      },
      ephemeral: (m) => this.deliverEphemeral(m),
      listening: async () => {
        const reconnected = this.seeded;
        await this.listening();
        this.live = true;
        // Signals sent while nobody listened are lost for good: tell the caches that rely on them to reload.
        if (reconnected) for (const l of this.resyncListeners) l();
      },
      lost: () => {
        this.live = false;
      },
      error: onError,
    });
    this.writer = new GroupCommit(
      writerPool,
      async (client, events) => {
        await query(client, 'SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, this.notifier.eventsPayload(events)]);
      },
      ({ events }) => this.feed.local(events),
    );
  }

  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const { config, poolMax } = connectionConfig(options.url);
    const onError =
      options.onError ??
      ((error: unknown) => process.emitWarning(`PostgreSQL store: ${(error as Error)?.message ?? String(error)}`));
    const pool = new pg.Pool({ ...config, max: poolMax, application_name: 'concierge' });
    const writerPool = new pg.Pool({ ...config, max: 1, application_name: 'concierge-writer' });
    // An idle pooled connection that dies emits 'error' on the pool (unhandled, it would crash the process); the
    // pool drops it and the next checkout opens a fresh one.
    pool.on('error', onError);
    writerPool.on('error', onError);
    const listenConfig: pg.ClientConfig = { ...config, application_name: `concierge-listen:${process.pid}` };
    let store: PostgresStore | null = null;
    try {
      const client = await pool.connect();
      // Checked out, the client has no 'error' listener of the pool's; a dropped connection fails the next query.
      const ignore = (): void => {};
      client.on('error', ignore);
      try {
        await migrate(client, options.migrate ?? true);
      } finally {
        client.removeListener('error', ignore);
        client.release();
      }
      store = new PostgresStore(pool, writerPool, listenConfig, onError);
      await store.notifier.start();
      return store;
    } catch (error) {
      if (store !== null) await store.close().catch(() => {});
      else await Promise.all([pool.end(), writerPool.end()]).catch(() => {});
      throw error;
    }
  }

  /**
   * LISTEN is in place. The first time, the org counters are where this instance's feed starts; after a dropped
   * connection they show which orgs moved while nobody listened, and those are read from the last delivered seq.
   */
  private async listening(): Promise<void> {
    const { rows } = await query<{ id: string; event_seq: string }>(this.pool, 'SELECT id, event_seq FROM orgs');
    const counters = rows.map((r): [string, number] => [r.id, Number(r.event_seq)]);
    if (!this.seeded) {
      for (const [orgID, seq] of counters) this.feed.seed(orgID, seq);
      this.seeded = true;
    } else this.feed.catchUp(counters);
  }

  private async catchUpAll(): Promise<void> {
    try {
      await this.listening();
    } catch (error) {
      this.onError(error);
    }
  }

  notificationsLive(): boolean {
    return this.live && !this.closed;
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  writesFailing(): boolean {
    return this.failing;
  }

  async probeWrite(): Promise<void> {
    await this.write([], async (c) => {
      await query(
        c,
        `INSERT INTO meta (key, value) VALUES ('write_probe', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [randomBytes(8)],
      );
      return { value: undefined, events: [] };
    });
  }

  async spendTicket(nonce: string, expiresAt: number): Promise<boolean> {
    if (unmatchable([nonce])) return false;
    return this.write([], async (c) => {
      const r = await query(
        c,
        'INSERT INTO spent_tickets (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING',
        [nonce, expiresAt],
      );
      return { value: (r.rowCount ?? 0) > 0, events: [] };
    });
  }

  async purgeSpentTickets(now: number): Promise<number> {
    return this.write([], async (c) => {
      const r = await query(c, 'DELETE FROM spent_tickets WHERE expires_at < $1', [now]);
      return { value: r.rowCount ?? 0, events: [] };
    });
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publishEphemeral(message: Ephemeral): void {
    // In place here at once (the sender's own streams and caches must not wait for a round trip), and to the
    // other instances through NOTIFY; the echo that comes back is ignored by instance id.
    this.deliverEphemeral(message);
    if (this.closed) return;
    const payload = this.notifier.ephemeralPayload(message);
    if (payload === null) return;
    query(this.pool, 'SELECT pg_notify($1, $2)', [EPHEMERAL_CHANNEL, payload]).catch(this.onError);
  }

  onEphemeral(listener: EphemeralListener): () => void {
    this.ephemeralListeners.add(listener);
    return () => this.ephemeralListeners.delete(listener);
  }

  private deliverEphemeral(message: Ephemeral): void {
    for (const l of this.ephemeralListeners) l(message);
  }

  // ---- plumbing ----

  private async rows(sql: string, params: unknown[] = []): Promise<Row[]> {
    if (unmatchable(params)) return [];
    try {
      return (await query(this.pool, sql, params)).rows;
    } catch (error) {
      throw postgresError(error);
    }
  }

  private async one(sql: string, params: unknown[] = []): Promise<Row | null> {
    return (await this.rows(sql, params))[0] ?? null;
  }

  /** Runs a write in the next group-commit batch, after locking the rows of `orgs`. */
  private async write<T>(orgs: readonly string[], fn: WriteFn<T>): Promise<T> {
    if (this.closed) throw new Error('store is closed');
    try {
      const value = await this.writer.run(
        orgs.filter((o) => !o.includes(NUL)),
        fn,
      );
      this.failing = false;
      return value;
    } catch (error) {
      // A NUL that slipped past the explicit checks (character_not_in_repertoire, untranslatable_character).
      const code = (error as { code?: string }).code;
      if (code === '22021' || code === '22P05')
        throw new UnstorableValue('request', 'contains a character that cannot be stored');
      const classified = postgresError(error);
      if (classified instanceof StorageUnavailable) this.failing = true;
      throw classified;
    }
  }

  private async nextSeq(c: pg.ClientBase, orgID: string): Promise<number> {
    const r = await query<{ event_seq: string }>(
      c,
      'UPDATE orgs SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq',
      [orgID],
    );
    const row = r.rows[0];
    if (row === undefined) throw new NotFoundInStore('org');
    return Number(row.event_seq);
  }

  private async appendEvent(
    c: pg.ClientBase,
    orgID: string,
    seq: number,
    type: StoredEventType,
    memberID: string,
    conversationID: string,
    payload: unknown,
    message: MessageRecord | null,
  ): Promise<StoredEvent> {
    await query(
      c,
      'INSERT INTO events (org_id, seq, type, member_id, conversation_id, payload) VALUES ($1, $2, $3, $4, $5, $6)',
      [orgID, seq, type, memberID, conversationID, payload === null ? null : JSON.stringify(payload)],
    );
    return { orgID, seq, type, memberID, conversationID, message, payload };
  }

  /**
   * Records the idempotency key in the write's own transaction. A live key already there means another request
   * (on any instance) committed first: throwing rolls this op's savepoint back, and the caller replays the
   * winner's answer. A key past its lifetime is taken over.
   */
  private async recordIdem<T>(c: pg.ClientBase, idem: IdempotencyWrite<T> | undefined, value: T): Promise<void> {
    if (idem === undefined) return;
    const { orgID, principal, key } = idem.scope;
    storable({ 'Idempotency-Key': key });
    const response = idem.render(value);
    const now = Date.now();
    const r = await query(
      c,
      `INSERT INTO idempotency_keys (org_id, principal, key, fingerprint, status, body, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (org_id, principal, key) DO UPDATE
         SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, body = EXCLUDED.body,
             created_at = EXCLUDED.created_at
         WHERE idempotency_keys.created_at < $8`,
      [orgID, principal, key, idem.fingerprint, response.status, response.body, now, now - IDEMPOTENCY_TTL_MS],
    );
    if (r.rowCount === 0) throw new IdempotencyKeyTaken();
  }

  async serverSecret(): Promise<Uint8Array> {
    if (this.secret === null) {
      const row = await this.one(`SELECT value FROM meta WHERE key = 'server_secret'`);
      if (row === null) throw new Error('database has no server secret: was it migrated?');
      this.secret = new Uint8Array(row.value as Buffer);
    }
    return this.secret;
  }

  // ---- orgs and keys ----

  async createOrg(name: string): Promise<OrgRecord> {
    storable({ name });
    return this.write([], async (c) => {
      const org: OrgRecord = {
        id: newID('org'),
        name,
        signingSecret: new Uint8Array(randomBytes(32)),
        createdAt: nowISO(),
      };
      await query(c, 'INSERT INTO orgs (id, name, signing_secret, created_at) VALUES ($1, $2, $3, $4)', [
        org.id,
        org.name,
        Buffer.from(org.signingSecret),
        org.createdAt,
      ]);
      return { value: org, events: [] };
    });
  }

  async createFirstOrg(name: string, key: { id: string; hash: string; hint: string }): Promise<OrgRecord | null> {
    storable({ name });
    return this.write([], async (c) => {
      // Instances starting together on an empty database queue here; the first creates the org, the rest see it.
      await query(c, 'SELECT pg_advisory_xact_lock($1)', [FIRST_ORG_LOCK]);
      const existing = await query(c, 'SELECT 1 FROM orgs LIMIT 1', []);
      if (existing.rows.length > 0) return { value: null, events: [] };
      const org: OrgRecord = {
        id: newID('org'),
        name,
        signingSecret: new Uint8Array(randomBytes(32)),
        createdAt: nowISO(),
      };
      await query(c, 'INSERT INTO orgs (id, name, signing_secret, created_at) VALUES ($1, $2, $3, $4)', [
        org.id,
        org.name,
        Buffer.from(org.signingSecret),
        org.createdAt,
      ]);
      await query(c, 'INSERT INTO api_keys (id, org_id, hash, hint, created_at) VALUES ($1, $2, $3, $4, $5)', [
        key.id,
        org.id,
        key.hash,
        key.hint,
        org.createdAt,
      ]);
      return { value: org, events: [] };
    });
  }

  async getOrg(orgID: string): Promise<OrgRecord | null> {
    const r = await this.one('SELECT * FROM orgs WHERE id = $1', [orgID]);
    return r === null ? null : toOrg(r);
  }

  async listOrgs(): Promise<OrgRecord[]> {
    return (await this.rows('SELECT * FROM orgs ORDER BY created_at, id')).map(toOrg);
  }

  async createApiKey(orgID: string, key: { id: string; hash: string; hint: string }): Promise<ApiKeyRecord> {
    return this.write([orgID], async (c) => {
      const org = await query(c, 'SELECT 1 FROM orgs WHERE id = $1', [orgID]);
      if (org.rowCount === 0) throw new NotFoundInStore('org');
      const createdAt = nowISO();
      await query(c, 'INSERT INTO api_keys (id, org_id, hash, hint, created_at) VALUES ($1, $2, $3, $4, $5)', [
        key.id,
        orgID,
        key.hash,
        key.hint,
        createdAt,
      ]);
      return { value: { id: key.id, orgID, hint: key.hint, createdAt, revokedAt: null }, events: [] };
    });
  }

  async listApiKeys(orgID: string): Promise<ApiKeyRecord[]> {
    return (await this.rows('SELECT * FROM api_keys WHERE org_id = $1 ORDER BY created_at, id', [orgID])).map(toApiKey);
  }

  async revokeApiKey(orgID: string, keyID: string): Promise<boolean> {
    if (unmatchable([orgID, keyID])) return false;
    return this.write([orgID], async (c) => {
      const r = await query(
        c,
        'UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL',
        [nowISO(), orgID, keyID],
      );
      return { value: (r.rowCount ?? 0) > 0, events: [] };
    });
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const r = await this.one('SELECT * FROM api_keys WHERE hash = $1 AND revoked_at IS NULL', [hash]);
    return r === null ? null : toApiKey(r);
  }

  // ---- members ----

  async upsertMember(
    orgID: string,
    externalUserID: string,
    profile: MemberProfile,
    mode: 'merge' | 'replace',
    idem?: IdempotencyWrite<MemberRecord>,
  ): Promise<MemberRecord> {
    storable({ externalUserID, displayName: profile.displayName, email: profile.email, tier: profile.tier });
    return this.write([orgID], async (c) => {
      const now = nowISO();
      const existing = (
        await query(c, 'SELECT * FROM members WHERE org_id = $1 AND external_user_id = $2', [orgID, externalUserID])
      ).rows[0] as Row | undefined;
      let member: MemberRecord;
      if (existing === undefined) {
        member = {
          id: newID('mem'),
          orgID,
          externalUserID,
          displayName: profile.displayName ?? null,
          email: profile.email ?? null,
          tier: profile.tier ?? null,
          tokensValidAfter: 0,
          createdAt: now,
          updatedAt: now,
        };
        await query(
          c,
          `INSERT INTO members (id, org_id, external_user_id, display_name, email, tier, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [member.id, orgID, externalUserID, member.displayName, member.email, member.tier, now, now],
        );
      } else {
        const old = toMember(existing);
        const pick = (k: keyof MemberProfile): string | null =>
          profile[k] !== undefined ? (profile[k] ?? null) : mode === 'replace' ? null : old[k];
        member = { ...old, displayName: pick('displayName'), email: pick('email'), tier: pick('tier'), updatedAt: now };
        await query(c, 'UPDATE members SET display_name = $1, email = $2, tier = $3, updated_at = $4 WHERE id = $5', [
          member.displayName,
          member.email,
          member.tier,
          now,
          member.id,
        ]);
      }
      await this.recordIdem(c, idem, member);
      return { value: member, events: [] };
    });
  }

  async getMember(orgID: string, externalUserID: string): Promise<MemberRecord | null> {
    const r = await this.one('SELECT * FROM members WHERE org_id = $1 AND external_user_id = $2', [
      orgID,
      externalUserID,
    ]);
    return r === null ? null : toMember(r);
  }

  async getMemberByID(memberID: string): Promise<MemberRecord | null> {
    const r = await this.one('SELECT * FROM members WHERE id = $1', [memberID]);
    return r === null ? null : toMember(r);
  }

  async deleteMember(orgID: string, externalUserID: string): Promise<boolean> {
    if (unmatchable([orgID, externalUserID])) return false;
    return this.write([orgID], async (c) => {
      const r = (
        await query(c, 'SELECT id FROM members WHERE org_id = $1 AND external_user_id = $2', [orgID, externalUserID])
      ).rows[0] as Row | undefined;
      if (r === undefined) return { value: false, events: [] };
      const id = r.id as string;
      await query(
        c,
        'DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE member_id = $1)',
        [id],
      );
      await query(c, 'DELETE FROM events WHERE member_id = $1', [id]);
      await query(c, 'DELETE FROM conversations WHERE member_id = $1', [id]);
      await query(c, 'DELETE FROM members WHERE id = $1', [id]);
      return { value: true, events: [] };
    });
  }

  async revokeMemberTokens(
    orgID: string,
    externalUserID: string,
    at: number,
    idem?: IdempotencyWrite<MemberRecord | null>,
  ): Promise<MemberRecord | null> {
    if (unmatchable([orgID, externalUserID])) return null;
    return this.write([orgID], async (c) => {
      const r = (
        await query(
          c,
          `UPDATE members SET tokens_valid_after = GREATEST(tokens_valid_after, $1), updated_at = $2
           WHERE org_id = $3 AND external_user_id = $4 RETURNING *`,
          [at, nowISO(), orgID, externalUserID],
        )
      ).rows[0] as Row | undefined;
      const member = r === undefined ? null : toMember(r);
      await this.recordIdem(c, idem, member);
      return { value: member, events: [] };
    });
  }

  // ---- conversations and messages ----

  async createConversation(
    input: NewConversation,
    idem?: IdempotencyWrite<ConversationRecord>,
  ): Promise<ConversationRecord> {
    storable({ type: input.type, title: input.title });
    if (unmatchable([input.orgID, input.memberID])) throw new NotFoundInStore('member');
    return this.write([input.orgID], async (c) => {
      // The counter moves only when the member is there (the CTE's UPDATE is conditional on it).
      const head = (
        await query(
          c,
          `WITH m AS (SELECT external_user_id FROM members WHERE id = $1 AND org_id = $2),
                s AS (UPDATE orgs SET event_seq = event_seq + 1 WHERE id = $2 AND EXISTS (SELECT 1 FROM m)
                      RETURNING event_seq)
           SELECT s.event_seq, m.external_user_id FROM s, m`,
          [input.memberID, input.orgID],
        )
      ).rows[0] as Row | undefined;
      if (head === undefined) throw new NotFoundInStore('member');
      const seq = Number(head.event_seq);
      const conversation: ConversationRecord = {
        id: newID('conv'),
        orgID: input.orgID,
        memberID: input.memberID,
        externalUserID: head.external_user_id as string,
        type: input.type,
        title: input.title,
        createdAt: nowISO(),
        lastMessageAt: null,
        lastSeq: seq,
        memberReadSeq: 0,
        conciergeReadSeq: 0,
        unreadCount: 0,
      };
      await query(
        c,
        `INSERT INTO conversations (id, org_id, member_id, type, title, created_at, last_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          conversation.id,
          conversation.orgID,
          conversation.memberID,
          conversation.type,
          conversation.title,
          conversation.createdAt,
          seq,
        ],
      );
      const event = await this.appendEvent(
        c,
        input.orgID,
        seq,
        'conversation',
        input.memberID,
        conversation.id,
        conversation,
        null,
      );
      await this.recordIdem(c, idem, conversation);
      return { value: conversation, events: [event] };
    });
  }

  async getConversation(orgID: string, conversationID: string): Promise<ConversationRecord | null> {
    const r = await this.one(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.id = c.member_id
       WHERE c.org_id = $1 AND c.id = $2`,
      [orgID, conversationID],
    );
    return r === null ? null : toConversation(r);
  }

  async listConversations(orgID: string, memberID: string): Promise<ConversationRecord[]> {
    const rows = await this.rows(
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.id = c.member_id
       WHERE c.member_id = $1 AND c.org_id = $2 ORDER BY c.last_seq DESC`,
      [memberID, orgID],
    );
    return rows.map(toConversation);
  }

  async insertMessage(input: NewMessage, idem?: IdempotencyWrite<MessageRecord>): Promise<MessageRecord> {
    storable({ message: input.body, type: input.type, authorID: input.authorID });
    if (unmatchable([input.orgID, input.conversationID])) throw new NotFoundInStore('conversation');
    return this.write([input.orgID], async (c) => {
      const id = newID('msg');
      const createdAt = nowISO();
      // The hot path in one round trip: take the seq, insert the message and its event, touch the conversation.
      // Every part hangs off `s`, whose UPDATE only happens when the conversation exists in this org.
      const r = (
        await query(
          c,
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
          [
            input.conversationID,
            input.orgID,
            id,
            input.type,
            input.authorID,
            input.body,
            input.via,
            createdAt,
            // Messages from the other side count as unread for the member until their read mark passes them.
            input.type === 'member' ? 0 : 1,
          ],
        )
      ).rows[0] as Row | undefined;
      if (r === undefined) throw new NotFoundInStore('conversation');
      const seq = Number(r.event_seq);
      const message: MessageRecord = {
        id,
        orgID: input.orgID,
        conversationID: input.conversationID,
        seq,
        type: input.type,
        authorID: input.authorID,
        body: input.body,
        via: input.via,
        createdAt,
      };
      const event: StoredEvent = {
        orgID: input.orgID,
        seq,
        type: 'message',
        memberID: r.member_id as string,
        conversationID: input.conversationID,
        message,
        payload: null,
      };
      await this.recordIdem(c, idem, message);
      return { value: message, events: [event] } satisfies WriteResult<MessageRecord>;
    });
  }

  async getMessage(conversationID: string, messageID: string): Promise<MessageRecord | null> {
    const r = await this.one('SELECT * FROM messages WHERE conversation_id = $1 AND id = $2', [
      conversationID,
      messageID,
    ]);
    return r === null ? null : toMessage(r);
  }

  async listMessagesBefore(conversationID: string, beforeSeq: number | null, limit: number): Promise<MessageRecord[]> {
    const rows =
      beforeSeq === null
        ? await this.rows('SELECT * FROM messages WHERE conversation_id = $1 ORDER BY seq DESC LIMIT $2', [
            conversationID,
            limit,
          ])
        : await this.rows('SELECT * FROM messages WHERE conversation_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3', [
            conversationID,
            beforeSeq,
            limit,
          ]);
    return rows.map(toMessage);
  }

  async listMessagesAfter(conversationID: string, afterSeq: number, limit: number): Promise<MessageRecord[]> {
    const rows = await this.rows(
      'SELECT * FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [conversationID, afterSeq, limit],
    );
    return rows.map(toMessage);
  }

  async latestMessageSeq(conversationID: string): Promise<number> {
    const r = await this.one('SELECT max(seq) AS seq FROM messages WHERE conversation_id = $1', [conversationID]);
    return Number(r?.seq ?? 0);
  }

  async markRead(mark: ReadMark, idem?: IdempotencyWrite<ReadMarkResult>): Promise<ReadMarkResult> {
    if (unmatchable([mark.orgID, mark.conversationID, mark.messageID])) throw new NotFoundInStore('message');
    storable({ readerID: mark.readerID });
    return this.write([mark.orgID], async (c) => {
      const message = (
        await query(c, 'SELECT seq, org_id FROM messages WHERE conversation_id = $1 AND id = $2', [
          mark.conversationID,
          mark.messageID,
        ])
      ).rows[0] as Row | undefined;
      if (message === undefined || message.org_id !== mark.orgID) throw new NotFoundInStore('message');
      const target = Number(message.seq);
      // The mark only moves forward; the member's unread count is recounted over what is still after it.
      const update =
        mark.reader === 'member'
          ? `UPDATE conversations SET member_read_seq = $1, member_unread = (
               SELECT count(*) FROM messages x WHERE x.conversation_id = $2 AND x.seq > $1 AND x.type <> 'member')
             WHERE id = $2 AND member_read_seq < $1`
          : 'UPDATE conversations SET concierge_read_seq = $1 WHERE id = $2 AND concierge_read_seq < $1';
      const moved = ((await query(c, update, [target, mark.conversationID])).rowCount ?? 0) > 0;
      const row = (
        await query(
          c,
          `SELECT ${CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.id = c.member_id
           WHERE c.org_id = $1 AND c.id = $2`,
          [mark.orgID, mark.conversationID],
        )
      ).rows[0] as Row | undefined;
      if (row === undefined) throw new NotFoundInStore('conversation');
      const conversation = toConversation(row);
      const events: StoredEvent[] = [];
      if (moved) {
        const seq = await this.nextSeq(c, mark.orgID);
        const payload = {
          conversationID: mark.conversationID,
          reader: mark.reader,
          readerID: mark.readerID,
          messageID: mark.messageID,
          readAt: nowISO(),
          unreadCount: conversation.unreadCount,
        };
        events.push(
          await this.appendEvent(c, mark.orgID, seq, 'read', conversation.memberID, mark.conversationID, payload, null),
        );
      }
      const result = { conversation, moved };
      await this.recordIdem(c, idem, result);
      return { value: result, events };
    });
  }

  // ---- the event log ----

  async listEventsAfter(
    orgID: string,
    memberID: string | null,
    afterSeq: number,
    limit: number,
  ): Promise<StoredEvent[]> {
    const rows =
      memberID === null
        ? await this.rows(
            `SELECT ${EVENT_COLUMNS} FROM ${EVENT_JOIN} WHERE e.org_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3`,
            [orgID, afterSeq, limit],
          )
        : await this.rows(
            `SELECT ${EVENT_COLUMNS} FROM ${EVENT_JOIN}
             WHERE e.member_id = $1 AND e.org_id = $2 AND e.seq > $3 ORDER BY e.seq LIMIT $4`,
            [memberID, orgID, afterSeq, limit],
          );
    return rows.map(toEvent);
  }

  async latestEventSeq(orgID: string): Promise<number> {
    const r = await this.one('SELECT event_seq FROM orgs WHERE id = $1', [orgID]);
    return Number(r?.event_seq ?? 0);
  }

  // ---- idempotency ----

  async getIdempotency(scope: IdempotencyScope): Promise<IdempotencyRecord | null> {
    const r = await this.one(
      'SELECT fingerprint, status, body, created_at FROM idempotency_keys WHERE org_id = $1 AND principal = $2 AND key = $3',
      [scope.orgID, scope.principal, scope.key],
    );
    if (r === null) return null;
    return {
      fingerprint: r.fingerprint as string,
      status: Number(r.status),
      body: r.body as string,
      createdAt: Number(r.created_at),
    };
  }

  async purgeIdempotency(before: number): Promise<number> {
    return this.write([], async (c) => {
      const r = await query(c, 'DELETE FROM idempotency_keys WHERE created_at < $1', [before]);
      return { value: r.rowCount ?? 0, events: [] };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.live = false;
    // Queued writes still commit (their callers are waiting); then the connections go.
    await this.writer.drain();
    this.feed.close();
    await this.notifier.close();
    await Promise.all([this.pool.end(), this.writerPool.end()]);
  }
}
