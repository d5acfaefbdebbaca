#!/usr/bin/env node
// Runs every compiled test file (`*.test.js` under packages/*/dist) with node's test runner, after starting
// whatever the suites need that this machine can provide (see scripts/pg-cluster.mjs for PostgreSQL).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { kotlinSelected, runKotlinTests } from './test-kotlin.mjs';

const root = new URL('..', import.meta.url).pathname;

function find(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = readdirSync(join(root, 'packages')).flatMap((pkg) => find(join(root, 'packages', pkg, 'dist')));
// Matched within the repository: the checkout's own path (say, a worktree named after a branch) must not match.
if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.slice(root.length).includes(x)));
files.sort();
if (files.length === 0 && !kotlinSelected(filter)) {
  console.error('no test files found: did `tsc -b` run?');
  process.exit(1);
}

const env = { ...process.env };
let stopPostgres = async () => {};
if (env.CONCIERGE_TEST_PG_URL === undefined && env.STORES !== 'sqlite') {
  try {
    const { startCluster } = await import('./pg-cluster.mjs');
    const cluster = await startCluster();
    if (cluster === null) {
      // CI must run every suite on both stores (.ci/run installs PostgreSQL): a silent SQLite-only run would hide it.
      if (env.CI !== undefined) {
        console.error('PostgreSQL server binaries not found in CI: run scripts/ensure-postgres.sh first.');
        process.exit(1);
      }
      console.log('# PostgreSQL server binaries not found: the suites run on SQLite only.');
    } else {
      env.CONCIERGE_TEST_PG_URL = cluster.url;
      stopPostgres = cluster.stop;
      console.log(`# PostgreSQL ${cluster.version} started for the tests at ${cluster.url}`);
    }
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  }
}

// Phases: the node suites, the Kotlin suites, then the benchmark smoke run alone. It loads the machine for
// minutes, so it runs after everything else, never beside the suites that check heartbeats, idle detection and
// token lifetimes. Files run one at a time (node's default is cores - 1: 1 on a 2-core CI box, more elsewhere),
// so a run loads the machine the same way wherever it runs; TEST_CONCURRENCY overrides that for a quicker local run.
const LAST = (f) => f.endsWith('bench-smoke.test.js');
const concurrency = env.TEST_CONCURRENCY ?? '1';
let child = null;
let interrupted = false;
// Stop the throwaway cluster whatever happens, Ctrl-C included (and run no further phase).
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    interrupted = true;
    child?.kill(signal);
  });
let code = 0;
// A later phase still runs after a failure (its results are worth having); the first failure is the exit code.
const record = (exit) => {
  if (code === 0) code = exit;
};
async function runNode(phase) {
  if (phase.length === 0 || interrupted) return;
  child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...phase], {
    stdio: 'inherit',
    env,
  });
  record(await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)))));
}
await runNode(files.filter((f) => !LAST(f)));
if (kotlinSelected(filter) && !interrupted) record(await runKotlinTests(env));
await runNode(files.filter(LAST));
await stopPostgres();
process.exit(code);
