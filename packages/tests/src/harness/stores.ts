import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';

/**
 * The stores every black-box suite runs against (docs/STYLE.md, pattern 3): each test file wraps its suite in
 * `for (const store of STORES)`. `STORES=sqlite` (or `postgres`) narrows the list; PostgreSQL is in it only
 * when `CONCIERGE_TEST_PG_URL` names a server where tests may create databases (scripts/test.mjs starts one).
 */
export interface StoreTarget {
  name: 'sqlite' | 'postgres';
  /** A new, empty database for one server (or several sharing it); `drop` removes it. */
  fresh(): Promise<{ url: string; drop(): Promise<void> }>;
}

const sqlite: StoreTarget = {
  name: 'sqlite',
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'concierge-test-'));
    return {
      url: `sqlite:${join(dir, 'concierge.db')}`,
      async drop() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

let counter = 0;

const postgres: StoreTarget = {
  name: 'postgres',
  async fresh() {
    const admin = process.env.CONCIERGE_TEST_PG_URL;
    if (admin === undefined) throw new Error('CONCIERGE_TEST_PG_URL is not set');
    const pg = (await import('pg')).default;
    const name = `concierge_test_${process.pid}_${Date.now().toString(36)}_${counter++}`;
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
    const url = new URL(admin);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async drop() {
        const c = new pg.Client({ connectionString: admin });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  },
};

function selected(): StoreTarget[] {
  const all = [sqlite, ...(process.env.CONCIERGE_TEST_PG_URL !== undefined ? [postgres] : [])];
  const filter = process.env.STORES?.split(',').map((s) => s.trim());
  return filter === undefined || filter.length === 0 ? all : all.filter((s) => filter.includes(s.name));
}

export const STORES: readonly StoreTarget[] = selected();

/**
 * A file's suites once per store, the stores side by side: each store's suites have their own servers and
 * databases, so nothing is shared between them, and a file that mostly waits (token lifetimes, heartbeats, retry
 * schedules) takes the time of one store instead of the sum. Within a store, suites and tests run in order, as
 * written.
 */
export function acrossStores(body: (store: StoreTarget) => void): void {
  describe('each store, side by side', { concurrency: true }, () => {
    for (const store of STORES) describe(store.name, { concurrency: 1 }, () => body(store));
  });
}

/**
 * The ways a store can run its writes, as server flags: SQLite has two writers (a worker thread, the default, and
 * the main thread: `--sqlite-writer`), and a suite that proves durability runs against each; PostgreSQL has one.
 */
export interface WriterVariant {
  /** '' for a store with one writer, else `worker writer` / `main-thread writer`, for test names. */
  name: string;
  args: string[];
}

export function writerVariants(store: StoreTarget): WriterVariant[] {
  if (store.name !== 'sqlite') return [{ name: '', args: [] }];
  return [
    { name: 'worker writer', args: ['--sqlite-writer', 'worker'] },
    { name: 'main-thread writer', args: ['--sqlite-writer', 'main'] },
  ];
}
