import pg from 'pg';
import type { Connection } from '../connection.js';
import type { ReadQueries, WriteResult, WriteTx } from '../dialect.js';
import { migrate } from '../migrator.js';
import type { Rule } from '../steps.js';
import {
  UnstorableValue,
  type ActivityListener,
  type CommitListener,
  type Ephemeral,
  type EphemeralListener,
  type FeedStats,
  type Interest,
} from '../store.js';
import { EventFeed } from './event-feed.js';
import { GroupCommit } from './group-commit.js';
import { brokerPrefix, NatsWakeups } from './nats-wakeups.js';
import { Notifier } from './notifier.js';
import { postgresError } from './postgres-errors.js';
import { POSTGRES_MIGRATIONS, postgresMigrationTarget } from './postgres-migrations.js';
import { postgresReads } from './postgres-reads.js';
import { query } from './prepared.js';
import type { WakeupHandlers, Wakeups } from './wakeups.js';

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
  /**
   * `nats://host:port[,nats://…]`: the instances wake each other through this NATS server instead of
   * LISTEN/NOTIFY (nats-wakeups.ts). Every instance on the database must use the same mode.
   */
  broker?: string | undefined;
}

/** With a broker (at-most-once), how often the watched orgs are caught up from the database in any case. */
const BROKER_CATCH_UP_MS = 1000;

const NUL = '\u0000';

/** The database's own secret (made by the first migration): what the broker's subjects are derived from. */
async function serverSecretOf(pool: pg.Pool): Promise<Uint8Array> {
  const { rows } = await query<{ value: Buffer }>(pool, `SELECT value FROM meta WHERE key = 'server_secret'`);
  if (rows[0] === undefined) throw new Error('the database has no server secret: it was not migrated');
  return new Uint8Array(rows[0].value);
}

function connectionConfig(url: string): { config: pg.PoolConfig; poolMax: number } {
  const parsed = new URL(url);
  const raw = parsed.searchParams.get('pool_max');
  parsed.searchParams.delete('pool_max');
  const poolMax = raw === null ? 10 : Number(raw);
  if (!Number.isInteger(poolMax) || poolMax < 1) throw new Error(`pool_max must be a positive integer, got ${raw}`);
  return { config: { connectionString: parsed.toString() }, poolMax };
}

/**
 * The networked dialect's connections: any number of server instances share one PostgreSQL database.
 *
 * - Writes go through group commit on one writer connection (group-commit.ts); reads use a small pool.
 * - Seqs come from `orgs.event_seq`, bumped inside the writing transaction: its row lock orders an org's writers
 *   across instances, so seqs grow in commit order within an org, as in SQLite.
 * - Fan-out: each committed batch wakes the other instances (orgs and seqs, never rows): one NOTIFY in the
 *   transaction, or with `broker` one NATS message per org after it (wakeups.ts). An instance reads the new rows
 *   by cursor (event-feed.ts) only for the orgs it watches (a local stream needs them), so its commit listeners see
 *   every event of those orgs exactly once, in seq order per org, and an org nobody watches here costs a map
 *   lookup (NOTIFY) or nothing (the broker routes by interest). Ephemeral signals cross on the same channel,
 *   revocations to every instance, best effort: `notificationsLive` says whether the channel is in place, and
 *   `onResync` fires after it came back.
 */
