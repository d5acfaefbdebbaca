import { resolve } from 'node:path';
import type { Store } from './store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/**
 * Opens the store a database URL names: `sqlite:<path>` (relative to the working directory), `sqlite::memory:`,
 * or `postgres://…` / `postgresql://…`. Migrations run on open.
 */
export interface OpenStoreOptions {
  /** Apply pending migrations (default true). When false, a database behind the code's schema is refused. */
  migrate?: boolean;
}

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const migrate = options.migrate ?? true;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    return new SqliteStore({ filename: path === ':memory:' ? ':memory:' : resolve(path), migrate });
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { openPostgresStore } = await import('./postgres/postgres-store.js');
    return openPostgresStore(url, { migrate });
  }
  throw new Error(
    `unsupported database URL (want sqlite:<path> or postgres://…): ${url.replace(/\/\/[^@]*@/, '//***@')}`,
  );
}
