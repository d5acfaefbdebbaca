import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { ApiError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { HashJob, HashOutcome } from './password-worker.js';

/**
 * Agent passwords: scrypt from node:crypto, a memory-hard KDF (RFC 7914). N = 2^15, r = 8, p = 1 costs 32 MiB and
 * tens of milliseconds per guess, the parameters OWASP's Password Storage Cheat Sheet lists for scrypt. The stored
 * text names its parameters (`scrypt$N$r$p$salt$hash`), so they can be raised later without locking anyone out, and
 * a test server may lower N for the passwords it sets (`--password-cost`, hidden) without touching this default.
 */
export const DEFAULT_PASSWORD_COST = 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
/** scrypt needs 128·N·r bytes; Node's default ceiling (32 MiB) is exactly that, with no room for its own use. */
const MAXMEM = 64 * 1024 * 1024;

/** Threads for scrypt: one on a machine of two cores or fewer (the event loop needs the other), else two. */
const THREADS = Math.min(2, Math.max(1, availableParallelism() - 1));

interface Thread {
  worker: Worker;
  /** The job it runs, if any: one at a time, so the bound below is exact. */
  running: { id: number; done: (outcome: HashOutcome) => void } | null;
}

/**
 * Runs every password hash of the server on threads of its own (password-worker.ts), through one bounded queue:
 * at most `limit` hashes run or wait at once, server-wide; one more is refused at once with 503 `UNAVAILABLE`
 * before any work, so a flood of sign-ins or setups costs a bounded amount of CPU and memory (32 MiB a running hash)
 * and waits in line instead of growing without limit. The metrics count hashes computed and refusals.
 */
export class PasswordHasher {
  private readonly threads: Thread[] = [];
  private readonly waiting: { job: HashJob; done: (outcome: HashOutcome) => void }[] = [];
  private running = 0;
  private next = 0;
  private closed = false;

  /**
   * What sign-in hashes like when the email is unknown (or has no password yet): our parameters with a random salt,
   * so the answer matches nothing stored, yet it costs the same KDF run as a wrong password, and timing tells them
   * apart not. Made at start-up without computing anything.
   */
  readonly dummyKdf: string;

  /** `cost` is log2 of scrypt's N for new passwords. */
  constructor(
    private readonly limit: number,
    private readonly metrics: Metrics,
    private readonly cost = DEFAULT_PASSWORD_COST,
  ) {
    this.dummyKdf = this.newKdf();
  }

  /** `scrypt$N$r$p$salt` with a new salt: the KDF for an email that has no password yet (a hash is this, `$`, key). */
  newKdf(): string {
    return `scrypt$${2 ** this.cost}$${R}$${P}$${randomBytes(16).toString('base64url')}`;
  }

  /** Hashes running or waiting now. */
  get size(): number {
    return this.running + this.waiting.length;
  }

  /**
   * `password` hashed with the parameters and salt of `kdf` (`newKdf`'s text, or a stored hash), as stored
   * text: equal to a stored hash of that KDF exactly when it is the same password. A KDF this code cannot read is
   * replaced by a new one, so the answer matches nothing stored and the KDF still runs once.
   */
  async hashLike(password: string, kdf: string): Promise<string> {
    const [kind, n, r, p, salt] = kdf.split('$');
    const params = [n, r, p].map(Number);
    const readable =
      kind === 'scrypt' && salt !== undefined && salt !== '' && params.every((x) => Number.isSafeInteger(x) && x > 0);
    if (!readable) return this.hashLike(password, this.newKdf());
    const key = await this.scrypt(password, Buffer.from(salt, 'base64url'), params[0]!, params[1]!, params[2]!);
    return `scrypt$${n}$${r}$${p}$${salt}$${key.toString('base64url')}`;
  }

  /** Ends the threads; hashes still running or waiting fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const { done } of this.waiting.splice(0)) done({ id: 0, error: 'the server is shutting down' });
    await Promise.all(this.threads.splice(0).map((t) => t.worker.terminate()));
  }

  private scrypt(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
    if (this.closed)
      throw new ApiError('UNAVAILABLE', 'This instance is shutting down; retry.', { headers: { 'retry-after': '1' } });
    if (this.size >= this.limit) {
      this.metrics.refusedBeforeHash.inc({ reason: 'queue_full' });
      throw new ApiError('UNAVAILABLE', 'Too many sign-ins are being checked right now; retry shortly.', {
        headers: { 'retry-after': '1' },
      });
    }
    const job: HashJob = { id: ++this.next, password, salt, n, r, p, keyBytes: KEY_BYTES, maxmem: MAXMEM };
    return new Promise<Buffer>((resolve, reject) => {
      this.waiting.push({
        job,
        done: (outcome) => {
          if ('key' in outcome) {
            this.metrics.passwordHashes.inc();
            resolve(Buffer.from(outcome.key));
          } else reject(new Error(`password hash failed: ${outcome.error}`));
        },
      });
      this.pump();
    });
  }

  /** Starts waiting jobs on idle threads, making threads up to THREADS as needed. */
  private pump(): void {
    while (this.waiting.length > 0) {
      let thread = this.threads.find((t) => t.running === null);
      if (thread === undefined && this.threads.length < THREADS) thread = this.spawn();
      if (thread === undefined) break;
      const { job, done } = this.waiting.shift()!;
      thread.running = { id: job.id, done };
      this.running++;
      thread.worker.postMessage(job);
    }
    this.metrics.passwordHashQueue.set(this.size);
  }

  private spawn(): Thread {
    const worker = new Worker(new URL('./password-worker.js', import.meta.url));
    const thread: Thread = { worker, running: null };
    const finish = (outcome: HashOutcome) => {
      const running = thread.running;
      if (running === null) return;
      thread.running = null;
      this.running--;
      running.done(outcome);
    };
    worker.on('message', (outcome: HashOutcome) => {
      finish(outcome);
      this.pump();
    });
    // A thread that dies fails its job alone; the next job starts a new thread.
    const died = (why: string) => {
      const at = this.threads.indexOf(thread);
      if (at >= 0) this.threads.splice(at, 1);
      finish({ id: 0, error: why });
      if (!this.closed) this.pump();
    };
    worker.on('error', (error) => died(error.message));
    worker.on('exit', (code) => died(`password thread exited with ${code}`));
    // Idle threads must never keep the process alive by themselves.
    worker.unref();
    this.threads.push(thread);
    return thread;
  }
}
