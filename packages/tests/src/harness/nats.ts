import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUARD_MS } from './wait.js';

/**
 * The `nats-server` binary the broker suites start: `CONCIERGE_NATS_SERVER` names another one, else the one on
 * PATH (scripts/ensure-nats.sh installs Debian's).
 */
export const NATS_SERVER = process.env.CONCIERGE_NATS_SERVER ?? 'nats-server';

let present: boolean | undefined;

/** Whether `NATS_SERVER` runs on this machine (asked once per process). */
export function natsServerPresent(): boolean {
  present ??= spawnSync(NATS_SERVER, ['--version'], { stdio: 'ignore' }).status === 0;
  return present;
}

/**
 * The `skip` option for a suite that needs `nats-server`: false when it is here, the reason when it is not. In CI a
 * missing binary is an error instead (.ci/run installs it), since a silently skipped broker suite would hide it.
 */
export function natsSkip(): string | false {
  if (natsServerPresent()) return false;
  if (process.env.CI !== undefined)
    throw new Error(`${NATS_SERVER} is missing: CI must run scripts/ensure-nats.sh before the tests.`);
  return `${NATS_SERVER} not found (run scripts/ensure-nats.sh)`;
}

/** Servers still running when the test process exits, killed then so a failed test leaves none behind. */
const running = new Set<NatsServer>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const server of running) server.killNow();
  });
}

/**
 * One real `nats-server` (plain core NATS, no JetStream) on 127.0.0.1, with a port the server picks on its first
 * start (`-p -1`) and keeps on every restart, so clients given `url` reconnect to the same address. It runs in a
 * temp dir of its own (its cwd and pid file). Each start waits for the server's "Server is ready" log line.
 * `stop()` is SIGTERM (a clean shutdown: clients see the connection close), `kill()` is SIGKILL, and `restart()`
 * starts it again, after stopping it if it still runs.
 */
export class NatsServer {
  /** The client port, known from the first start's log. */
  port = 0;
  /** Everything the server logged since its last start (it logs to stderr). */
  log = '';
  private child: ChildProcess | null = null;
  private dir: string | null = null;

  private constructor() {}

  static async start(): Promise<NatsServer> {
    const server = new NatsServer();
    await server.spawn();
    return server;
  }

  /** `nats://127.0.0.1:PORT`, the same across restarts. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  private async spawn(): Promise<void> {
    this.dir ??= mkdtempSync(join(tmpdir(), 'concierge-nats-'));
    this.log = '';
    const child = spawn(
      NATS_SERVER,
      ['-a', '127.0.0.1', '-p', this.port === 0 ? '-1' : String(this.port), '-P', join(this.dir, 'nats-server.pid')],
      { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    running.add(this);
    installExitHook();
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => (this.log += d));
    }
    child.once('exit', () => {
      if (this.child === child) {
        this.child = null;
        running.delete(this);
      }
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`nats-server did not start:\n${this.log}`)), GUARD_MS);
        const onData = () => {
          if (!/\bServer is ready\b/.test(this.log)) return;
          const m = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(this.log);
          done(m === null ? new Error(`nats-server did not say its port:\n${this.log}`) : undefined, m?.[1]);
        };
        const onExit = (code: number | null, signal: string | null) =>
          done(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${this.log}`));
        const done = (error?: Error, port?: string) => {
          clearTimeout(timer);
          child.stderr.off('data', onData);
          child.stdout.off('data', onData);
          child.off('exit', onExit);
          if (error !== undefined) reject(error);
          else {
            this.port = Number(port);
            resolve();
          }
        };
        child.stderr.on('data', onData);
        child.stdout.on('data', onData);
        child.once('exit', onExit);
      });
    } catch (error) {
      this.killNow();
      throw error;
    }
  }

  private async end(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }

  /** SIGTERM, and wait for the process to exit. */
  async stop(): Promise<void> {
    await this.end('SIGTERM');
    this.removeDir();
  }

  /** SIGKILL, and wait for the process to exit: the broker dies without closing its clients' connections. */
  async kill(): Promise<void> {
    await this.end('SIGKILL');
    this.removeDir();
  }

  /** Starts the server again on the same port (stopping it first if it runs); resolves once it is ready. */
  async restart(): Promise<void> {
    await this.end('SIGTERM');
    await this.spawn();
  }

  /** For the exit hook: no waiting is possible there. */
  killNow(): void {
    this.child?.kill('SIGKILL');
    this.removeDir();
  }

  private removeDir(): void {
    if (this.dir === null) return;
    rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

/** Starts a `nats-server` for one test (see `NatsServer`); the test stops it. */
export function startNats(): Promise<NatsServer> {
  return NatsServer.start();
}
