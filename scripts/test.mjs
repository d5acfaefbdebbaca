#!/usr/bin/env node
// Runs every compiled test file (`*.test.js` under packages/*/dist) with node's test runner, after starting
// whatever the suites need that this machine can provide (see scripts/pg-cluster.mjs for PostgreSQL).
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
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
// Agent passwords set during the run are hashed with scrypt at N = 2^10 instead of 2^15 (a hidden server option):
// about 1 ms a hash instead of 100, over the hundreds of sign-ins the suites make. What the tests check of hashing
// (how many run, that stored parameters are honoured, the queue's bound) does not depend on the cost.
env.CONCIERGE_PASSWORD_COST ??= '10';

// nats-server for the broker suites (they start their own, see packages/tests/src/harness/nats.ts): CI must have it,
// as it must have PostgreSQL; elsewhere those suites skip.
const natsServer = env.CONCIERGE_NATS_SERVER ?? 'nats-server';
if (spawnSync(natsServer, ['--version'], { stdio: 'ignore' }).status !== 0) {
  if (env.CI !== undefined) {
    console.error(`${natsServer} not found in CI: run scripts/ensure-nats.sh first.`);
    process.exit(1);
  }
  console.log(`# ${natsServer} not found: the suites that need a NATS broker are skipped (scripts/ensure-nats.sh).`);
}

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

// Lanes, all three at once from the start. The timed lane runs, one at a time and in this order, the files whose
// tests mostly wait on real time (heartbeats, idle detection, token lifetimes, retry waits, slow clients): they use
// little CPU, so they cost the run almost nothing beside the others, and their margins (a heartbeat at half a
// client's read timeout) hold on a loaded machine. The parallel lane runs every other file, TEST_CONCURRENCY (2) at
// once, the longest first so that none is left running alone at the end; the timed lane takes its next files when
// its own are done. The Kotlin suite is the third lane, against
// the same PostgreSQL cluster.
const TIMED = [
  'sse-official-sdks.test.js',
  'sse-lifetime.test.js',
  'faults.test.js',
  'ops.test.js',
  'refresh.test.js',
  'hardening.test.js',
  'clients.test.js',
  'sse-wire.test.js',
];
// Measured on two cores, longest first; a file not listed starts after these, in name order.
const LONGEST = [
  'contract-fuzz.test.js',
  'bench-smoke.test.js',
  'webhooks.test.js',
  'webhooks-durability.test.js',
  'webhooks-ssrf.test.js',
  'reliability.test.js',
  'agent-orgs.test.js',
  'agent-auth-hardening.test.js',
  'webhooks-hardening.test.js',
  'sse-resume.test.js',
  'console-browser.test.js',
  'cli.test.js',
  'agents.test.js',
  'console-orgs-browser.test.js',
  'auth.test.js',
  'revocation-resync.test.js',
  'postgres-store.test.js',
  'migrations.test.js',
  'storage-faults.test.js',
  'examples.test.js',
  'browser.test.js',
  'secure-defaults.test.js',
];
const base = (f) => f.slice(f.lastIndexOf('/') + 1);
const rank = (f) => {
  const i = Math.max(LONGEST.indexOf(base(f)), TIMED.indexOf(base(f)));
  return i === -1 ? LONGEST.length : i;
};
files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
const timed = (f) => TIMED.includes(base(f));
/** Tests in a whole run (node and Kotlin) when the lanes, in-process CLI commands and cheap test hashes came in. */
const TESTS_BEFORE = 659;
const concurrency = env.TEST_CONCURRENCY ?? '2';
const children = new Set();
let interrupted = false;
// Stop the throwaway cluster whatever happens, Ctrl-C included (and run no further phase).
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    interrupted = true;
    for (const child of children) child.kill(signal);
  });
let code = 0;
// A later phase still runs after a failure (its results are worth having); the first failure is the exit code.
const record = (exit) => {
  if (code === 0) code = exit;
};
const results = mkdtempSync(join(tmpdir(), 'concierge-test-results-'));
const started = Date.now();
const phases = [];
/**
 * Runs the files of `queues` (the first queue first, taking from a later one when the earlier are empty) with
 * node's test runner, `width` at a time, in the order given (node's own runner sorts files by name, which would
 * start the longest last). Each file's spec output is printed in one piece when it ends.
 */
