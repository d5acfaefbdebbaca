// Processes the benchmarks drive: our server (through its real CLI), the reference servers, and load
// generators. Every child is started on 127.0.0.1 with a port the kernel picks, and every one is stopped by the
// benchmark that started it (see `using` below), so a run leaves nothing behind.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * The server under test. `CONCIERGE_BENCH_CLI` points the benchmarks at another build of it (say, a copy with a
 * change applied) to measure that change against the same references.
 */
export const CLI = process.env.CONCIERGE_BENCH_CLI ?? join(ROOT, 'packages/server/bin/concierge.js');
export const BENCH = join(ROOT, 'bench');

/** Where `--cpu-prof` writes profiles when a benchmark runs with `--profile`. */
export const PROFILE_DIR = join(ROOT, 'bench/results/profiles');

/** Resident set size of a process in KiB, from /proc (Linux): the figure the fan-out target is stated in. */
export function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** Bytes a process has caused to be sent to storage (/proc/<pid>/io `write_bytes`): WAL, checkpoints, fsyncs. */
export function diskWriteBytes(pid) {
  const m = /^write_bytes:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  if (m === null) throw new Error(`no write_bytes for pid ${pid}`);
  return Number(m[1]);
}

/**
 * CPU time a process has used, all its threads, in ms (/proc/<pid>/stat utime + stime, in clock ticks of 10 ms):
 * on a shared machine, CPU per request says more about a change than requests/s, which the neighbours move.
 */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export function tempDir(prefix = 'concierge-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Waits for `pattern` on a child's stdout; rejects if the child exits first or `timeoutMs` passes.
 * Resolves with the match and everything printed so far.
 */
function waitForLine(child, pattern, timeoutMs, what) {
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    err += d;
    if (err.length > 20_000) err = err.slice(-10_000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    const onData = (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        // Keep draining so a chatty child never blocks on a full pipe.
        child.stdout.resume();
        child.off('exit', onExit);
        resolve({ match: m, out, stderr: () => err });
      }
    };
    const onExit = (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before it was ready:\n${out}\n${err}`));
    };
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

async function stopChild(child, signal = 'SIGTERM', graceMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await once(child, 'exit');
  clearTimeout(timer);
}

/**
 * Runs node with its open-files limit raised to the hard limit first (`ulimit -n`), since thousands of streams
 * need as many descriptors on each side. `exec` keeps the pid, so /proc/<pid> is node's own.
 */
function nodeCommand(args) {
  return ['/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', process.execPath, ...args]];
}

/** Node flags for a child: `--cpu-prof` into PROFILE_DIR when profiling, named after the role. */
function nodeFlags(profile, name) {
  if (profile !== true) return [];
  return ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', `${name}-${Date.now()}.cpuprofile`];
}

/**
 * Our server through `concierge serve`, exactly as an operator starts it. On a fresh database the first-run
 * banner gives the org id and its key; on a reused database pass `org` back in.
 */
export async function startConcierge({
  database,
  args = [],
  env = {},
  profile = false,
  org = null,
  name = 'concierge',
}) {
  const child = spawn(
    ...nodeCommand([
      ...nodeFlags(profile, name),
      CLI,
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--database',
      database,
      '--log-level',
      'warn',
      // Load comes from one loopback address: the per-address caps are for the internet, not for a benchmark.
      '--ip-rate-limit',
      '0',
      '--max-connections-per-ip',
      '0',
      '--metrics-port',
      '0',
      ...args,
    ]),
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const { match, out, stderr } = await waitForLine(child, /concierge listening on (http:\/\/\S+)/, 60_000, 'concierge');
  const key = /Org-API-Key: (\S+)/.exec(out);
  const id = /Org ID: +(\S+)/.exec(out);
  return {
    url: match[1],
    pid: child.pid,
    org: key !== null && id !== null ? { orgID: id[1], apiKey: key[1] } : org,
    stderr,
    stop: () => stopChild(child),
  };
}

/** A reference server from bench/reference/: it prints `listening on http://…` when ready. */
export async function startReference(file, { args = [], env = {}, profile = false } = {}) {
  const child = spawn(
    ...nodeCommand([...nodeFlags(profile, file.replace(/\W+/g, '-')), join(BENCH, 'reference', file), ...args]),
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const { match, stderr } = await waitForLine(child, /listening on (http:\/\/\S+)/, 30_000, file);
  return { url: match[1], pid: child.pid, stderr, stop: () => stopChild(child) };
}

/**
 * A load generator from bench/loadgen/ in its own process, talked to over IPC: `call(message)` sends one request
 * and resolves with the child's answer (`{ok: true, ...}` or rejects on `{ok: false, error}`).
 */
export function startLoadgen(file, { execArgv = [] } = {}) {
  const child = spawn(...nodeCommand([...execArgv, join(BENCH, 'loadgen', file)]), {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let seq = 0;
  const waiting = new Map();
  let exited = null;
  child.on('message', (m) => {
    const w = waiting.get(m.id);
    if (w === undefined) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.result);
    else w.reject(new Error(`${file}: ${m.error}`));
  });
  child.once('exit', (code, signal) => {
    exited = `${file} exited (${code ?? signal})`;
    for (const w of waiting.values()) w.reject(new Error(exited));
    waiting.clear();
  });
  return {
    pid: child.pid,
    call(message, timeoutMs = 300_000) {
      if (exited !== null) return Promise.reject(new Error(exited));
      const id = ++seq;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`${file}: no answer to ${message.type} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, {
          resolve: (v) => (clearTimeout(timer), resolve(v)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
        child.send({ ...message, id });
      });
    },
    stop: () => stopChild(child, 'SIGTERM', 5_000),
  };
}

/**
 * The child side of `startLoadgen`: routes each IPC message to `handlers[type]` and answers with its result.
 * The child exits when its parent goes away, so an interrupted run leaves no generator behind.
 */
export function serveIPC(handlers) {
  process.on('message', async (m) => {
    try {
      const handler = handlers[m.type];
      if (handler === undefined) throw new Error(`unknown request ${m.type}`);
      const result = await handler(m);
      process.send({ id: m.id, ok: true, result });
    } catch (error) {
      process.send({ id: m.id, ok: false, error: error instanceof Error ? error.stack : String(error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** Runs `fn(track)`; everything passed to `track` is stopped afterwards, last started first, even on failure. */
export async function using(fn) {
  const started = [];
  const track = (thing) => (started.push(thing), thing);
  try {
    return await fn(track);
  } finally {
    for (const thing of started.reverse()) {
      try {
        await (thing.stop ?? thing.remove)();
      } catch {
        // Best effort: one failed stop must not keep the others running.
      }
    }
  }
}
