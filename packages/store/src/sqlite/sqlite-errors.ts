import { StorageUnavailable } from '../store.js';

/**
 * SQLite result codes (and the file-system errors of our own WAL flush) that say the storage, not the request,
 * is at fault: a full disk, an I/O error, read-only or unopenable files, a lock held past the busy timeout, no
 * memory. Extended codes (`SQLITE_IOERR_WRITE`, `SQLITE_READONLY_DBMOVED`, …) share their primary code's prefix.
 */
const UNAVAILABLE_PREFIXES = [
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_READONLY',
  'SQLITE_CANTOPEN',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_NOMEM',
  'SQLITE_PROTOCOL',
];
const UNAVAILABLE_ERRNO = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EACCES', 'EPERM', 'EMFILE', 'ENFILE']);

/** The error to hand up: a `StorageUnavailable` for a storage fault, the error itself otherwise. */
export function sqliteError(error: unknown): unknown {
  if (error instanceof StorageUnavailable) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return error;
  if (UNAVAILABLE_PREFIXES.some((p) => code.startsWith(p)) || UNAVAILABLE_ERRNO.has(code))
    return new StorageUnavailable(code, { cause: error });
  return error;
}
