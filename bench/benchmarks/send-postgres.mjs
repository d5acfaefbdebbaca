// `send-postgres`: the `send` benchmark with Concierge on PostgreSQL, against the same reference method (the bare
// Fastify + better-sqlite3 group-commit route), as issue 5 asks.
import { runSend } from './send.mjs';

export const description =
  'POST a message on PostgreSQL (member token, fresh Idempotency-Key, durable commit), 100 connections, vs the SQLite reference';

export function run(options) {
  return runSend({ ...options, store: 'postgres' });
}
