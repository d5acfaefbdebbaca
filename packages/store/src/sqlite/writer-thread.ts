import { existsSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { loadReplayRenderers, renderedFor } from '../replay-renderers.js';
import { runSync } from '../steps.js';
import type { StoredEvent } from '../store.js';
import { runCall } from '../write-calls.js';
import { GroupCommit } from './group-commit.js';
import { sqliteError } from './sqlite-errors.js';
import { writerPragmas } from './sqlite-pragmas.js';
import { SqliteQueries } from './sqlite-queries.js';
import { toWire } from './thread-errors.js';
import { WalFlush } from './wal-flush.js';
import type { Answer, FromWriter, ToWriter, WriterThreadData } from './writer-protocol.js';

/**
 * The SQLite writer thread (sqlite-connection.ts, `writer: 'worker'`): its own connection to the database file,
 * the same group commit, WAL flush and fatal-flush rule as the main thread's writer, and the rules of
 * write-rules.ts looked up by name (write-calls.ts). The main thread keeps reading on its own connection; what
 * this thread commits is visible to those reads at COMMIT, as any other connection's commit is in WAL mode.
 */
const port = parentPort!;
const data = workerData as WriterThreadData;
const post = (message: FromWriter) => port.postMessage(message);

/**
 * FAULT INJECTION, for tests only: with `CONCIERGE_FAULT_WRITER_CRASH=<path>`, the thread dies on the next writes it
 * receives while a file exists at `<path>`, as a bug or an out-of-memory would end it. Unset, it does nothing.
 */
const crashMarker = process.env.CONCIERGE_FAULT_WRITER_CRASH;

let db: Database.Database;
let writer: GroupCommit;
let wal: WalFlush;
let dead = false;

let answers: Answer[] = [];
let events: StoredEvent[] = [];
let posting = false;

/**
 * Answers settled together (one flush of the log covers them) go back in one message, with their events. A
 * microtask, not the next turn: the answers of a settled batch are pushed by promise reactions queued before this
 * one, and a turn more would cost the waiting clients a wake-up of this thread on a busy machine.
 */
function outbox(): void {
  if (posting) return;
  posting = true;
  queueMicrotask(() => {
    posting = false;
    // After a failed flush nothing more may be told: the main thread is exiting, its callers unanswered.
    if (dead) return;
    const message: FromWriter = { type: 'done', answers, events };
    answers = [];
    events = [];
    post(message);
  });
}

try {
  if (data.replayRenderers !== null) await loadReplayRenderers(data.replayRenderers);
  db = new Database(data.filename);
  writerPragmas(db, data.durability);
  wal = new WalFlush(`${data.filename}-wal`);
  const tx = new SqliteQueries(db).tx;
  writer = new GroupCommit(
    db,
    (committed) => {
      for (const e of committed) events.push(e);
      outbox();
    },
    data.durability === 'wal-flush' ? (done) => wal.flush(done) : null,
    (error) => {
      dead = true;
      post({ type: 'fatal', message: error.message, code: (error as { code?: string }).code ?? null });
    },
  );
  port.on('message', (message: ToWriter) => {
    if (message.type === 'close') {
      writer.flush();
      void writer.drain().then(() => {
        // Let the last answers go out before saying so.
        setImmediate(() => {
          wal.close();
          db.close();
          post({ type: 'closed' });
        });
      });
      return;
    }
    if (crashMarker !== undefined && crashMarker !== '' && existsSync(crashMarker))
      throw new Error('writer thread crashed (injected by CONCIERGE_FAULT_WRITER_CRASH)');
    for (const { id, call } of message.ops) {
      writer
        .run(() => runSync(runCall(tx, call)))
        .then(
          (value) => {
            const rendered = renderedFor(value);
            answers.push(rendered === undefined ? { id, value } : { id, value, rendered });
            outbox();
          },
          (error: unknown) => {
            answers.push({ id, error: toWire(sqliteError(error)) });
            outbox();
          },
        );
    }
  });
  post({ type: 'ready' });
} catch (error) {
  post({ type: 'open-failed', error: toWire(sqliteError(error)) });
}
