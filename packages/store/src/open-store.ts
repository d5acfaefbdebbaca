import { resolve } from 'node:path';
import { loadReplayRenderers } from './replay-renderers.js';
import { SqlStore } from './sql-store.js';
import type { Store } from './store.js';
import { SqliteConnection } from './sqlite/sqlite-connection.js';

/**
 * Opens the store a database URL names: `sqlite:<path>` (relative to the working directory), `sqlite::memory:`,
 * or `postgres://…` / `postgresql://…`. Migrations run on open.
 */
export interface OpenStoreOptions {
  /** Apply pending migrations (default true). When false, a database behind the code's schema is refused. */
  migrate?: boolean;
  /** SQLite: where writes run, the main thread (default) or a writer thread (sqlite-connection.ts). */
  sqliteWriter?: 'worker' | 'main';
  /** SQLite: writes that may wait for the writer at once before more are refused (`WriterOverloaded`). */
  writeQueueMax?: number;
  /**
   * The module (an `import()` URL) that exports `replayRenderers`, the renderers idempotent writes name
   * (replay-renderers.ts). Loaded here and by every thread that writes. Without it an idempotent write fails.
   */
  replayRenderers?: string;
  /** PostgreSQL: a NATS server for the wake-ups between instances (postgres-connection.ts). */
  broker?: string;
}

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const migrate = options.migrate ?? true;
  if (options.replayRenderers !== undefined) await loadReplayRenderers(options.replayRenderers);
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    const filename = path === ':memory:' ? ':memory:' : resolve(path);
    return new SqlStore(
      await SqliteConnection.open({
        filename,
        migrate,
        ...(options.sqliteWriter !== undefined && { writer: options.sqliteWriter }),
        ...(options.writeQueueMax !== undefined && { writeQueueMax: options.writeQueueMax }),
      }),
    );
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    // Loaded only when asked for: a SQLite deployment never loads the PostgreSQL driver.
    const { PostgresConnection } = await import('./postgres/postgres-connection.js');
    return new SqlStore(await PostgresConnection.open({ url, migrate, broker: options.broker }));
  }
  throw new Error(
    `unsupported database URL (want sqlite:<path> or postgres://…): ${url.replace(/\/\/[^@]*@/, '//***@')}`,
  );
}
