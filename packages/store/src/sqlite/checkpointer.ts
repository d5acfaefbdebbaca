import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/**
 * Runs in a worker thread, on its own connection: copies the write-ahead log back into the database file (a
 * PASSIVE checkpoint, which never blocks the writer) every few milliseconds while there is something to copy. The
 * copying and its fsync of the database file then happen off the event loop; the writer's own automatic
 * checkpoint (kept as a backstop, so the log still restarts from its beginning) finds the work already done.
 */
const { filename, intervalMs } = workerData as { filename: string; intervalMs: number };
const db = new Database(filename);
db.pragma('busy_timeout = 0');
db.pragma('wal_autocheckpoint = 0');

let stopped = false;
function tick(): void {
  if (stopped) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy (the writer is checkpointing itself) or closing: try again next tick.
  }
  setTimeout(tick, intervalMs);
}
tick();

parentPort?.on('message', (m: unknown) => {
  if (m === 'stop') {
    stopped = true;
    db.close();
    parentPort?.postMessage('stopped');
  }
});
