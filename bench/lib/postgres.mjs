// PostgreSQL for the benchmarks that need it: a throw-away cluster from scripts/pg-cluster.mjs (or the one
// `npm test` already started), and a fresh database in it per run.
import { ROOT } from './procs.mjs';

/** Starts PostgreSQL through the repository's scripts/pg-cluster.mjs, or says plainly why it cannot. */
export async function postgres({ durable = false } = {}) {
  // Under `npm test`, scripts/test.mjs has already started one: reuse it rather than start a second.
  const given = process.env.CONCIERGE_TEST_PG_URL;
  if (given !== undefined) return { cluster: { url: given, version: '', stop: async () => {} } };
  let mod;
  try {
    mod = await import(new URL('scripts/pg-cluster.mjs', `file://${ROOT}`).href);
  } catch (error) {
    if (error?.code === 'ERR_MODULE_NOT_FOUND')
      return { skipped: '`scripts/pg-cluster.mjs` (which starts a throw-away PostgreSQL) is not in this build yet.' };
    throw error;
  }
  const cluster = await mod.startCluster({ durable });
  if (cluster === null)
    return { skipped: 'no PostgreSQL server binaries on this machine (scripts/pg-cluster.mjs found none).' };
  return { cluster };
}

export async function freshDatabase(adminURL) {
  const pg = (await import('pg')).default;
  const name = `concierge_bench_${process.pid}_${Date.now().toString(36)}`;
  const client = new pg.Client({ connectionString: adminURL });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(adminURL);
  url.pathname = `/${name}`;
  return url.toString();
}
