import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fdatasync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { eventFromRow } from '../event-row.js';
import { newID, nowISO } from '../ids.js';
import {
  IDEMPOTENCY_TTL_MS,
  IdempotencyKeyTaken,
  NotFoundInStore,
  StorageUnavailable,
  type ApiKeyRecord,
  type CommitListener,
  type Ephemeral,
  type EphemeralListener,
  type ConversationRecord,
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
import { GroupCommit, type WriteResult } from './group-commit.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { sqliteError } from './sqlite-errors.js';
import { walFlushFault } from './wal-flush-fault.js';
import { fatalFlushFailure } from './fatal-flush.js';

export interface SqliteStoreOptions {
  /** A file path, or `:memory:`. */
  filename: string;
  /**
   * `wal-flush` (default): a commit is acknowledged once the write-ahead log is flushed to disk (fdatasync), done
   * off the event loop. `FULL`: SQLite fsyncs inside COMMIT, blocking. Both lose nothing acknowledged on power loss.
   */
  durability?: 'wal-flush' | 'FULL';
  /** Apply pending migrations (default true); when false, a schema behind the code is refused. */
  migrate?: boolean;
  /** Copy the log back into the database file from a worker thread (default true; see checkpointer.ts). */
  backgroundCheckpoints?: boolean;
  /** Where start-up warnings go (files readable by others); default `process.emitWarning`. */
  onWarning?: (message: string) => void;
  /**
   * Called when the write-ahead log could not be flushed after a commit. The default logs and exits the process:
   * see `fatalFlushFailure`.
   */
  onFatal?: (error: Error) => void;
}

type Row = Record<string, unknown>;

const PROBE_BYTES = 64 * 1024;

const CONVERSATION_COLUMNS = `c.id, c.org_id, c.member_id, m.external_user_id, c.type, c.title, c.created_at,
  c.last_message_at, c.last_seq, c.member_read_seq, c.concierge_read_seq, c.member_unread AS unread_count`;

function toOrg(r: Row): OrgRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    signingSecret: new Uint8Array(r.signing_secret as Buffer),
    createdAt: r.created_at as string,
  };
}

function toApiKey(r: Row): ApiKeyRecord {
  return {
    id: r.id as string,
    orgID: r.org_id as string,
    hint: r.hint as string,
    createdAt: r.created_at as string,
    revokedAt: (r.revoked_at as string | null) ?? null,
  };
}

