import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StoreTarget } from './stores.js';

/** The real CLI, as `npx concierge` runs it. */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../../server/bin/concierge.js');

export interface StartOptions {
  /** Extra CLI flags for `serve`. */
  args?: string[];
  /** Environment for the server process; a server given one always runs as its own process. */
  env?: Record<string, string>;
  /**
   * Run the server as its own process, for tests of the process itself: `kill()`, `pid`, `exited()`, exit codes,
   * what reads the environment at load (fault injection). Otherwise it runs in the test's process.
   */
  process?: boolean;
}

export interface Org {
  orgID: string;
  apiKey: string;
}

/**
 * One real server, started through the CLI's `serve` on a free port with its own database, as a user would: the
 * same parsing, checks, banner and shutdown. By default it runs inside the test's process (the entry point
 * `bin/concierge.js` calls, stopped by an abort signal instead of SIGTERM), which saves loading the server's modules
 * in a new process for each of the suite's servers; `{ process: true }` spawns the CLI instead.
 * `restart()` stops it and starts it again on the same database; `kill()` is SIGKILL (a process only).
 */
export class TestServer {
  url = '';
  /** The separate /metrics listener (loopback, a free port in tests). */
  metricsURL = '';
  /** The org the first start created, with its key from the banner. */
  org: Org = { orgID: '', apiKey: '' };
  stdout = '';
  stderr = '';
  private child: ChildProcess | null = null;
  private inProcess: { abort: AbortController; done: Promise<number> } | null = null;

  private constructor(
    readonly databaseURL: string,
    private readonly options: StartOptions,
  ) {}

  static async start(databaseURL: string, options: StartOptions = {}): Promise<TestServer> {
    const server = new TestServer(databaseURL, options);
    await server.spawn();
    return server;
  }

  private get asProcess(): boolean {
    return this.options.process === true || this.options.env !== undefined;
  }

  private serveArgs(): string[] {
    return [
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--database',
      this.databaseURL,
      '--log-level',
      process.env.CONCIERGE_TEST_LOG_LEVEL ?? 'warn',
      '--metrics-port',
      '0',
      ...(this.options.args ?? []),
    ];
  }

  private async spawn(): Promise<void> {
    this.stdout = '';
    if (this.asProcess) await this.spawnProcess();
    else await this.serveInProcess();
    this.metricsURL = /concierge metrics on (http:\/\/\S+)/.exec(this.stdout)?.[1] ?? '';
    const key = /Org-API-Key: (ck_live_\S+)/.exec(this.stdout);
    const id = /Org ID: +(\S+)/.exec(this.stdout);
    if (key !== null && id !== null) this.org = { orgID: id[1]!, apiKey: key[1]! };
  }

  private async serveInProcess(): Promise<void> {
    const { run } = await import('@concierge/server');
    const abort = new AbortController();
    let listening: (url: string) => void = () => {};
    const url = new Promise<string>((resolve) => (listening = resolve));
    const done = run(this.serveArgs(), {
      stdout: (text) => {
        this.stdout += text;
        const m = /concierge listening on (http:\/\/\S+)/.exec(this.stdout);
        if (m !== null) listening(m[1]!);
      },
      stderr: (text) => void (this.stderr += text),
      env: process.env,
      signal: abort.signal,
      log: { write: (line) => void (this.stdout += line) },
    });
    this.inProcess = { abort, done };
    this.url = await Promise.race([
      url,
      done.then((code) => {
        this.inProcess = null;
        throw new Error(`server exited with ${code}:\n${this.stdout}\n${this.stderr}`);
      }),
    ]);
  }

  private async spawnProcess(): Promise<void> {
    const child = spawn(process.execPath, [CLI, ...this.serveArgs()], {
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (this.stderr += d));
    this.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server did not start:\n${this.stdout}\n${this.stderr}`)),
        60_000,
      );
      child.stdout.on('data', (d: string) => {
        this.stdout += d;
        const m = /concierge listening on (http:\/\/\S+)/.exec(this.stdout);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${this.stdout}\n${this.stderr}`));
      });
    });
  }

  private processOnly(what: string): void {
    if (!this.asProcess) throw new Error(`${what} needs a server process: start it with { process: true }`);
  }

  get pid(): number | undefined {
    this.processOnly('pid');
    return this.child?.pid;
  }

  /** SIGTERM (or its abort signal, in-process) and wait for a clean exit; returns the exit code. */
  async stop(): Promise<number | null> {
    const served = this.inProcess;
    if (served !== null) {
      this.inProcess = null;
      served.abort.abort();
      return served.done;
    }
    const child = this.child;
    if (child === null || child.exitCode !== null) return child?.exitCode ?? null;
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    this.child = null;
    return code;
  }

  /** Waits for the process to end by itself (no signal sent); returns its exit code. */
  async exited(): Promise<number | null> {
    this.processOnly('exited()');
    const child = this.child;
    if (child === null) return null;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const [code] = (await once(child, 'exit')) as [number | null];
    return code;
  }

  async kill(): Promise<void> {
    this.processOnly('kill()');
    const child = this.child;
    if (child === null || child.exitCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
    this.child = null;
  }

  async restart(): Promise<void> {
    const org = this.org;
    await this.stop();
    await this.spawn();
    if (this.org.apiKey === '') this.org = org;
  }

  /** Another org on the same database, created through the CLI like an operator would. */
  async createOrg(name = 'other'): Promise<Org> {
    return createOrg(this.databaseURL, name);
  }
}

/** What one command of the CLI printed, and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * One CLI command (`orgs create`, `agents link`…) on a database, run in this process through the same entry point
 * `bin/concierge.js` calls, with its output captured: the commands' parsing, checks and writes are the real ones,
 * without a Node process started for each. Files that test the process itself (exit codes, a stack trace never
 * printed, `serve`) spawn `CLI` instead.
 */
export async function cliRun(args: string[], databaseURL: string): Promise<CliResult> {
  const { run: runCli } = await import('@concierge/server');
  const result = { code: 0, stdout: '', stderr: '' };
  result.code = await runCli([...args, '--database', databaseURL], {
    stdout: (text) => void (result.stdout += text),
    stderr: (text) => void (result.stderr += text),
    env: process.env,
  });
  return result;
}

/** `cliRun`, failing (as a non-zero exit would) unless the command succeeded. */
export async function cli(args: string[], databaseURL: string): Promise<{ stdout: string; stderr: string }> {
  const result = await cliRun(args, databaseURL);
  if (result.code !== 0)
    throw Object.assign(new Error(`concierge ${args.join(' ')} exited with ${result.code}: ${result.stderr}`), result);
  return result;
}

export async function createOrg(databaseURL: string, name: string): Promise<Org> {
  const { stdout } = await cli(['orgs', 'create', name, '--json'], databaseURL);
  return JSON.parse(stdout) as Org;
}

/** A fresh database of `store` with one server on it; `close()` stops the server and drops the database. */
export async function withServer(
  store: StoreTarget,
  options: StartOptions = {},
): Promise<{ server: TestServer; close: () => Promise<void> }> {
  const db = await store.fresh();
  const server = await TestServer.start(db.url, options);
  return {
    server,
    close: async () => {
      await server.stop();
      await db.drop();
    },
  };
}
