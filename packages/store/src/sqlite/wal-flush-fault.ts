/**
 * FAULT INJECTION, for tests only: `CONCIERGE_FAULT_WAL_FLUSH=after:<n>` makes every flush of the write-ahead log
 * after the first `n` report EIO, as a failing disk would, so the suite can prove what the server does then
 * (it exits: see `fatalFlushFailure` in sqlite-store.ts). Unset, which is every real deployment, it does nothing.
 */
const spec = process.env.CONCIERGE_FAULT_WAL_FLUSH;
const failAfter = spec === undefined ? null : Number(/^after:(\d+)$/.exec(spec)?.[1] ?? Number.NaN);
let flushes = 0;

/** The error the next flush must report, or null to flush for real. */
export function walFlushFault(): Error | null {
  if (failAfter === null || Number.isNaN(failAfter)) return null;
  if (flushes++ < failAfter) return null;
  return Object.assign(new Error('EIO: i/o error, fdatasync (injected by CONCIERGE_FAULT_WAL_FLUSH)'), {
    code: 'EIO',
    errno: -5,
    syscall: 'fdatasync',
  });
}
