import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Connection } from '../connection.js';
import type { WriteTx } from '../dialect.js';
import { migrate, type MigrationTarget } from '../migrator.js';
import { replayRenderersURL } from '../replay-renderers.js';
import { runSync } from '../steps.js';
import {
  WriterOverloaded,
  type ActivityListener,
  type CommitListener,
  type Interest,
  type Ephemeral,
  type EphemeralListener,
  type StoredEvent,
} from '../store.js';
import type { BoundRule } from '../write-calls.js';
import { fatalFlushFailure, fatalWriterLost } from './fatal-flush.js';
import { GroupCommit } from './group-commit.js';
import { sqliteError } from './sqlite-errors.js';
import { secureFiles, warnFileMode } from './sqlite-files.js';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.js';
import { writerPragmas } from './sqlite-pragmas.js';
import { SqliteQueries } from './sqlite-queries.js';
import { ThreadWriter } from './thread-writer.js';
import { WalFlush } from './wal-flush.js';

/** The default bound on writes waiting for the writer (see `writeQueueMax`). */
export const DEFAULT_WRITE_QUEUE_MAX = 2000;

export interface SqliteStoreOptions {
  /** A file path, or `:memory:`. */
  filename: string;
  /**
   * `wal-flush` (default): a commit is acknowledged once the write-ahead log is flushed to disk (fdatasync), done
   * off the event loop. `FULL`: SQLite fsyncs inside COMMIT, blocking. Both lose nothing acknowledged on power loss.
   */
  durability?: 'wal-flush' | 'FULL';
  /**
   * Where writes run: `main` (default), group commit on the event loop, on the connection the reads use; `worker`, a
   * worker thread with its own connection (thread-writer.ts), so that SQLite's statements leave the event loop.
   * `:memory:` is always `main` (another connection would open another database). Why `main` is the default:
   * docs/benchmarks.md.
   */
  writer?: 'worker' | 'main';
  /**
   * Writes that may wait for the writer at once (queued, running, or waiting for the disk); one more is refused
   * at once with `WriterOverloaded`, nothing written. Default DEFAULT_WRITE_QUEUE_MAX.
   */
  writeQueueMax?: number;
  /** Apply pending migrations (default true); when false, a schema behind the code is refused. */
  migrate?: boolean;
  /** Copy the log back into the database file from a worker thread (default true; see checkpointer.ts). */
  backgroundCheckpoints?: boolean;
  /** Where start-up warnings go (files readable by others); default `process.emitWarning`. */
  onWarning?: (message: string) => void;
  /** Called when the write-ahead log could not be flushed after a commit; the default exits (fatal-flush.ts). */
  onFatal?: (error: Error) => void;
  /** Called when the writer thread ended unasked, its writes failed; the default exits (fatal-flush.ts). */
  onWriterLost?: (error: Error) => void;
}

const READY: Interest = { ready: Promise.resolve(null), release: () => {} };

