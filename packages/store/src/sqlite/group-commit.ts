import type Database from 'better-sqlite3';
import type { StoredEvent } from '../store.js';

/** What a write returns inside the transaction: its value, and the events it appended to the log. */
export interface WriteResult<T> {
  value: T;
  events: StoredEvent[];
}

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
 * durable. One fsync then covers many requests, which is where the throughput comes from (docs/ARCHITECTURE.md).
 *
 * Each op runs inside its own SAVEPOINT, so an op that throws (a constraint, an idempotency key already taken)
 * is rolled back alone and rejects alone; the others in the batch still commit.
 */
export class GroupCommit {
  private queue: Op[] = [];
  private scheduled = false;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private readonly savepoint: Database.Statement;
  private readonly release: Database.Statement;
  private readonly rollbackTo: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly afterCommit: (events: StoredEvent[]) => void,
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

  /** Runs whatever is queued now; used on close so nothing queued is dropped. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    try {
      this.begin.run();
    } catch (error) {
      for (const op of batch) op.reject(error);
      return;
    }
    for (const op of batch) {
      this.savepoint.run();
      try {
        op.result = op.run();
        this.release.run();
      } catch (error) {
        this.rollbackTo.run();
        this.release.run();
        op.failed = true;
        op.error = error;
      }
    }
    try {
      this.commit.run();
    } catch (error) {
      try {
        this.rollback.run();
      } catch {
        // The transaction may already be gone; the callers are told either way.
      }
      for (const op of batch) op.reject(error);
      return;
    }
    const events: StoredEvent[] = [];
    for (const op of batch) {
      if (op.failed || op.result === undefined) op.reject(op.error);
      else {
        for (const e of op.result.events) events.push(e);
        op.resolve(op.result.value);
      }
    }
    if (events.length > 0) this.afterCommit(events);
  }
}
