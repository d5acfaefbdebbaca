import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { StoredEvent } from '../store.js';
import { GroupCommit, type SyncFn } from './group-commit.js';

/**
 * Unit tests of SQLite group commit (no server): a batch runs without savepoints; when one op throws, the batch is
 * rolled back and run again with a savepoint around each op, so only the failing op is undone and only its
 * caller gets the error. And a failed flush of the log settles nobody (see fatal-flush.ts).
 */

function setup(sync: SyncFn | null = null, onFlushFailure: (error: Error) => void = () => {}) {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL)');
  const published: StoredEvent[][] = [];
  const gc = new GroupCommit(db, (events) => published.push(events), sync, onFlushFailure);
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const rows = () => db.prepare('SELECT k, v FROM t ORDER BY k').all() as Array<{ k: string; v: string }>;
  const event = (seq: number): StoredEvent => ({
    orgID: 'org',
    seq,
    type: 'message',
    memberID: 'mem',
    conversationID: 'conv',
    message: null,
    payload: null,
  });
  return { db, gc, insert, rows, published, event };
}

/** Settles after every callback queued so far (setImmediate batches run before it). */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('SQLite group commit', () => {
  test('a failing op in a batch fails alone: the others commit once, their events are published in order', async () => {
    const { gc, insert, rows, published, event } = setup();
    const runs = { a: 0, b: 0, c: 0 };
    // Submitted in one event-loop turn, so they share one batch.
    const a = gc.run(() => {
      runs.a++;
      insert.run('a', '1');
      return { value: 'A', events: [event(1)] };
    });
    const b = gc.run(() => {
      runs.b++;
      insert.run('b', '2'); // written, then undone by the op's savepoint
      throw new Error('b refuses');
    });
    const c = gc.run(() => {
      runs.c++;
      insert.run('c', '3');
      return { value: 'C', events: [event(2)] };
    });
    const settled = await Promise.allSettled([a, b, c]);
    assert.deepEqual(settled[0], { status: 'fulfilled', value: 'A' });
    const failed = settled[1];
    assert.ok(failed.status === 'rejected' && failed.reason instanceof Error && failed.reason.message === 'b refuses');
    assert.deepEqual(settled[2], { status: 'fulfilled', value: 'C' });
    assert.deepEqual(rows(), [
      { k: 'a', v: '1' },
      { k: 'c', v: '3' },
    ]);
    // The fast path ran a and b, rolled back; the savepoint path ran all three.
    assert.deepEqual(runs, { a: 2, b: 2, c: 1 });
    assert.deepEqual(
      published.map((batch) => batch.map((e) => e.seq)),
      [[1, 2]],
    );
  });

  test('a constraint violation rejects its caller with the driver error and keeps the rest', async () => {
    const { gc, insert, rows } = setup();
    insert.run('taken', '0');
    const ok = gc.run(() => {
      insert.run('fresh', '1');
      return { value: true, events: [] };
    });
    const clash = gc.run(() => {
      insert.run('taken', '2');
      return { value: true, events: [] };
    });
    await assert.rejects(clash, (e: Error & { code?: string }) => e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY');
    assert.equal(await ok, true);
    assert.deepEqual(
      rows().map((r) => r.k),
      ['fresh', 'taken'],
    );
  });

  test('a batch of one op that fails is not run twice', async () => {
    const { gc, rows } = setup();
    let runs = 0;
    await assert.rejects(
      gc.run(() => {
        runs++;
        throw new Error('alone');
      }),
      /alone/,
    );
    assert.equal(runs, 1);
    assert.deepEqual(rows(), []);
  });

  test('a failed flush of the log hands the error to onFlushFailure and answers no caller', async () => {
    const failures: Error[] = [];
    const { gc, insert } = setup(
      (done) => setImmediate(() => done(Object.assign(new Error('EIO'), { code: 'EIO' }))),
      (error) => failures.push(error),
    );
    let settled = false;
    const write = gc.run(() => {
      insert.run('k', 'v');
      return { value: 1, events: [] };
    });
    write.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let i = 0; i < 5; i++) await turn();
    assert.equal(failures.length, 1);
    assert.equal((failures[0] as Error & { code?: string }).code, 'EIO');
    assert.equal(settled, false, 'neither "done" nor "failed": only recovery can tell');
  });
});
