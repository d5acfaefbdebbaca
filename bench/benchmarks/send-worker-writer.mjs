// `send-worker-writer`: the `send` benchmark with the SQLite writer in a worker thread (`--sqlite-writer worker`)
// instead of the default main-thread group commit, against the same reference: the figures that choose the default.
import { runSend } from './send.mjs';

export const description =
  'POST a message as in `send`, with `--sqlite-writer worker` (group commit in a writer thread), 100 connections';

export function run(options) {
  return runSend({ ...options, store: 'sqlite', writer: 'worker' });
}
