// What PostgreSQL did for one database over a stretch of a benchmark: its transactions and rows read
// (pg_stat_database), the CPU its backends used (/proc, when PostgreSQL runs on this machine), and the events the
// database committed (the sum of the orgs' event counters), read at two instants and subtracted.
import { cpuMs } from './procs.mjs';

/**
 * Opens the two connections the readings take: one to the admin database for the statistics views (so they do
 * not count themselves), one to the measured database for its event counters.
 */
export async function pgStats(adminURL, databaseURL) {
  const pg = (await import('pg')).default;
  const admin = new pg.Client({ connectionString: adminURL });
  const db = new pg.Client({ connectionString: databaseURL });
  await admin.connect();
  await db.connect();
  const name = decodeURIComponent(new URL(databaseURL).pathname.slice(1));
  return {
    /** A reading; `since(earlier)` turns two into what happened between them. */
    async read() {
      // Each query is a transaction of its own, so the views are read afresh (not from a cached snapshot).
      const [stats, backends, events] = await Promise.all([
        admin.query(
          `SELECT xact_commit, tup_returned, tup_fetched, blks_hit + blks_read AS blocks
           FROM pg_stat_database WHERE datname = $1`,
          [name],
        ),
        admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]),
        db.query('SELECT coalesce(sum(event_seq), 0)::text AS n FROM orgs'),
      ]);
      const row = stats.rows[0] ?? {};
      const cpu = new Map();
      for (const { pid } of backends.rows) {
        try {
          cpu.set(pid, cpuMs(pid));
        } catch {
          // Ended since the query, or PostgreSQL runs elsewhere (no /proc entry to read): not counted.
        }
      }
      return {
        at: performance.now(),
        xacts: Number(row.xact_commit),
        tupReturned: Number(row.tup_returned),
        tupFetched: Number(row.tup_fetched),
        blocks: Number(row.blocks),
        events: Number(events.rows[0].n),
        cpu,
      };
    },
    stop: async () => {
      await admin.end();
      await db.end();
    },
  };
}

/**
 * The difference of two readings. Backend CPU counts the backends seen at the later reading (a pool's
 * connections live through a benchmark; one opened in between counts whole); `backendCpuMs` is null when no
 * backend's CPU could be read.
 */
export function since(before, after) {
  let backendCpuMs = null;
  for (const [pid, ms] of after.cpu) backendCpuMs = (backendCpuMs ?? 0) + ms - (before.cpu.get(pid) ?? 0);
  return {
    ms: after.at - before.at,
    events: after.events - before.events,
    xacts: after.xacts - before.xacts,
    tupReturned: after.tupReturned - before.tupReturned,
    tupFetched: after.tupFetched - before.tupFetched,
    blocks: after.blocks - before.blocks,
    backendCpuMs,
  };
}
