import { existsSync } from 'node:fs';

/**
 * FAULT INJECTION, for tests only. With `CONCIERGE_FAULT_WAL_FLUSH=<path>`, every flush of the write-ahead log
 * reports EIO, as a failing disk would, while a file exists at `<path>`; the suite creates it to prove what the
 * server does then (it exits: see fatal-flush.ts). Unset, which is every real deployment, it does nothing.
 */
const marker = process.env.CONCIERGE_FAULT_WAL_FLUSH;

/** The error the next flush must report, or null to flush for real. */
export function walFlushFault(): Error | null {
  if (marker === undefined || marker === '' || !existsSync(marker)) return null;
  return Object.assign(new Error('EIO: i/o error, fdatasync (injected by CONCIERGE_FAULT_WAL_FLUSH)'), {
    code: 'EIO',
    errno: -5,
    syscall: 'fdatasync',
  });
}
