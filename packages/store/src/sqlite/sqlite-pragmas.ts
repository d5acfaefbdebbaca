import type Database from 'better-sqlite3';

/**
 * The settings of every connection that writes (the main one, and the writer thread's): WAL; in `wal-flush`
 * durability SQLite does not sync at commit (NORMAL) and group commit flushes the log before answering.
 */
export function writerPragmas(db: Database.Database, durability: 'wal-flush' | 'FULL'): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'FULL' ? 'FULL' : 'NORMAL'}`);
  // Checkpoint less often: a page rewritten by many commits is copied back to the database once, not each time.
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('foreign_keys = ON');
  // Another process (the CLI creating a key while the server runs) may hold the write lock briefly.
  db.pragma('busy_timeout = 5000');
}