function toMember(r: Row): MemberRecord {
  return {
    id: r.id as string,
    orgID: r.org_id as string,
    externalUserID: r.external_user_id as string,
    displayName: (r.display_name as string | null) ?? null,
    email: (r.email as string | null) ?? null,
    tier: (r.tier as string | null) ?? null,
    tokensValidAfter: Number(r.tokens_valid_after),
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

function toConversation(r: Row): ConversationRecord {
  return {
    id: r.id as string,
    orgID: r.org_id as string,
    memberID: r.member_id as string,
    externalUserID: r.external_user_id as string,
    type: r.type as string,
    title: (r.title as string | null) ?? null,
    createdAt: r.created_at as string,
    lastMessageAt: (r.last_message_at as string | null) ?? null,
    lastSeq: Number(r.last_seq),
    memberReadSeq: Number(r.member_read_seq),
    conciergeReadSeq: Number(r.concierge_read_seq),
    unreadCount: Number(r.unread_count ?? 0),
  };
}

function toMessage(r: Row): MessageRecord {
  return {
    id: r.id as string,
    orgID: r.org_id as string,
    conversationID: r.conversation_id as string,
    seq: Number(r.seq),
    type: r.type as string,
    authorID: r.author_id as string,
    body: (r.body as string | null) ?? null,
    via: r.via as MessageRecord['via'],
    createdAt: r.created_at as string,
  };
}

const PAGE_COLUMNS = 'seq, id, type, author_id, body, via, created_at, org_id';

function pageRow(conversationID: string, r: unknown[]): MessageRecord {
  return {
    id: r[1] as string,
    orgID: r[7] as string,
    conversationID,
    seq: Number(r[0]),
    type: r[2] as string,
    authorID: r[3] as string,
    body: (r[4] as string | null) ?? null,
    via: r[5] as MessageRecord['via'],
    createdAt: r[6] as string,
  };
}

/** The embedded store: one SQLite file in WAL mode, written through group commit. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly writer: GroupCommit;
  private readonly listeners = new Set<CommitListener>();
  private readonly ephemeralListeners = new Set<EphemeralListener>();
  private secret: Uint8Array | null = null;
  private closed = false;
  private readonly s: ReturnType<SqliteStore['prepare']>;

  constructor(options: SqliteStoreOptions) {
    if (options.filename !== ':memory:') secureFiles(options.filename, options.onWarning ?? warn);
    this.onFatal = options.onFatal ?? fatalFlushFailure;
    this.db = new Database(options.filename);
    this.db.pragma('journal_mode = WAL');
    const durability = options.filename === ':memory:' ? 'FULL' : (options.durability ?? 'wal-flush');
    // In wal-flush mode SQLite does not sync at commit (NORMAL); GroupCommit flushes the log before answering.
    this.db.pragma(`synchronous = ${durability === 'FULL' ? 'FULL' : 'NORMAL'}`);
    // Checkpoint less often: a page rewritten by many commits is copied back to the database once, not each time.
    this.db.pragma('wal_autocheckpoint = 10000');
    this.walPath = `${options.filename}-wal`;
    this.syncWal = durability === 'wal-flush';
    this.db.pragma('foreign_keys = ON');
    // Another process (the CLI creating a key while the server runs) may hold the write lock briefly.
    this.db.pragma('busy_timeout = 5000');
    this.migrate(options.migrate ?? true);
    this.s = this.prepare();
    this.writer = new GroupCommit(
      this.db,
      (events) => {
        for (const l of this.listeners) l(events);
      },
      this.syncWal ? (done) => this.flushWal(done) : null,
      (error) => this.onFatal(error),
    );
    if (options.filename !== ':memory:' && options.backgroundCheckpoints !== false) {
      this.checkpointer = new Worker(new URL('./checkpointer.js', import.meta.url), {
        workerData: { filename: options.filename, intervalMs: 20 },
      });
      // Checkpoints are an optimisation: if the worker dies, the writer's own automatic checkpoint still runs.
      this.checkpointer.on('error', () => (this.checkpointer = null));
      this.checkpointer.unref();
    }
  }

  private checkpointer: Worker | null = null;
  private readonly onFatal: (error: Error) => void;
  private failing = false;

  private readonly walPath: string;
  private readonly syncWal: boolean;
  private walFd: number | null = null;

  /**
   * fdatasync of the write-ahead log on the libuv thread pool. Flushing a file flushes all of it, whichever
   * descriptor asks, so our own read-only descriptor serves; SQLite keeps the `-wal` file (same inode) for as long
   * as a connection is open, and this one is open until close().
   */
  private flushWal(done: (error: Error | null) => void): void {
    const fault = walFlushFault();
    if (fault !== null) {
      setImmediate(() => done(fault));
      return;
    }
    if (this.walFd === null) {
      try {
        this.walFd = openSync(this.walPath, 'r');
      } catch (error) {
        done(error as Error);
        return;
      }
    }
    fdatasync(this.walFd, (error) => done(error));
  }

  private migrate(apply: boolean): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > SQLITE_MIGRATIONS.length)
      throw new Error(`database schema v${current} is newer than this build knows (v${SQLITE_MIGRATIONS.length})`);
    if (!apply && current < SQLITE_MIGRATIONS.length)
      throw new Error(
        `database schema v${current} needs migrating to v${SQLITE_MIGRATIONS.length}: run \`concierge migrate\``,
      );
    for (let v = current; v < SQLITE_MIGRATIONS.length; v++) {
      this.db
        .transaction(() => {
          this.db.exec(SQLITE_MIGRATIONS[v]!);
          this.db.pragma(`user_version = ${v + 1}`);
          if (v === 0)
            this.db.prepare(`INSERT INTO meta (key, value) VALUES ('server_secret', ?)`).run(randomBytes(32));
        })
        .immediate();
    }
  }

  private prepare() {
    const db = guardedPrepare(this.db);
    return {
      nextSeq: db.prepare('UPDATE orgs SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq'),
      insertEvent: db.prepare(
        'INSERT INTO events (org_id, seq, type, member_id, conversation_id, payload) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      insertIdem: db.prepare(
        `INSERT INTO idempotency_keys (org_id, principal, key, fingerprint, status, body, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (org_id, principal, key) DO UPDATE SET
           fingerprint = excluded.fingerprint, status = excluded.status, body = excluded.body,
           created_at = excluded.created_at
         WHERE idempotency_keys.created_at < excluded.created_at - ${IDEMPOTENCY_TTL_MS}`,
      ),
      getIdem: db.prepare(
        'SELECT fingerprint, status, body, created_at FROM idempotency_keys WHERE org_id = ? AND principal = ? AND key = ?',
      ),
      purgeIdem: db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?'),
      getOrg: db.prepare('SELECT * FROM orgs WHERE id = ?'),
      listOrgs: db.prepare('SELECT * FROM orgs ORDER BY created_at, id'),
      insertOrg: db.prepare('INSERT INTO orgs (id, name, signing_secret, created_at) VALUES (?, ?, ?, ?)'),
      insertKey: db.prepare('INSERT INTO api_keys (id, org_id, hash, hint, created_at) VALUES (?, ?, ?, ?, ?)'),
      listKeys: db.prepare('SELECT * FROM api_keys WHERE org_id = ? ORDER BY created_at, id'),
      revokeKey: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE org_id = ? AND id = ? AND revoked_at IS NULL'),
      keyByHash: db.prepare('SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL'),
      getMember: db.prepare('SELECT * FROM members WHERE org_id = ? AND external_user_id = ?'),
      getMemberByID: db.prepare('SELECT * FROM members WHERE id = ?'),
      insertMember: db.prepare(
        `INSERT INTO members (id, org_id, external_user_id, display_name, email, tier, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateMember: db.prepare('UPDATE members SET display_name = ?, email = ?, tier = ?, updated_at = ? WHERE id = ?'),
      revokeMember: db.prepare(
        'UPDATE members SET tokens_valid_after = max(tokens_valid_after, ?), updated_at = ? WHERE id = ?',
      ),
      deleteMemberMessages: db.prepare(
        'DELETE FROM messages WHERE conversation_id IN (SELECT id FROM conversations WHERE member_id = ?)',
      ),
      deleteMemberEvents: db.prepare('DELETE FROM events WHERE member_id = ?'),
      deleteMemberConversations: db.prepare('DELETE FROM conversations WHERE member_id = ?'),
      deleteMember: db.prepare('DELETE FROM members WHERE id = ?'),
      insertConversation: db.prepare(
        `INSERT INTO conversations (id, org_id, member_id, type, title, created_at, last_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      getConversation: db.prepare(
        `SELECT ${CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.id = c.member_id
         WHERE c.org_id = ? AND c.id = ?`,
      ),
      listConversations: db.prepare(
        `SELECT ${CONVERSATION_COLUMNS} FROM conversations c JOIN members m ON m.id = c.member_id
         WHERE c.member_id = ? AND c.org_id = ? ORDER BY c.last_seq DESC`,
      ),
      conversationHead: db.prepare('SELECT member_id FROM conversations WHERE id = ? AND org_id = ?'),
      touchConversation: db.prepare(
        `UPDATE conversations SET last_message_at = ?, last_seq = ?, member_unread = member_unread + ? WHERE id = ?`,
      ),
      insertMessage: db.prepare(
        `INSERT INTO messages (conversation_id, seq, id, org_id, type, author_id, body, via, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getMessage: db.prepare('SELECT * FROM messages WHERE conversation_id = ? AND id = ?'),
      // Pages are read as arrays of named columns (`raw`), not objects: half the cost per row on the list path.
      messagesBefore: db.prepareRaw(
        `SELECT ${PAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
      ),
      messagesLatest: db.prepareRaw(
        `SELECT ${PAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?`,
      ),
      messagesAfter: db.prepareRaw(
        `SELECT ${PAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
      ),
      latestMessageSeq: db.prepare('SELECT max(seq) AS seq FROM messages WHERE conversation_id = ?'),
      // The mark only moves forward; the unread count is recounted over what is still after it (usually few rows).
      setMemberRead: db.prepare(
        `UPDATE conversations SET member_read_seq = @seq,
           member_unread = (SELECT count(*) FROM messages x WHERE x.conversation_id = @id AND x.seq > @seq AND x.type <> 'member')
         WHERE id = @id AND member_read_seq < @seq`,
      ),
      setConciergeRead: db.prepare(
        'UPDATE conversations SET concierge_read_seq = @seq WHERE id = @id AND concierge_read_seq < @seq',
      ),
      eventsAfterOrg: db.prepare(
        `SELECT e.org_id, e.seq, e.type, e.member_id, e.conversation_id, e.payload,
                m.id AS m_id, m.type AS m_type, m.author_id AS m_author_id, m.body AS m_body, m.via AS m_via,
                m.created_at AS m_created_at
         FROM events e LEFT JOIN messages m ON e.type = 'message' AND m.conversation_id = e.conversation_id AND m.seq = e.seq
         WHERE e.org_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`,
      ),
      eventsAfterMember: db.prepare(
        `SELECT e.org_id, e.seq, e.type, e.member_id, e.conversation_id, e.payload,
                m.id AS m_id, m.type AS m_type, m.author_id AS m_author_id, m.body AS m_body, m.via AS m_via,
                m.created_at AS m_created_at
         FROM events e LEFT JOIN messages m ON e.type = 'message' AND m.conversation_id = e.conversation_id AND m.seq = e.seq
         WHERE e.member_id = ? AND e.org_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`,
      ),
      latestEventSeq: db.prepare('SELECT event_seq FROM orgs WHERE id = ?'),
      spendTicket: db.prepare('INSERT INTO spent_tickets (nonce, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      purgeTickets: db.prepare('DELETE FROM spent_tickets WHERE expires_at < ?'),
      probe: db.prepare(
        `INSERT INTO meta (key, value) VALUES ('write_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      ),
    };
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One process owns a SQLite file: every signal is delivered in place, none can be missed. */
  notificationsLive(): boolean {
    return true;
  }

  onResync(): () => void {
    return () => {};
  }

  writesFailing(): boolean {
    return this.failing;
  }

  /**
   * As large as a big message, not a byte: on a full disk a tiny write may still fit in space the log already
   * holds, while the writes clients make do not.
   */
  async probeWrite(): Promise<void> {
    await this.write(() => {
      this.s.probe.run(randomBytes(PROBE_BYTES));
      return { value: undefined, events: [] };
    });
  }

  async spendTicket(nonce: string, expiresAt: number): Promise<boolean> {
    return this.write(() => ({ value: this.s.spendTicket.run(nonce, expiresAt).changes > 0, events: [] }));
  }

  async purgeSpentTickets(now: number): Promise<number> {
    return this.write(() => ({ value: this.s.purgeTickets.run(now).changes, events: [] }));
  }

  /** One process owns a SQLite file, so "every instance" is this one: deliver in place. */
  publishEphemeral(message: Ephemeral): void {
    for (const l of this.ephemeralListeners) l(message);
  }

  onEphemeral(listener: EphemeralListener): () => void {
    this.ephemeralListeners.add(listener);
    return () => this.ephemeralListeners.delete(listener);
  }

  async serverSecret(): Promise<Uint8Array> {
    if (this.secret === null) {
      const row = guardedPrepare(this.db).prepare(`SELECT value FROM meta WHERE key = 'server_secret'`).get() as Row;
      this.secret = new Uint8Array(row.value as Buffer);
    }
    return this.secret;
  }

  // ---- writes: each runs inside the group-commit transaction ----

  private nextSeq(orgID: string): number {
    const row = this.s.nextSeq.get(orgID) as Row | undefined;
    if (row === undefined) throw new NotFoundInStore('org');
    return Number(row.event_seq);
  }

  private appendEvent(
    orgID: string,
    seq: number,
    type: StoredEventType,
    memberID: string,
    conversationID: string,
    payload: unknown,
    message: MessageRecord | null,
  ): StoredEvent {
    this.s.insertEvent.run(
      orgID,
      seq,
      type,
      memberID,
      conversationID,
      payload === null ? null : JSON.stringify(payload),
    );
    return { orgID, seq, type, memberID, conversationID, message, payload };
  }

  private recordIdem<T>(idem: IdempotencyWrite<T> | undefined, value: T): void {
    if (idem === undefined) return;
    const response = idem.render(value);
    const { orgID, principal, key } = idem.scope;
    const info = this.s.insertIdem.run(
      orgID,
      principal,
      key,
      idem.fingerprint,
      response.status,
      response.body,
      Date.now(),
    );
    // Another request committed this key first (an expired record was replaced instead): roll this write back
    // (the savepoint does) and let it replay.
    if (info.changes === 0) throw new IdempotencyKeyTaken();
  }

  private async write<T>(fn: () => WriteResult<T>): Promise<T> {
    if (this.closed) throw new Error('store is closed');
    try {
      const value = await this.writer.run(fn);
      this.failing = false;
      return value;
    } catch (error) {
      // BEGIN and COMMIT fail outside the guarded statements (group-commit.ts): classify here too.
      const classified = sqliteError(error);
      if (classified instanceof StorageUnavailable) this.failing = true;
      throw classified;
    }
  }

  async createOrg(name: string): Promise<OrgRecord> {
    return this.write(() => {
      const org: OrgRecord = {
        id: newID('org'),
        name,
        signingSecret: new Uint8Array(randomBytes(32)),
        createdAt: nowISO(),
      };
      this.s.insertOrg.run(org.id, org.name, Buffer.from(org.signingSecret), org.createdAt);
      return { value: org, events: [] };
    });
  }

  async createFirstOrg(name: string, key: { id: string; hash: string; hint: string }): Promise<OrgRecord | null> {
    return this.write(() => {
      if (this.s.listOrgs.all().length > 0) return { value: null, events: [] };
      const org: OrgRecord = {
        id: newID('org'),
        name,
        signingSecret: new Uint8Array(randomBytes(32)),
        createdAt: nowISO(),
      };
      this.s.insertOrg.run(org.id, org.name, Buffer.from(org.signingSecret), org.createdAt);
      this.s.insertKey.run(key.id, org.id, key.hash, key.hint, org.createdAt);
      return { value: org, events: [] };
    });
  }

  async getOrg(orgID: string): Promise<OrgRecord | null> {
    const r = this.s.getOrg.get(orgID) as Row | undefined;
    return r === undefined ? null : toOrg(r);
  }

  async listOrgs(): Promise<OrgRecord[]> {
    return (this.s.listOrgs.all() as Row[]).map(toOrg);
  }

  async createApiKey(orgID: string, key: { id: string; hash: string; hint: string }): Promise<ApiKeyRecord> {
    return this.write(() => {
      if (this.s.getOrg.get(orgID) === undefined) throw new NotFoundInStore('org');
      const createdAt = nowISO();
      this.s.insertKey.run(key.id, orgID, key.hash, key.hint, createdAt);
      return { value: { id: key.id, orgID, hint: key.hint, createdAt, revokedAt: null }, events: [] };
    });
  }

  async listApiKeys(orgID: string): Promise<ApiKeyRecord[]> {
    return (this.s.listKeys.all(orgID) as Row[]).map(toApiKey);
  }

  async revokeApiKey(orgID: string, keyID: string): Promise<boolean> {
    return this.write(() => ({ value: this.s.revokeKey.run(nowISO(), orgID, keyID).changes > 0, events: [] }));
  }

  async findApiKeyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const r = this.s.keyByHash.get(hash) as Row | undefined;
    return r === undefined ? null : toApiKey(r);
  }

  async upsertMember(
    orgID: string,
    externalUserID: string,
    profile: MemberProfile,
    mode: 'merge' | 'replace',
    idem?: IdempotencyWrite<MemberRecord>,
  ): Promise<MemberRecord> {
    return this.write(() => {
      const now = nowISO();
      const existing = this.s.getMember.get(orgID, externalUserID) as Row | undefined;
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
        this.s.insertMember.run(
          member.id,
          orgID,
          externalUserID,
          member.displayName,
          member.email,
          member.tier,
          now,
          now,
        );
      } else {
        const old = toMember(existing);
        const pick = (k: keyof MemberProfile): string | null =>
          profile[k] !== undefined ? (profile[k] ?? null) : mode === 'replace' ? null : old[k];
        member = { ...old, displayName: pick('displayName'), email: pick('email'), tier: pick('tier'), updatedAt: now };
        this.s.updateMember.run(member.displayName, member.email, member.tier, now, member.id);
      }
      this.recordIdem(idem, member);
      return { value: member, events: [] };
    });
  }

  async getMember(orgID: string, externalUserID: string): Promise<MemberRecord | null> {
    const r = this.s.getMember.get(orgID, externalUserID) as Row | undefined;
    return r === undefined ? null : toMember(r);
  }

  async getMemberByID(memberID: string): Promise<MemberRecord | null> {
    const r = this.s.getMemberByID.get(memberID) as Row | undefined;
    return r === undefined ? null : toMember(r);
  }

  async deleteMember(orgID: string, externalUserID: string): Promise<boolean> {
    return this.write(() => {
      const r = this.s.getMember.get(orgID, externalUserID) as Row | undefined;
      if (r === undefined) return { value: false, events: [] };
      const id = r.id as string;
      this.s.deleteMemberMessages.run(id);
      this.s.deleteMemberEvents.run(id);
      this.s.deleteMemberConversations.run(id);
      this.s.deleteMember.run(id);
      return { value: true, events: [] };
    });
  }

  async revokeMemberTokens(
    orgID: string,
    externalUserID: string,
    at: number,
    idem?: IdempotencyWrite<MemberRecord | null>,
  ): Promise<MemberRecord | null> {
    return this.write(() => {
      const r = this.s.getMember.get(orgID, externalUserID) as Row | undefined;
      let member: MemberRecord | null = null;
      if (r !== undefined) {
        this.s.revokeMember.run(at, nowISO(), r.id);
        member = toMember(this.s.getMemberByID.get(r.id) as Row);
      }
      this.recordIdem(idem, member);
      return { value: member, events: [] };
    });
  }

  async createConversation(
    input: NewConversation,
    idem?: IdempotencyWrite<ConversationRecord>,
  ): Promise<ConversationRecord> {
    return this.write(() => {
      const member = this.s.getMemberByID.get(input.memberID) as Row | undefined;
      if (member === undefined || member.org_id !== input.orgID) throw new NotFoundInStore('member');
      const seq = this.nextSeq(input.orgID);
      const conversation: ConversationRecord = {
        id: newID('conv'),
        orgID: input.orgID,
        memberID: input.memberID,
        externalUserID: member.external_user_id as string,
        type: input.type,
        title: input.title,
        createdAt: nowISO(),
        lastMessageAt: null,
        lastSeq: seq,
        memberReadSeq: 0,
        conciergeReadSeq: 0,
        unreadCount: 0,
      };
      this.s.insertConversation.run(
        conversation.id,
        conversation.orgID,
        conversation.memberID,
        conversation.type,
        conversation.title,
        conversation.createdAt,
        seq,
      );
      const event = this.appendEvent(
        input.orgID,
        seq,
        'conversation',
        input.memberID,
        conversation.id,
        conversation,
        null,
      );
      this.recordIdem(idem, conversation);
      return { value: conversation, events: [event] };
    });
  }

  async getConversation(orgID: string, conversationID: string): Promise<ConversationRecord | null> {
    const r = this.s.getConversation.get(orgID, conversationID) as Row | undefined;
    return r === undefined ? null : toConversation(r);
  }

  async listConversations(orgID: string, memberID: string): Promise<ConversationRecord[]> {
    return (this.s.listConversations.all(memberID, orgID) as Row[]).map(toConversation);
  }

  async insertMessage(input: NewMessage, idem?: IdempotencyWrite<MessageRecord>): Promise<MessageRecord> {
    return this.write(() => {
      const head = this.s.conversationHead.get(input.conversationID, input.orgID) as Row | undefined;
      if (head === undefined) throw new NotFoundInStore('conversation');
      const seq = this.nextSeq(input.orgID);
      const message: MessageRecord = {
        id: newID('msg'),
        orgID: input.orgID,
        conversationID: input.conversationID,
        seq,
        type: input.type,
        authorID: input.authorID,
        body: input.body,
        via: input.via,
        createdAt: nowISO(),
      };
      this.s.insertMessage.run(
        message.conversationID,
        seq,
        message.id,
        message.orgID,
        message.type,
        message.authorID,
        message.body,
        message.via,
        message.createdAt,
      );
      // Messages from the other side count as unread for the member until their read mark passes them.
      this.s.touchConversation.run(message.createdAt, seq, message.type === 'member' ? 0 : 1, message.conversationID);
      const event = this.appendEvent(
        input.orgID,
        seq,
        'message',
        head.member_id as string,
        input.conversationID,
        null,
        message,
      );
      this.recordIdem(idem, message);
      return { value: message, events: [event] };
    });
  }

  async getMessage(conversationID: string, messageID: string): Promise<MessageRecord | null> {
    const r = this.s.getMessage.get(conversationID, messageID) as Row | undefined;
    return r === undefined ? null : toMessage(r);
  }

  async listMessagesBefore(conversationID: string, beforeSeq: number | null, limit: number): Promise<MessageRecord[]> {
    const rows =
      beforeSeq === null
        ? this.s.messagesLatest.all(conversationID, limit)
        : this.s.messagesBefore.all(conversationID, beforeSeq, limit);
    return (rows as unknown[][]).map((r) => pageRow(conversationID, r));
  }

  async listMessagesAfter(conversationID: string, afterSeq: number, limit: number): Promise<MessageRecord[]> {
    return (this.s.messagesAfter.all(conversationID, afterSeq, limit) as unknown[][]).map((r) =>
      pageRow(conversationID, r),
    );
  }

  async latestMessageSeq(conversationID: string): Promise<number> {
    const r = this.s.latestMessageSeq.get(conversationID) as Row | undefined;
    return Number(r?.seq ?? 0);
  }

  async markRead(mark: ReadMark, idem?: IdempotencyWrite<ReadMarkResult>): Promise<ReadMarkResult> {
    return this.write(() => {
      const message = this.s.getMessage.get(mark.conversationID, mark.messageID) as Row | undefined;
      if (message === undefined || message.org_id !== mark.orgID) throw new NotFoundInStore('message');
      const target = Number(message.seq);
      const stmt = mark.reader === 'member' ? this.s.setMemberRead : this.s.setConciergeRead;
      const moved = stmt.run({ seq: target, id: mark.conversationID }).changes > 0;
      const conversation = toConversation(this.s.getConversation.get(mark.orgID, mark.conversationID) as Row);
      const events: StoredEvent[] = [];
      if (moved) {
        const seq = this.nextSeq(mark.orgID);
        const payload = {
          conversationID: mark.conversationID,
          reader: mark.reader,
          readerID: mark.readerID,
          messageID: mark.messageID,
          readAt: nowISO(),
          unreadCount: conversation.unreadCount,
        };
        events.push(
          this.appendEvent(mark.orgID, seq, 'read', conversation.memberID, mark.conversationID, payload, null),
        );
      }
      const result = { conversation, moved };
      this.recordIdem(idem, result);
      return { value: result, events };
    });
  }

  async listEventsAfter(
    orgID: string,
    memberID: string | null,
    afterSeq: number,
    limit: number,
  ): Promise<StoredEvent[]> {
    const rows = (
      memberID === null
        ? this.s.eventsAfterOrg.all(orgID, afterSeq, limit)
        : this.s.eventsAfterMember.all(memberID, orgID, afterSeq, limit)
    ) as Row[];
    return rows.map((r) => eventFromRow(r, toMessage));
  }

  async latestEventSeq(orgID: string): Promise<number> {
    const r = this.s.latestEventSeq.get(orgID) as Row | undefined;
    return Number(r?.event_seq ?? 0);
  }

  async getIdempotency(scope: IdempotencyScope): Promise<IdempotencyRecord | null> {
    const r = this.s.getIdem.get(scope.orgID, scope.principal, scope.key) as Row | undefined;
    if (r === undefined) return null;
    return {
      fingerprint: r.fingerprint as string,
      status: Number(r.status),
      body: r.body as string,
      createdAt: Number(r.created_at),
    };
  }

  async purgeIdempotency(before: number): Promise<number> {
    return this.write(() => ({ value: this.s.purgeIdem.run(before).changes, events: [] }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.writer.flush();
    this.closed = true;
    await this.writer.drain();
    if (this.checkpointer !== null) {
      const worker = this.checkpointer;
      this.checkpointer = null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 2000);
        worker.once('message', () => {
          clearTimeout(timer);
          resolve();
        });
        worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        worker.postMessage('stop');
      });
      await worker.terminate();
    }
    if (this.walFd !== null) closeSync(this.walFd);
    this.db.close();
  }
}

function warn(message: string): void {
  process.emitWarning(message, { code: 'CONCIERGE_FILE_MODE' });
}

/**
 * The database holds every org's signing secret: its directory is made 0700 and the file 0600 when we create
 * them (SQLite gives the -wal and -shm files the database file's mode), and existing ones that group or others
 * may read are reported, not changed (an operator may have reasons, for example a backup group).
 */
function secureFiles(filename: string, onWarning: (message: string) => void): void {
  const dir = dirname(filename);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(filename)) {
    closeSync(openSync(filename, 'a', 0o600));
    chmodSync(filename, 0o600); // the umask may have narrowed it further, never widened: set it exactly
  }
  for (const path of [dir, filename, `${filename}-wal`, `${filename}-shm`]) {
    let mode: number;
    try {
      mode = statSync(path).mode & 0o777;
    } catch {
      continue; // -wal and -shm appear later, with the database file's mode
    }
    if ((mode & 0o077) !== 0)
      onWarning(
        `${path} is readable or writable by group or others (mode ${mode.toString(8).padStart(4, '0')}): it holds every org's signing secret; chmod ${path === dir ? '700' : '600'} it`,
      );
  }
}

type Guarded = Pick<Database.Statement, 'run' | 'get' | 'all'>;

/**
 * Prepares statements whose storage failures (a full disk, an I/O error, …) surface as `StorageUnavailable`,
 * so every read and write of the adapter reports them the same way.
 */
function guardedPrepare(db: Database.Database) {
  const guard = <S extends Guarded>(stmt: S): S => {
    for (const name of ['run', 'get', 'all'] as const) {
      const original = (stmt[name] as (...args: unknown[]) => unknown).bind(stmt);
      (stmt as Record<string, unknown>)[name] = (...args: unknown[]) => {
        try {
          return original(...args);
        } catch (error) {
          throw sqliteError(error);
        }
      };
    }
    return stmt;
  };
  return {
    prepare: (sql: string) => guard(db.prepare(sql)),
    prepareRaw: (sql: string) => guard(db.prepare(sql).raw(true)),
  };
}
