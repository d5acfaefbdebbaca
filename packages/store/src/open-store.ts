import { resolve } from 'node:path';
import type { Store } from './store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/**
 * Opens the store a database URL names: `sqlite:<path>` (relative to the working directory), `sqlite::memory:`,
 * or `postgres://…` / `postgresql://…`. Migrations run on open.
 */
export async function openStore(url: string): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    return new SqliteStore({ filename: path === ':memory:' ? ':memory:' : resolve(path) });
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { openPostgresStore } = await import('./postgres/postgres-store.js');
    return openPostgresStore(url);
  }
  throw new Error(`unsupported database URL (want sqlite:<path> or postgres://…): ${url.replace(/\/\/[^@]*@/, '//***@')}`);
}
