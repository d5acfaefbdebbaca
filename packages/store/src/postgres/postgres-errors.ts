import { StorageUnavailable } from '../store.js';

/** Socket-level failures reaching the server (node-postgres passes the system error through). */
const NETWORK_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
]);

/**
 * True for errors that say the database (or the way to it) is unavailable, not that the request is wrong:
 * SQLSTATE class 08 (connection exception), 53 (insufficient resources: disk full, out of memory, too many
 * connections), 57P01–57P03 (admin or crash shutdown, cannot connect now), 58 (system error: I/O), 25006
 * (read-only transaction, a hot standby), and node-postgres's own messages for a connection that went away.
 */
export function isUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (NETWORK_ERRNO.has(code)) return true;
  if (code.startsWith('08') || code.startsWith('53') || code.startsWith('58')) return true;
  if (code === '57P01' || code === '57P02' || code === '57P03' || code === '25006') return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    code === '' &&
    /Connection terminated|connection error|Connection ended|timeout exceeded when trying to connect|Client was closed/i.test(
      message,
    )
  );
}

/** The error to hand up: a `StorageUnavailable` for an unavailable database, the error itself otherwise. */
export function postgresError(error: unknown): unknown {
  if (error instanceof StorageUnavailable) return error;
  if (!isUnavailable(error)) return error;
  const code = (error as { code?: unknown }).code;
  return new StorageUnavailable(typeof code === 'string' ? code : 'connection lost', { cause: error });
}
