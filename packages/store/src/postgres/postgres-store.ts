import type { Store } from '../store.js';

/** The PostgreSQL adapter lands with its own issue; until then a postgres URL is refused clearly. */
export async function openPostgresStore(_url: string, _options: { migrate: boolean }): Promise<Store> {
  throw new Error('the PostgreSQL store is not available in this build');
}
