import type Database from 'better-sqlite3';
import type { WriteResult } from '../dialect.js';
import type { StoredEvent } from '../store.js';
import { fatalFlushFailure } from './fatal-flush.js';

type Op = {
  run: () => WriteResult<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  result?: WriteResult<unknown>;
  error?: unknown;
  failed: boolean;
};

/**
 * Group commit: every write submitted during one event-loop turn runs in one SQLite transaction, committed
 * once; each caller's promise settles only after that commit, so no request is answered before its write is
 * durable. One fsync then covers many requests, which is where the throughput comes from (docs/design/group-commit.md).
 *
 * An op that throws (a constraint, an idempotency key already taken) is rolled back alone and rejects alone; the
 * others in the batch still commit (see flush for how, without paying for a savepoint per op).
 *
 * With a `sync` function (see sqlite-connection.ts), COMMIT itself does not wait for the disk: the batch's promises settle
 * when `sync` reports the write-ahead log flushed. The event loop keeps parsing and batching the next requests
 * while the disk works, instead of sitting blocked in fsync; no caller is answered before its write is durable.
 */
export type SyncFn = (done: (error: Error | null) => void) => void;

export class GroupCommit {
  private queue: Op[] = [];
  private scheduled = false;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly savepoint: Database.Statement;
  private readonly release: Database.Statement;
  private readonly rollbackTo: Database.Statement;

  private syncing = false;
  private waiting: Op[][] = [];
  private idle: Array<() => void> = [];

  constructor(
    private readonly db: Database.Database,
    private readonly afterCommit: (events: StoredEvent[]) => void,
    private readonly sync: SyncFn | null = null,
    /**
     * The flush after a commit failed. The batch is committed in SQLite's view but may not be on disk, and a
     * retried flush proves nothing ("fsyncgate"): the store stops the process (fatal-flush.ts). Its callers are
     * never answered, so nobody is told "done" or "failed" about a write whose fate only recovery can decide.
     */
    private readonly onFlushFailure: (error: Error) => void = fatalFlushFailure,
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT op');
    this.release = db.prepare('RELEASE op');
    this.rollbackTo = db.prepare('ROLLBACK TO op');
  }

  run<T>(fn: () => WriteResult<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run: fn, resolve: resolve as (v: unknown) => void, reject, failed: false });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after the I/O callbacks of this turn: every request parsed in this turn joins.
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Runs the batch in one transaction. Without savepoints, the first op that throws rolls everything back and
   * the answer is 'retry' (the caller runs the batch again with savepoints). With savepoints each op's failure is
   * its own. A failure of BEGIN or COMMIT marks every op failed.
   */
  private runBatch(batch: Op[], savepoints: boolean): 'done' | 'retry' {
    try {
      this.begin.run();
    } catch (error) {
      this.rejectAll(batch, error);
      return 'done';
    }
    for (const op of batch) {
      if (!savepoints) {
        try {
          op.result = op.run();
        } catch (error) {
          op.failed = true;
          op.error = error;
          this.rollbackQuietly();
          return 'retry';
        }
        continue;
      }
      try {
        this.savepoint.run();
      } catch (error) {
        // The transaction itself is in trouble (an I/O error): nothing of it can be trusted.
        this.rollbackQuietly();
        this.rejectAll(batch, error);
        return 'done';
      }
      try {
        op.result = op.run();
        this.release.run();
      } catch (error) {
        op.failed = true;
        op.error = error;
        try {
          this.rollbackTo.run();
          this.release.run();
        } catch (rollbackError) {
          this.rollbackQuietly();
          this.rejectAll(batch, rollbackError);
          return 'done';
        }
      }
    }
    try {
      this.commit.run();
    } catch (error) {
      this.rollbackQuietly();
      this.rejectAll(batch, error);
    }
    return 'done';
  }

  private rejectAll(batch: Op[], error: unknown): void {
    for (const op of batch) {
      op.failed = true;
      op.error = error;
    }
  }

  private rollbackQuietly(): void {
    try {
      this.rollback.run();
    } catch {
      // The transaction may already be gone.
    }
  }

  /** Runs whatever is queued now; used on close so nothing queued is dropped. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    // Fast path: the whole batch in one transaction with no per-op savepoints. Ops throw only rarely (a key
    // already taken, a conversation removed meanwhile); then the batch is rolled back and run again with a
    // savepoint around each op, so the failing op is undone alone. Ops are closures that write nothing outside
    // the database, so running one again is safe.
    if (this.runBatch(batch, false) === 'retry') {
      for (const op of batch) delete op.result;
      // A batch of one has nobody to protect: its error is the answer, with no second run.
      if (batch.length > 1) {
        for (const op of batch) {
          op.failed = false;
          delete op.error;
        }
        this.runBatch(batch, true);
      }
    }
    const committed: Op[] = [];
    for (const op of batch) {
      if (op.failed || op.result === undefined) op.reject(op.error);
      else committed.push(op);
    }
    if (committed.length === 0) return;
    if (this.sync === null) {
      this.settle(committed, null);
      return;
    }
    this.waiting.push(committed);
    if (!this.syncing) this.startSync();
  }

  /**
   * One flush of the log at a time; batches committed meanwhile wait and share the next one. A flush covers every
   * write made before it started, so settling the covered batches in order keeps events in commit order.
   */
  private startSync(): void {
    const covered = this.waiting;
    this.waiting = [];
    this.syncing = true;
    this.sync!((error) => {
      for (const batch of covered) this.settle(batch, error);
      this.syncing = false;
      if (this.waiting.length > 0) this.startSync();
      else for (const f of this.idle.splice(0)) f();
    });
  }

  private settle(committed: Op[], error: Error | null): void {
    if (error !== null) {
      this.onFlushFailure(error);
      return;
    }
    const events: StoredEvent[] = [];
    for (const op of committed) {
      for (const e of op.result!.events) events.push(e);
      op.resolve(op.result!.value);
    }
    // Subscribers hear of a write only once it is durable, and in commit order.
    if (events.length > 0) this.afterCommit(events);
  }

  /** Resolves when every commit made so far is durable. */
  drain(): Promise<void> {
    return !this.syncing ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }
}
