import { existsSync } from 'node:fs';
import { scryptSync } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/** One KDF run: the password, its salt and the scrypt parameters. */
export interface HashJob {
  id: number;
  password: string;
  salt: Uint8Array;
  n: number;
  r: number;
  p: number;
  keyBytes: number;
  maxmem: number;
}

export type HashOutcome = { id: number; key: Uint8Array } | { id: number; error: string };

/**
 * The password thread: runs scrypt for the event loop, one job at a time. It calls `scryptSync` on purpose: the
 * async `scrypt` would run on libuv's thread pool, the four threads every file read and DNS lookup of the process
 * wait for (a worker thread shares that pool too), so a flood of sign-ins would queue static files and webhook
 * lookups behind 32 MiB KDF runs. Synchronous here, it costs this thread only.
 *
 * FAULT INJECTION, for tests only: with `CONCIERGE_FAULT_PASSWORD_HOLD=<path>`, a job does not start while a file
 * exists at `<path>`, as when the hashes take longer than clients keep coming; the suite fills the hash queue so.
 * Unset, which is every real deployment, it does nothing.
 */
const hold = process.env.CONCIERGE_FAULT_PASSWORD_HOLD;
const nap = new Int32Array(new SharedArrayBuffer(4));

parentPort!.on('message', (job: HashJob) => {
  while (hold !== undefined && hold !== '' && existsSync(hold)) Atomics.wait(nap, 0, 0, 10);
  let outcome: HashOutcome;
  try {
    const key = scryptSync(job.password.normalize('NFC'), job.salt, job.keyBytes, {
      N: job.n,
      r: job.r,
      p: job.p,
      maxmem: job.maxmem,
    });
    outcome = { id: job.id, key };
  } catch (error) {
    outcome = { id: job.id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(outcome);
});