/** One of the two ways of running writes: group commit here, or in the writer thread. */
interface Writer {
  run<T>(rule: BoundRule<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The embedded dialect's connection: one SQLite file in WAL mode, read on this connection, written through group
 * commit either on it or by a writer thread on its own (docs/design/sqlite-writer-thread.md), with
 * the log flushed before any answer. One process owns the file, so notifications are delivered in place and can
 * never be missed.
 */
export class SqliteConnection implements Connection {
  readonly kind = 'sqlite' as const;
  readonly reads: SqliteQueries['reads'];
  private readonly listeners = new Set<CommitListener>();
  private readonly activityListeners = new Set<ActivityListener>();
  private readonly ephemeralListeners = new Set<EphemeralListener>();
  private checkpointer: Worker | null = null;
  private writer!: Writer;
  private pending = 0;
  private readonly queueMax: number;
  private closed = false;

  private constructor(
    private readonly db: Database.Database,
    options: SqliteStoreOptions,
  ) {
    this.reads = new SqliteQueries(db).reads;
    this.queueMax = options.writeQueueMax ?? DEFAULT_WRITE_QUEUE_MAX;
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
    let connection: SqliteConnection | null = null;
    try {
      const durability = memory ? 'FULL' : (options.durability ?? 'wal-flush');
      writerPragmas(db, durability);
      await migrate(migrationTarget(db), SQLITE_MIGRATIONS, options.migrate ?? true);
      connection = new SqliteConnection(db, options);
      const publish = (events: StoredEvent[]) => connection!.publish(events);
      const onFatal = options.onFatal ?? fatalFlushFailure;
      connection.writer =
        memory || options.writer !== 'worker'
          ? mainWriter(db, durability, options.filename, publish, onFatal)
          : await threadWriter(options.filename, durability, publish, onFatal, options.onWriterLost ?? fatalWriterLost);
      return connection;
    } catch (error) {
      if (connection !== null) await connection.stopCheckpointer();
      db.close();
      throw error;
    }
  }

  private publish(events: StoredEvent[]): void {
    for (const l of this.listeners) l(events);
    if (this.activityListeners.size === 0) return;
    const orgs = [...new Set(events.map((e) => e.orgID))];
    for (const l of this.activityListeners) l(orgs);
  }

  async write<T>(_orgs: readonly string[], rule: BoundRule<T>): Promise<T> {
    if (this.closed) throw new Error('store is closed');
    // Back-pressure: past the bound, a write is refused before it is queued, so memory stays bounded however far
    // the clients outrun the disk.
    if (this.pending >= this.queueMax) throw new WriterOverloaded(this.queueMax);
    this.pending++;
    try {
      return await this.writer.run(rule);
    } finally {
      this.pending--;
    }
  }

  pendingWrites(): number {
    return this.pending;
  }

  /** SQLite stores any text, NUL included. */
  storable(): void {}

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every commit is this process's, delivered in place as it happens: an interest is ready at once. */
  watch(): Interest {
    return READY;
  }

  onActivity(listener: ActivityListener): () => void {
    this.activityListeners.add(listener);
    return () => this.activityListeners.delete(listener);
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
    this.closed = true;
    // Queued writes still commit (their callers are waiting), then the threads and the connection go.
    await this.writer.close();
    await this.stopCheckpointer();
    this.db.close();
  }

  private async stopCheckpointer(): Promise<void> {
    if (this.checkpointer === null) return;
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
}

/** Group commit on this thread, on the connection the reads use. */
function mainWriter(
  db: Database.Database,
  durability: 'wal-flush' | 'FULL',
  filename: string,
  publish: (events: StoredEvent[]) => void,
  onFatal: (error: Error) => void,
): Writer {
  const tx: WriteTx = new SqliteQueries(db).tx;
  const wal = durability === 'wal-flush' ? new WalFlush(`${filename}-wal`) : null;
  const commit = new GroupCommit(db, publish, wal === null ? null : (done) => wal.flush(done), onFatal);
  return {
    async run<T>(rule: BoundRule<T>): Promise<T> {
      try {
        return await commit.run(() => runSync(rule(tx)));
      } catch (error) {
        // BEGIN and COMMIT fail outside the guarded statements (group-commit.ts): classify here too.
        throw sqliteError(error);
      }
    },
    async close() {
      commit.flush();
      await commit.drain();
      wal?.close();
    },
  };
}

/** Group commit in the writer thread, on its own connection (thread-writer.ts, writer-thread.ts). */
async function threadWriter(
  filename: string,
  durability: 'wal-flush' | 'FULL',
  publish: (events: StoredEvent[]) => void,
  onFatal: (error: Error) => void,
  onLost: (error: Error) => void,
): Promise<Writer> {
  const thread = await ThreadWriter.start({
    filename,
    durability,
    replayRenderers: replayRenderersURL(),
    onCommit: publish,
    onFatal,
    onLost,
  });
  return { run: (rule) => thread.run(rule.call), close: () => thread.close() };
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