async function runNode(name, phase, queues, width) {
  if (queues.every((q) => q.length === 0) || interrupted) return;
  const t0 = Date.now();
  const runs = [];
  const reporter = join(root, 'scripts/test-summary-reporter.mjs');
  const next = async () => {
    for (;;) {
      const queue = queues.find((q) => q.length > 0);
      if (queue === undefined || interrupted) break;
      const file = queue.shift();
      const out = join(results, `${phase}-${runs.length}.jsonl`);
      const run = { file, out, exit: 0, start: Date.now() - started, end: 0 };
      runs.push(run);
      const child = spawn(
        process.execPath,
        [
          '--test',
          '--test-reporter=spec',
          '--test-reporter-destination=stdout',
          `--test-reporter=${reporter}`,
          `--test-reporter-destination=${out}`,
          file,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'], env },
      );
      children.add(child);
      let text = '';
      for (const stream of [child.stdout, child.stderr]) stream.setEncoding('utf8').on('data', (d) => (text += d));
      run.exit = await new Promise((resolve) => child.on('close', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
      children.delete(child);
      run.end = Date.now() - started;
      record(run.exit);
      process.stdout.write(text);
    }
  };
  await Promise.all(Array.from({ length: Number(width) }, next));
  // When each file ran, for packing the lanes (TEST_TIMELINE=<file>): lane, seconds from the start, file.
  if (env.TEST_TIMELINE !== undefined)
    appendFileSync(
      env.TEST_TIMELINE,
      runs
        .map((r) => `${phase}\t${(r.start / 1000).toFixed(1)}\t${(r.end / 1000).toFixed(1)}\t${base(r.file)}\n`)
        .join(''),
    );
  phases.push({ name, seconds: (Date.now() - t0) / 1000, ...tally(runs) });
}
async function runKotlin() {
  if (!kotlinSelected(filter) || interrupted) return;
  const t0 = Date.now();
  // Reports of an earlier run (a test class since removed) must not be counted as this run's.
  rmSync(join(root, 'sdks/kotlin/target/surefire-reports'), { recursive: true, force: true });
  const exit = await runKotlinTests(env);
  record(exit);
  phases.push({ name: 'kotlin', seconds: (Date.now() - t0) / 1000, ...kotlinTally(exit) });
}
// The timed lane, once its own files are done, takes the parallel lane's next files: the parallel lane holds most of
// the run's work, and a lane that stands idle for its last minute is a core's worth of waiting.
const parallelQueue = files.filter((f) => !timed(f));
await Promise.all([
  runNode('node (parallel)', 'parallel', [parallelQueue], concurrency),
  runNode('node (timed)', 'timed', [files.filter(timed), parallelQueue], 1),
  runKotlin(),
]);
await stopPostgres();
printSummary();
process.exit(code);

/** What the summary reporter wrote for one phase's files: counts, and each failed test with its file. */
function tally(runs) {
  const t = { tests: 0, passed: 0, skipped: 0, failed: [], files: new Map() };
  for (const run of runs) {
    let text = '';
    try {
      text = readFileSync(run.out, 'utf8');
    } catch {
      // No report at all: the file failed before its first test ended (named below by its exit code).
    }
    const failedBefore = t.failed.length;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line);
      if (r.top) t.files.set(run.file, (t.files.get(run.file) ?? 0) + r.ms);
      if (r.suite) continue;
      t.tests++;
      if (r.skipped) t.skipped++;
      else if (r.ok) t.passed++;
      else t.failed.push(`${relative(root, r.file ?? run.file)} › ${r.name}`);
    }
    if (run.exit !== 0 && t.failed.length === failedBefore)
      t.failed.push(`${relative(root, run.file)} › the file exited with ${run.exit} without a failed test`);
  }
  return t;
}

/** The Kotlin suite's counts, from the Surefire reports Maven leaves behind. */
function kotlinTally(exit) {
  const t = { tests: 0, passed: 0, skipped: 0, failed: [], files: new Map() };
  const dir = join(root, 'sdks/kotlin/target/surefire-reports');
  let names = [];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith('TEST-') && n.endsWith('.xml'));
  } catch {
    if (exit !== 0) t.failed.push('sdks/kotlin › the Maven build failed before any test report');
    return t;
  }
  for (const name of names) {
    const xml = readFileSync(join(dir, name), 'utf8');
    for (const m of xml.matchAll(
      /<testcase\b[^>]*?name="([^"]*)"[^>]*?classname="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g,
    )) {
      t.tests++;
      const body = m[4] ?? '';
      if (/<skipped/.test(body)) t.skipped++;
      else if (/<(failure|error)\b/.test(body)) t.failed.push(`sdks/kotlin ${m[2]} › ${m[1]}`);
      else t.passed++;
    }
  }
  if (exit !== 0 && t.failed.length === 0) t.failed.push(`sdks/kotlin › mvn verify exited with ${exit}`);
  return t;
}

function printSummary() {
  const all = { tests: 0, passed: 0, skipped: 0, failed: [] };
  console.log('\n# summary');
  for (const p of phases) {
    console.log(
      `#   ${p.name}: ${p.tests} tests, ${p.passed} passed, ${p.failed.length} failed, ${p.skipped} skipped, ${p.seconds.toFixed(0)} s`,
    );
    all.tests += p.tests;
    all.passed += p.passed;
    all.skipped += p.skipped;
    all.failed.push(...p.failed);
  }
  // The slowest files, by the time their top-level tests and suites took: where a faster suite has to look first.
  const files = phases.flatMap((p) => [...p.files]).sort((a, b) => b[1] - a[1]);
  if (files.length > 1)
    console.log(
      `#   slowest: ${files
        .slice(0, Number(env.TEST_SLOWEST ?? 8))
        .map(([f, ms]) => `${relative(root, f)} ${(ms / 1000).toFixed(0)} s`)
        .join(', ')}`,
    );
  for (const f of all.failed) console.log(`#   ✖ ${f}`);
  const wall = ((Date.now() - started) / 1000).toFixed(0);
  // A whole run also says how many tests the suite had when it was last made faster, so a speed-up that lost tests
  // shows on the same line (raise the figure when tests are added).
  const before = filter.length === 0 ? ` (${TESTS_BEFORE} before the lanes)` : '';
  console.log(
    `# ${all.failed.length === 0 && code === 0 ? 'ok' : 'FAILED'}: ${all.tests} tests${before}, ${all.passed} passed, ${all.failed.length} failed, ${all.skipped} skipped in ${wall} s`,
  );
}
