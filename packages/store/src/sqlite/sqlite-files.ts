import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export function warnFileMode(message: string): void {
  process.emitWarning(message, { code: 'CONCIERGE_FILE_MODE' });
}

/**
 * The database holds every org's signing secret: its directory is made 0700 and the file 0600 when we create
 * them (SQLite gives the -wal and -shm files the database file's mode), and existing ones that group or others
 * may read are reported, not changed (an operator may have reasons, for example a backup group).
 */
export function secureFiles(filename: string, onWarning: (message: string) => void): void {
  const dir = dirname(filename);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(filename)) {
    closeSync(openSync(filename, 'a', 0o600));
    chmodSync(filename, 0o600); // the umask may have narrowed it further, never widened: set it exactly
  }
  for (const path of [dir, filename, `${filename}-wal`, `${filename}-shm`]) {
    let mode: number;
    try {
      mode = statSync(path).mode & 0o777;
    } catch {
      continue; // -wal and -shm appear later, with the database file's mode
    }
    if ((mode & 0o077) !== 0)
      onWarning(
        `${path} is readable or writable by group or others (mode ${mode.toString(8).padStart(4, '0')}): it holds every org's signing secret; chmod ${path === dir ? '700' : '600'} it`,
      );
  }
}
