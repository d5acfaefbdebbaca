import { closeSync, fdatasync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Connection, WriteResult, WriteTx } from '../dialect.js';
import { migrate, type MigrationTarget } from '../migrator.js';
import { runSync, type Rule } from '../steps.js';
import type { CommitListener, Ephemeral, EphemeralListener } from '../store.js';
import { fatalFlushFailure } from './fatal-flush.js';
import { GroupCommit } from './group-commit.js';
import { sqliteError } from './sqlite-errors.js';
import { secureFiles, warnFileMode } from './sqlite-files.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { SqliteQueries } from './sqlite-queries.js';
import { walFlushFault } from './wal-flush-fault.js';

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
  /** Called when the write-ahead log could not be flushed after a commit; the default exits (fatal-flush.ts). */
  onFatal?: (error: Error) => void;
}

/**
 * The embedded dialect's connection: one SQLite file in WAL mode, written through group commit on the same
 * connection the reads use, with the log flushed off the event loop (see group-commit.ts and ARCHITECTURE.md).
 * One process owns the file, so notifications are delivered in place and can never be missed.
 */
export class SqliteConnection implements Connection {
  readonly kind = 'sqlite' as const;
  readonly reads: SqliteQueries['reads'];
  private readonly tx: WriteTx;
  private readonly writer: GroupCommit;
  private readonly listeners = new Set<CommitListener>();
  private readonly ephemeralListeners = new Set<EphemeralListener>();
  private checkpointer: Worker | null = null;
  private readonly walPath: string;
  private walFd: number | null = null;
  private closed = false;

  private constructor(
    private readonly db: Database.Database,
    options: SqliteStoreOptions,
    syncWal: boolean,
  ) {
    const queries = new SqliteQueries(db);
    this.reads = queries.reads;
    this.tx = queries.tx;
    this.walPath = `${options.filename}-wal`;
    const onFatal = options.onFatal ?? fatalFlushFailure;
    this.writer = new GroupCommit(
      db,
      (events) => {
        for (const l of this.listeners) l(events);
      },
      syncWal ? (done) => this.flushWal(done) : null,
      onFatal,
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

  static async open(options: SqliteStoreOptions): Promise<SqliteConnection> {
    const memory = options.filename === ':memory:';
    if (!memory) secureFiles(options.filename, options.onWarning ?? warnFileMode);
    const db = new Database(options.filename);
    try {
      db.pragma('journal_mode = WAL');
      const durability = memory ? 'FULL' : (options.durability ?? 'wal-flush');
      // In wal-flush mode SQLite does not sync at commit (NORMAL); GroupCommit flushes the log before answering.
      db.pragma(`synchronous = ${durability === 'FULL' ? 'FULL' : 'NORMAL'}`);
      // Checkpoint less often: a page rewritten by many commits is copied back to the database once, not each time.
      db.pragma('wal_autocheckpoint = 10000');
      db.pragma('foreign_keys = ON');
      // Another process (the CLI creating a key while the server runs) may hold the write lock briefly.
      db.pragma('busy_timeout = 5000');
      await migrate(migrationTarget(db), SQLITE_MIGRATIONS, options.migrate ?? true);
      return new SqliteConnection(db, options, durability === 'wal-flush');
    } catch (error) {
      db.close();
      throw error;
    }
  }

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

  async write<T>(_orgs: readonly string[], rule: (tx: WriteTx) => Rule<WriteResult<T>>): Promise<T> {
    if (this.closed) throw new Error('store is closed');
    try {
      return await this.writer.run(() => runSync(rule(this.tx)));
    } catch (error) {
      // BEGIN and COMMIT fail outside the guarded statements (group-commit.ts): classify here too.
      throw sqliteError(error);
    }
  }

  /** SQLite stores any text, NUL included. */
  storable(): void {}

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One process owns a SQLite file, so "every instance" is this one: deliver in place. */
  publishEphemeral(message: Ephemeral): void {
    for (const l of this.ephemeralListeners) l(message);
  }

  onEphemeral(listener: EphemeralListener): () => void {
    this.ephemeralListeners.add(listener);
    return () => this.ephemeralListeners.delete(listener);
  }

  /** Every signal is delivered in place: none can be missed, so there is never anything to resync. */
  notificationsLive(): boolean {
    return true;
  }

  onResync(): () => void {
    return () => {};
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

/** `PRAGMA user_version` is the schema version; BEGIN IMMEDIATE keeps other processes out of each step. */
function migrationTarget(db: Database.Database): MigrationTarget {
  return {
    version: async () => db.pragma('user_version', { simple: true }) as number,
    exclusive: (fn) => fn(),
    apply: async (version, sql, serverSecret) => {
      db.transaction(() => {
        db.exec(sql);
        db.pragma(`user_version = ${version}`);
        if (serverSecret !== null)
          db.prepare(`INSERT INTO meta (key, value) VALUES ('server_secret', ?)`).run(serverSecret);
      }).immediate();
    },
  };
}
