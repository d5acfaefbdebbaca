import { closeSync, fdatasync, openSync } from 'node:fs';
import { walFlushFault, walFlushHeld } from './wal-flush-fault.js';

/**
 * fdatasync of the write-ahead log on the libuv thread pool, for whichever thread runs group commit. Flushing a
 * file flushes all of it, whichever descriptor asks, so our own read-only descriptor serves; SQLite keeps the
 * `-wal` file (same inode) for as long as a connection is open, and the main connection is open until close().
 */
export class WalFlush {
  private fd: number | null = null;

  constructor(private readonly walPath: string) {}

  flush(done: (error: Error | null) => void): void {
    const fault = walFlushFault();
    if (fault !== null) {
      setImmediate(() => done(fault));
      return;
    }
    // Test-only (wal-flush-fault.ts): a disk that does not finish; polled, since nothing signals a file's removal.
    if (walFlushHeld()) {
      setTimeout(() => this.flush(done), 5);
      return;
    }
    if (this.fd === null) {
      try {
        this.fd = openSync(this.walPath, 'r');
      } catch (error) {
        done(error as Error);
        return;
      }
    }
    fdatasync(this.fd, (error) => done(error));
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
