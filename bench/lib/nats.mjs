// A throw-away `nats-server` for the benchmarks that run instances with `--broker`: plain core NATS on 127.0.0.1,
// a port the server picks on its first start and keeps on every restart, its own temp dir. Like PostgreSQL
// (./postgres.mjs), a machine without the binary gets a plain reason instead of a failure.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { tempDir } from './procs.mjs';

/** `CONCIERGE_NATS_SERVER` names another binary; else the one on PATH (scripts/ensure-nats.sh installs Debian's). */
const BINARY = process.env.CONCIERGE_NATS_SERVER ?? 'nats-server';

/**
 * Starts `nats-server`, or says plainly why it cannot: `{ server }` or `{ skipped }`. The server's `url` stays the
 * same across `restart()`; `stop()` is SIGTERM (clients see their connections close), `kill()` SIGKILL; each waits
 * for the process to exit. A start waits for the server's "Server is ready" log line.
 */
export async function nats() {
  const version = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0)
    return { skipped: `no \`${BINARY}\` on this machine (scripts/ensure-nats.sh installs Debian's nats-server).` };
  let port = 0;
  let child = null;
  let temp = null;
  let log = '';

  const end = async (signal) => {
    if (child === null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  };
  const remove = () => {
    temp?.remove();
    temp = null;
  };

  const server = {
    version: /v?(\d+(?:\.\d+)*)/.exec(version.stdout)?.[1] ?? '',
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get pid() {
      return child?.pid;
    },
    get log() {
      return log;
    },
    /** Starts the server again, on the same port, after stopping it if it runs; resolves once it is ready. */
    async restart() {
      await end('SIGTERM');
      temp ??= tempDir('concierge-bench-nats-');
      log = '';
      const started = spawn(
        BINARY,
        ['-a', '127.0.0.1', '-p', port === 0 ? '-1' : String(port), '-P', join(temp.dir, 'nats-server.pid')],
        { cwd: temp.dir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = started;
      started.once('exit', () => {
        if (child === started) child = null;
      });
      try {
        port = await new Promise((resolve, reject) => {
          const timer = setTimeout(() => finish(new Error(`nats-server did not start within 30 s:\n${log}`)), 30_000);
          const onData = (d) => {
            log += d;
            if (log.length > 20_000) log = log.slice(-10_000);
            if (!/\bServer is ready\b/.test(log)) return;
            const m = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(log);
            finish(m === null ? new Error(`nats-server did not say its port:\n${log}`) : undefined, Number(m?.[1]));
          };
          const onExit = (code, signal) =>
            finish(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${log}`));
          const finish = (error, value) => {
            clearTimeout(timer);
            started.off('exit', onExit);
            if (error !== undefined) reject(error);
            else resolve(value);
          };
          // Read to the end, so a chatty server never blocks on a full pipe.
          for (const stream of [started.stdout, started.stderr]) stream.setEncoding('utf8').on('data', onData);
          started.once('exit', onExit);
        });
      } catch (error) {
        await server.kill();
        throw error;
      }
    },
    async stop() {
      await end('SIGTERM');
      remove();
    },
    async kill() {
      await end('SIGKILL');
      remove();
    },
  };
  await server.restart();
  return { server };
}
