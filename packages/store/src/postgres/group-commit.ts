import pg from 'pg';
import type { WriteResult, WriteTx } from '../dialect.js';
import type { Rule } from '../steps.js';
import type { StoredEvent } from '../store.js';
import { allSends, FusedCache, runFusedSends } from './fused-sends.js';
import { runRule, startRule, type Started } from './op-driver.js';
import { PostgresTx } from './postgres-queries.js';
import type { Notice } from './wakeups.js';

/** A write rule, run by the batch on its connection inside its transaction. */
export type WriteRule<T> = (tx: WriteTx) => Rule<WriteResult<T>>;

interface Op {
  /** Orgs whose rows the write locks (its event counter, or rows that belong to the org); sorted at batch start. */
  orgs: readonly string[];
  rule: WriteRule<unknown>;
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

/**
 * How a batch's ops run inside its transaction:
 * - `fused`: a batch of sends only, in one or two round trips whatever its size (fused-sends.ts).
 * - `one-by-one`: every op after the other, no savepoints.
 * - `savepoints`: one after the other with a SAVEPOINT around each, so a failing op is undone alone.
 */
type Mode = 'fused' | 'one-by-one' | 'savepoints';

/** How one attempt at a batch ended. */
type Attempt =
  | { kind: 'committed'; done: { op: Op; result: WriteResult<unknown> }[]; failed: { op: Op; error: unknown }[] }
  /** Without savepoints an op failed, so the whole transaction was rolled back (nothing is durable). */
  | { kind: 'op-failed'; op: Op; error: unknown }
  /** The mode does not suit these ops (not all sends, or not as expected): rolled back, nothing is durable. */
  | { kind: 'next-mode' }
  /** The transaction itself failed (connection lost, COMMIT refused): nothing is durable, or COMMIT's fate is unknown. */
  | { kind: 'broken'; error: Error };

/**
 * Group commit on one writer connection: every write submitted while the previous batch runs (or during one
 * event-loop turn) shares one transaction, committed once, and each caller's promise settles only after that
 * COMMIT. As in the SQLite adapter, this is where the throughput comes from: one commit (one WAL flush) per batch.
 *
 * The writer connection spends its time on round trips, so a batch makes as few as it can. A batch of sends
 * only (the hot path) takes one or two, whatever its size (fused-sends.ts). Any other batch takes BEGIN and the
 * org locks in one, then each step of each op, then the NOTIFY with COMMIT in one.
 *
 * - An op that throws (a missing row, an idempotency key already taken) fails alone; the others still commit.
 *   Per-op SAVEPOINTs give that, but each costs round trips. So a batch first runs without them; only if an op
 *   fails is the transaction rolled back and the batch run again with a SAVEPOINT around each op (a rule writes
 *   nothing outside the transaction, so running it again is safe: nothing of the first run was committed).
 * - The batch first locks the org rows its ops declared, in id order. Every org-scoped write of every instance
 *   does the same, so writers never deadlock on each other (they queue on the org row, which they must do anyway:
 *   the org's event counter serializes its writers).
 * - `notice` gives the NOTIFY payload for the batch's events, sent just before COMMIT in the same round trip, so
 *   the wake-up is sent exactly when (and only if) the rows become visible.
 */
export class GroupCommit {
  private queue: Op[] = [];
  private scheduled = false;
  private running: Promise<void> | null = null;
  private readonly fusedCache = new FusedCache();

  constructor(
    private readonly pool: pg.Pool,
    private readonly notice: Notice | null,
    private readonly afterCommit: (batch: CommittedBatch) => void,
  ) {}

  run<T>(orgs: readonly string[], rule: WriteRule<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        orgs,
        rule: rule,
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
    let outcome = await this.attempt(batch, 'fused');
    if (outcome.kind === 'next-mode') outcome = await this.attempt(batch, 'one-by-one');
    if (outcome.kind === 'op-failed') {
      // A batch of one has nobody to protect: its error is the answer. Otherwise isolate the failure.
      if (batch.length === 1)
        outcome = { kind: 'committed', done: [], failed: [{ op: outcome.op, error: outcome.error }] };
      else outcome = await this.attempt(batch, 'savepoints');
    }
    if (outcome.kind === 'broken') {
      // The transaction is gone: none of the batch is durable (or, if COMMIT itself was cut off, the outcome is
      // unknown, which the client's idempotency key resolves on retry).
      for (const op of batch) this.fail(op, outcome.error);
      return;
    }
    if (outcome.kind !== 'committed') {
      // Cannot happen one by one with savepoints; settle the batch rather than leave callers hanging.
      const error = outcome.kind === 'op-failed' ? outcome.error : new Error('batch could not run');
      for (const op of batch) this.fail(op, error);
      return;
    }
    for (const { op, error } of outcome.failed) this.fail(op, error);
    const events: StoredEvent[] = [];
    for (const { op, result } of outcome.done) {
      for (const e of result.events) events.push(e);
      op.resolve(result.value);
    }
    if (events.length > 0) this.afterCommit({ events: inSeqOrder(events) });
  }