export class PostgresConnection implements Connection {
  readonly kind = 'postgres' as const;
  readonly reads: ReadQueries;
  private readonly listeners = new Set<CommitListener>();
  private readonly activityListeners = new Set<ActivityListener>();
  private readonly ephemeralListeners = new Set<EphemeralListener>();
  private readonly resyncListeners = new Set<() => void>();
  private readonly writer: GroupCommit;
  private readonly wakeups: Wakeups;
  private readonly feed: EventFeed;
  private readonly catchUpTimer: NodeJS.Timeout | null = null;
  private seeded = false;
  private closed = false;
  /** The wake-up channel is in place and its catch-up ran: every notification since reaches this instance. */
  private live = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly writerPool: pg.Pool,
    channel: { listen: pg.ClientConfig } | { broker: string; prefix: string },
    private readonly onError: (error: unknown) => void,
  ) {
    this.reads = postgresReads(pool);
    this.feed = new EventFeed(
      (orgID, after, limit) => this.reads.listEventsAfter(orgID, null, after, limit),
      // The wake-ups of the org must reach this instance before its position is read: none falls in between.
      async (orgID) => {
        await this.wakeups.watch(orgID);
        return this.reads.latestEventSeq(orgID);
      },
      (events) => {
        for (const l of this.listeners) l(events);
      },
      onError,
      (orgID) => this.wakeups.unwatch(orgID),
    );
    const handlers: WakeupHandlers = {
      events: (orgs) => {
        if (orgs === null) void this.catchUpAll();
        else for (const [orgID, seq] of orgs) this.feed.signal(orgID, seq);
        this.activity(orgs === null ? null : [...orgs.keys()]);
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
    };
    this.wakeups =
      'listen' in channel
        ? new Notifier(channel.listen, handlers, (name, payload) =>
            query(this.pool, 'SELECT pg_notify($1, $2)', [name, payload]),
          )
        : new NatsWakeups(channel.broker, channel.prefix, handlers);
    if (this.wakeups.lossy) {
      // A lost broker message delays an org's events until here at most; the read costs one query per instance.
      this.catchUpTimer = setInterval(() => void this.catchUpAll(), BROKER_CATCH_UP_MS);
      this.catchUpTimer.unref();
    }
    this.writer = new GroupCommit(writerPool, this.wakeups.notice, ({ events }) => {
      this.feed.local(events);
      if (events.length === 0) return;
      this.wakeups.committed(events);
      this.activity([...new Set(events.map((e) => e.orgID))]);
    });
  }

  /** Opens (and by default migrates) the database; several instances may share it. */
  static async open(options: PostgresStoreOptions): Promise<PostgresConnection> {
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
    let connection: PostgresConnection | null = null;
    try {
      const client = await pool.connect();
      // Checked out, the client has no 'error' listener of the pool's; a dropped connection fails the next query.
      const ignore = (): void => {};
      client.on('error', ignore);
      try {
        await migrate(postgresMigrationTarget(client), POSTGRES_MIGRATIONS, options.migrate ?? true);
      } finally {
        client.removeListener('error', ignore);
        client.release();
      }
      const channel =
        options.broker === undefined
          ? { listen: listenConfig }
          : { broker: options.broker, prefix: brokerPrefix(await serverSecretOf(pool)) };
      connection = new PostgresConnection(pool, writerPool, channel, onError);
      await connection.wakeups.start();
      return connection;
    } catch (error) {
      if (connection !== null) await connection.close().catch(() => {});
      else await Promise.all([pool.end(), writerPool.end()]).catch(() => {});
      throw error;
    }
  }

  /**
   * The wake-up channel is in place. After a drop, the counters of the orgs watched here show which moved while
   * nobody listened, and those are read from the last delivered seq. The first time there is nothing to catch up:
   * an org is positioned when it is first watched.
   */
  private async listening(): Promise<void> {
    if (!this.seeded) {
      this.seeded = true;
      return;
    }
    await this.catchUpWatched();
  }

  private async catchUpWatched(): Promise<void> {
    const watched = this.feed.watched();
    if (watched.length === 0) return;
    const { rows } = await query<{ id: string; event_seq: string }>(
      this.pool,
      'SELECT id, event_seq FROM orgs WHERE id = ANY($1::text[])',
      [watched],
    );
    this.feed.catchUp(rows.map((r): [string, number] => [r.id, Number(r.event_seq)]));
  }

  private async catchUpAll(): Promise<void> {
    if (this.closed) return;
    try {
      await this.catchUpWatched();
    } catch (error) {
      this.onError(error);
    }
  }

  async write<T>(orgs: readonly string[], rule: (tx: WriteTx) => Rule<WriteResult<T>>): Promise<T> {
    if (this.closed) throw new Error('store is closed');
    try {
      return await this.writer.run(
        orgs.filter((o) => !o.includes(NUL)),
        rule,
      );
    } catch (error) {
      // A NUL that slipped past the explicit checks (character_not_in_repertoire, untranslatable_character).
      const code = (error as { code?: string }).code;
      if (code === '22021' || code === '22P05')
        throw new UnstorableValue('request', 'contains a character that cannot be stored');
      throw postgresError(error);
    }
  }

  /** PostgreSQL text cannot hold NUL: refuse it by field name (422 VALIDATION), before it can become a 500. */
  storable(fields: Record<string, string | null | undefined>): void {
    for (const [field, value] of Object.entries(fields))
      if (typeof value === 'string' && value.includes(NUL))
        throw new UnstorableValue(field, 'must not contain a NUL character');
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  watch(orgID: string): Interest {
    return this.feed.watch(orgID);
  }

  feedStats(): FeedStats {
    return this.feed.stats();
  }

  onActivity(listener: ActivityListener): () => void {
    this.activityListeners.add(listener);
    return () => this.activityListeners.delete(listener);
  }

  private activity(orgIDs: readonly string[] | null): void {
    for (const l of this.activityListeners) l(orgIDs);
  }

  publishEphemeral(message: Ephemeral): void {
    // In place here at once (the sender's own streams and caches must not wait for a round trip), and to the
    // other instances through the wake-up channel; an echo that comes back is ignored by instance id.
    this.deliverEphemeral(message);
    if (!this.closed) this.wakeups.publish(message);
  }

  onEphemeral(listener: EphemeralListener): () => void {
    this.ephemeralListeners.add(listener);
    return () => this.ephemeralListeners.delete(listener);
  }

  private deliverEphemeral(message: Ephemeral): void {
    for (const l of this.ephemeralListeners) l(message);
  }

  notificationsLive(): boolean {
    return this.live && !this.closed;
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.live = false;
    // Queued writes still commit (their callers are waiting); then the connections go.
    await this.writer.drain();
    this.feed.close();
    if (this.catchUpTimer !== null) clearInterval(this.catchUpTimer);
    await this.wakeups.close();
    await Promise.all([this.pool.end(), this.writerPool.end()]);
  }
}
