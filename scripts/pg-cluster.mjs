#!/usr/bin/env node
// A throwaway PostgreSQL cluster for the test suites: initdb into a fresh temp dir, start on a free port of
// 127.0.0.1, hand back a superuser URL, and remove everything on stop. Used by scripts/test.mjs; also runnable
// by hand: `node scripts/pg-cluster.mjs [--durable]` prints the URL and keeps the cluster up until Ctrl-C.
//
// initdb and postgres refuse to run as root, so when this runs as root the cluster is made and run by the
// `postgres` system user (through `runuser`) in a directory that user owns.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const USER = 'concierge';
const TOOLS = ['initdb', 'pg_ctl', 'postgres'];

/** The newest Debian-layout install (`/usr/lib/postgresql/<major>/bin`), else the directory of `pg_ctl` on PATH. */
export function findBinaries() {
  const hasAll = (dir) => TOOLS.every((t) => existsSync(join(dir, t)));
  const fromEnv = process.env.CONCIERGE_PG_BIN;
  if (fromEnv !== undefined && fromEnv !== '') return hasAll(fromEnv) ? fromEnv : null;
  try {
    const majors = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of majors) {
      const dir = `/usr/lib/postgresql/${v}/bin`;
      if (hasAll(dir)) return dir;
    }
  } catch {
    // No Debian layout: look on PATH.
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || !existsSync(join(dir, 'pg_ctl'))) continue;
    // Debian symlinks pg_ctl into /usr/bin (or /usr/local/bin) without initdb beside it: follow the link.
    const real = dirname(realpathSync(join(dir, 'pg_ctl')));
    if (hasAll(real)) return real;
    if (hasAll(dir)) return dir;
  }
  return null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** uid/gid of the `postgres` user when we are root (initdb refuses root), else null: run as ourselves. */
function runAs() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root, and there is no `postgres` user to run the PostgreSQL cluster as');
  }
}

function command(owner, bin, tool, args) {
  const exe = join(bin, tool);
  return owner === null ? [exe, args] : ['runuser', ['-u', 'postgres', '--', exe, ...args]];
}

/**
 * Starts a cluster. Returns null when no PostgreSQL server binaries are installed; otherwise
 * `{ url, version, stop }` where `url` names a superuser over TCP on 127.0.0.1 and `stop()` shuts the cluster
 * down and deletes its directory.
 *
 * `durable: true` keeps PostgreSQL's defaults (fsync, synchronous_commit, full_page_writes on): for benchmarks
 * that compare durable commits. The default turns them off, which is what a test cluster wants.
 */
export async function startCluster({ durable = false } = {}) {
  const bin = findBinaries();
  if (bin === null) return null;
  const owner = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'concierge-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  const password = randomBytes(18).toString('base64url');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner !== null) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  // The cwd must be readable by the user running the tools (root's cwd may not be).
  const exec = (tool, args) => {
    const [file, argv] = command(owner, bin, tool, args);
    return run(file, argv, { cwd: dir, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  };
  let started = false;
  const stopSync = () => {
    if (started) {
      const [file, argv] = command(owner, bin, 'pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      try {
        execFileSync(file, argv, { cwd: dir, stdio: 'ignore' });
      } catch {
        // Already down.
      }
      started = false;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { stdout: versionLine } = await exec('postgres', ['--version']);
    const version = /(\d+(?:\.\d+)*)/.exec(versionLine)?.[1] ?? versionLine.trim();
    await exec('initdb', [
      '-D',
      data,
      '-U',
      USER,
      `--pwfile=${pwfile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C',
      // The cluster is thrown away: no fsync while creating it either.
      '--no-sync',
    ]);
    rmSync(pwfile);
    let port = 0;
    // The port is free when chosen but another process may take it before postgres binds: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const options = [
        `-p ${port}`,
        "-c listen_addresses='127.0.0.1'",
        `-c unix_socket_directories='${dir}'`,
        // Durability is pointless for a test cluster, and fsync dominates a small machine's write latency.
        ...(durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
        // Each test server opens a small pool plus a writer and a listener; suites run files in parallel.
        '-c max_connections=400',
        '-c shared_buffers=64MB',
      ].join(' ');
      try {
        await exec('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', options, 'start']);
        started = true;
        break;
      } catch (error) {
        const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
        if (attempt >= 3 || !/could not bind|address already in use/i.test(text))
          throw new Error(`PostgreSQL did not start: ${error.message}\n${text}`);
      }
    }
    const url = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
    // A test run stopped with Ctrl-C must not leave a cluster behind.
    const onExit = () => stopSync();
    process.once('exit', onExit);
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const onSignal = (signal) => {
      stopSync();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    };
    for (const s of signals) process.once(s, onSignal);
    return {
      url,
      version,
      async stop() {
        process.off('exit', onExit);
        for (const s of signals) process.off(s, onSignal);
        if (started) {
          try {
            await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
          } catch {
            // Fall through to the immediate stop below.
          }
        }
        stopSync();
      },
    };
  } catch (error) {
    stopSync();
    throw error;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const cluster = await startCluster({ durable: process.argv.includes('--durable') });
  if (cluster === null) {
    console.error('PostgreSQL server binaries not found (install the `postgresql` package, or set CONCIERGE_PG_BIN).');
    process.exit(1);
  }
  console.log(cluster.url);
  console.error(`PostgreSQL ${cluster.version} is running; Ctrl-C stops it and removes its files.`);
  // startCluster's own signal handlers stop the cluster and exit; keep the event loop alive until then.
  setInterval(() => {}, 1 << 30);
}