  /** Rejects an op, or queues it for the next batch when its error says running it again may succeed. */
  private fail(op: Op, error: unknown): void {
    op.attempts++;
    if (RETRYABLE.has((error as { code?: string }).code ?? '') && op.attempts < MAX_ATTEMPTS) this.queue.push(op);
    else op.reject(error);
  }

  private async attempt(batch: readonly Op[], mode: Mode): Promise<Attempt> {
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
      if (mode === 'fused') {
        // A wrong guess from the cache runs once more, reading first (each run starts the rules afresh).
        for (const mayGuess of [true, false]) {
          const started = startAll(batch);
          if (started === null || !allSends(started)) return { kind: 'next-mode' };
          const fused = await runFusedSends(started, client, this.notice, this.fusedCache, mayGuess);
          if (fused.kind === 'read-first') continue;
          if (fused.kind === 'broken') broken = fused.error;
          if (fused.kind !== 'committed') return fused.kind === 'broken' ? fused : { kind: 'next-mode' };
          return { kind: 'committed', done: fused.results, failed: [] };
        }
        return { kind: 'next-mode' };
      }
      // This batch may move org counters in ways the fused path's cache does not follow.
      this.fusedCache.forget(batch.flatMap((op) => op.orgs));
      const orgs = [...new Set(batch.flatMap((op) => op.orgs))].sort();
      // One round trip (simple protocol, so no parameters: the ids are quoted as literals).
      await client.query(
        orgs.length === 0
          ? 'BEGIN'
          : `BEGIN; SELECT 1 FROM orgs WHERE id IN (${orgs.map((o) => pg.escapeLiteral(o)).join(', ')}) ORDER BY id FOR NO KEY UPDATE`,
      );
      const tx = new PostgresTx(client);
      const done: { op: Op; result: WriteResult<unknown> }[] = [];
      const failed: { op: Op; error: unknown }[] = [];
      if (mode === 'savepoints') {
        for (const [i, op] of batch.entries()) {
          // One round trip per op for the savepoints: release the previous one and open the next together.
          await client.query(i === 0 ? 'SAVEPOINT op' : 'RELEASE SAVEPOINT op; SAVEPOINT op');
          try {
            done.push({ op, result: await runRule(startRule(op.rule), tx) });
          } catch (error) {
            // If the connection itself failed, ROLLBACK TO throws too and the whole batch fails below.
            await client.query('ROLLBACK TO SAVEPOINT op');
            failed.push({ op, error });
          }
        }
      } else {
        const started: Started<Op>[] = [];
        for (const op of batch) {
          try {
            started.push({ ...startRule(op.rule), op });
          } catch (error) {
            await client.query('ROLLBACK');
            return { kind: 'op-failed', op, error };
          }
        }
        for (const s of started) {
          try {
            done.push({ op: s.op, result: await runRule(s, tx) });
          } catch (error) {
            await client.query('ROLLBACK');
            return { kind: 'op-failed', op: s.op, error };
          }
        }
      }
      const events = done.flatMap((d) => d.result.events);
      // The wake-up and the commit in one round trip: if the NOTIFY failed, COMMIT is not run and we roll back.
      await client.query(
        events.length === 0 || this.notice === null
          ? 'COMMIT'
          : `SELECT pg_notify(${pg.escapeLiteral(this.notice.channel)}, ${pg.escapeLiteral(this.notice.payload(events))}); COMMIT`,
      );
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

/** Starts every op's rule up to its first step, or null if one throws before it (the general path reports it). */
function startAll(batch: readonly Op[]): Started<Op>[] | null {
  try {
    return batch.map((op) => ({ ...startRule(op.rule), op }));
  } catch {
    return null;
  }
}

/** The feed takes each org's events in seq order; a batch lists them op by op, orgs interleaved. */
function inSeqOrder(events: StoredEvent[]): StoredEvent[] {
  return events.sort((a, b) => (a.orgID === b.orgID ? a.seq - b.seq : a.orgID < b.orgID ? -1 : 1));
}

function isConnectionError(error: Error): boolean {
  const code = (error as { code?: string }).code;
  // Class 08 is connection exceptions, 57P0x the server shutting the session down; no code is a socket error.
  return code === undefined || code.startsWith('08') || code.startsWith('57P');
}
