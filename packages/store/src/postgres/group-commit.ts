import type pg from 'pg';
import type { WriteResult } from '../dialect.js';
import type { StoredEvent } from '../store.js';
import { query } from './prepared.js';

/** A write: runs its statements on the batch's connection, inside the batch's transaction. */
export type WriteFn<T> = (client: pg.ClientBase) => Promise<WriteResult<T>>;

interface Op {
  /** Orgs whose rows the write locks (its event counter, or rows that belong to the org); sorted at batch start. */
  orgs: readonly string[];
  run: WriteFn<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  attempts: number;
}

/** What one committed batch made durable. */
export interface CommittedBatch {
  events: StoredEvent[];
}

/** deadlock_detected, serialization_failure: the op did nothing and may simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 3;

/** How one attempt at a batch ended. */
type Attempt =
  | { kind: 'committed'; done: { op: Op; result: WriteResult<unknown> }[]; failed: { op: Op; error: unknown }[] }
  /** Without savepoints an op failed, so the whole transaction was rolled back (nothing is durable). */
  | { kind: 'op-failed'; op: Op; error: unknown }
  /** The transaction itself failed (connection lost, COMMIT refused): nothing is durable, or COMMIT's fate is unknown. */
  | { kind: 'broken'; error: Error };

/**
 * Group commit on one writer connection: every write submitted while the previous batch runs (or during one
 * event-loop turn) shares one transaction, committed once, and each caller's promise settles only after that
 * COMMIT. As in the SQLite adapter, this is where the throughput comes from: one commit (one WAL flush) per batch.
 *
 * - An op that throws (a missing row, an idempotency key already taken) fails alone; the others still commit.
 *   Per-op SAVEPOINTs give that, but each costs round trips on a networked database, and the writer connection
 *   is the bottleneck. So a batch first runs without them; only if an op fails is the transaction rolled back and
 *   the batch run again with a SAVEPOINT around each op (ops are closures over their inputs, so running one again
 *   is safe: nothing of the first run was committed).
 * - The batch first locks the org rows its ops declared, in id order. Every org-scoped write of every instance
 *   does the same, so writers never deadlock on each other (they queue on the org row, which they must do anyway:
 *   the org's event counter serializes its writers).
 * - `beforeCommit` runs last inside the transaction: the notifier adds its one NOTIFY there, so the wake-up is
 *   sent exactly when (and only if) the rows become visible.
 */
export class GroupCommit {
  private queue: Op[] = [];
  private scheduled = false;
  private running: Promise<void> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly beforeCommit: (client: pg.ClientBase, events: readonly StoredEvent[]) => Promise<void>,
    private readonly afterCommit: (batch: CommittedBatch) => void,
  ) {}

  run<T>(orgs: readonly string[], fn: WriteFn<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        orgs,
        run: fn,
        resolve: resolve as (v: unknown) => void,
        reject,
        attempts: 0,
      });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running !== null) return;
    this.scheduled = true;
    // setImmediate runs after the I/O callbacks of this turn: every request parsed in this turn joins.
    setImmediate(() => {
      this.scheduled = false;
      this.running = this.flush().finally(() => {
        this.running = null;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  /** Waits until everything queued so far is committed (or failed): used on close. */
  async drain(): Promise<void> {
    while (this.running !== null || this.queue.length > 0 || this.scheduled) {
      if (this.running !== null) await this.running;
      else await new Promise((r) => setImmediate(r));
    }
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    let outcome = await this.attempt(batch, false);
    if (outcome.kind === 'op-failed') {
      // A batch of one has nobody to protect: its error is the answer. Otherwise isolate the failure.
      if (batch.length === 1)
        outcome = { kind: 'committed', done: [], failed: [{ op: outcome.op, error: outcome.error }] };
      else outcome = await this.attempt(batch, true);
    }
    if (outcome.kind === 'broken') {
      // The transaction is gone: none of the batch is durable (or, if COMMIT itself was cut off, the outcome is
      // unknown, which the client's idempotency key resolves on retry).
      for (const op of batch) this.fail(op, outcome.error);
      return;
    }
    if (outcome.kind === 'op-failed') {
      // Cannot happen with savepoints; settle the batch rather than leave callers hanging.
      for (const op of batch) this.fail(op, outcome.error);
      return;
    }
    for (const { op, error } of outcome.failed) this.fail(op, error);
    const events: StoredEvent[] = [];
    for (const { op, result } of outcome.done) {
      for (const e of result.events) events.push(e);
      op.resolve(result.value);
    }
    if (events.length > 0) this.afterCommit({ events });
  }

  /** Rejects an op, or queues it for the next batch when its error says running it again may succeed. */
  private fail(op: Op, error: unknown): void {
    op.attempts++;
    if (RETRYABLE.has((error as { code?: string }).code ?? '') && op.attempts < MAX_ATTEMPTS) this.queue.push(op);
    else op.reject(error);
  }

  private async attempt(batch: readonly Op[], savepoints: boolean): Promise<Attempt> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      return { kind: 'broken', error: error as Error };
    }
    let broken: Error | undefined;
    // A checked-out client has no 'error' listener of the pool's: if its connection drops between two queries
    // (while an op's JavaScript runs), the event would be unhandled and end the process. The next query fails
    // anyway; noting the error here also makes the release below discard the connection.
    const onError = (error: Error): void => {
      broken ??= error;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const orgs = [...new Set(batch.flatMap((op) => op.orgs))].sort();
      if (orgs.length > 0)
        await query(client, 'SELECT 1 FROM orgs WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE', [orgs]);
      const done: { op: Op; result: WriteResult<unknown> }[] = [];
      const failed: { op: Op; error: unknown }[] = [];
      for (const [i, op] of batch.entries()) {
        // One round trip per op for the savepoints: release the previous one and open the next together.
        if (savepoints) await client.query(i === 0 ? 'SAVEPOINT op' : 'RELEASE SAVEPOINT op; SAVEPOINT op');
        try {
          done.push({ op, result: await op.run(client) });
        } catch (error) {
          if (!savepoints) {
            await client.query('ROLLBACK');
            return { kind: 'op-failed', op, error };
          }
          // If the connection itself failed, ROLLBACK TO throws too and the whole batch fails below.
          await client.query('ROLLBACK TO SAVEPOINT op');
          failed.push({ op, error });
        }
      }
      const events = done.flatMap((d) => d.result.events);
      if (events.length > 0) await this.beforeCommit(client, events);
      await client.query('COMMIT');
      return { kind: 'committed', done, failed };
    } catch (error) {
      broken = error as Error;
      await client.query('ROLLBACK').catch(() => {});
      return { kind: 'broken', error: broken };
    } finally {
      client.removeListener('error', onError);
      // A connection that failed mid-batch is discarded rather than returned to the pool in an unknown state.
      client.release(broken !== undefined && isConnectionError(broken) ? broken : undefined);
    }
  }
}

function isConnectionError(error: Error): boolean {
  const code = (error as { code?: string }).code;
  // Class 08 is connection exceptions, 57P0x the server shutting the session down; no code is a socket error.
  return code === undefined || code.startsWith('08') || code.startsWith('57P');
}
