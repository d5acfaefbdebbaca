import { existsSync } from 'node:fs';

/**
 * FAULT INJECTION, for tests only. With `CONCIERGE_FAULT_WAL_FLUSH=<path>`, every flush of the write-ahead log
 * reports EIO, as a failing disk would, while a file exists at `<path>`; the suite creates it to prove what the
 * server does then (it exits: see fatal-flush.ts). With `CONCIERGE_FAULT_WAL_FLUSH_HOLD=<path>`, a flush does not
 * finish while a file exists at `<path>`, as a disk slower than the clients would, which is how the suite fills
 * the write queue (back-pressure). Unset, which is every real deployment, they do nothing. Worker threads see the
 * process's environment, so the writer thread obeys them too.
 */
const marker = process.env.CONCIERGE_FAULT_WAL_FLUSH;
const holdMarker = process.env.CONCIERGE_FAULT_WAL_FLUSH_HOLD;

/** The error the next flush must report, or null to flush for real. */
export function walFlushFault(): Error | null {
  if (marker === undefined || marker === '' || !existsSync(marker)) return null;
  return Object.assign(new Error('EIO: i/o error, fdatasync (injected by CONCIERGE_FAULT_WAL_FLUSH)'), {
    code: 'EIO',
    errno: -5,
    syscall: 'fdatasync',
  });
}

/** True while flushes must wait (the hold file exists). */
export function walFlushHeld(): boolean {
  return holdMarker !== undefined && holdMarker !== '' && existsSync(holdMarker);
}
