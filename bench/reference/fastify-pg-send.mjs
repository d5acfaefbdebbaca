// Reference for `send-postgres`: the least a server can do on PostgreSQL and still answer a send durably, in the
// shape our schema needs to stream it. A bare Fastify route; the sends that arrive while the previous batch commits
// (or during one event-loop turn) form the next batch, and each batch is ONE statement on one connection, in
// autocommit (so that round trip includes the COMMIT and its WAL flush, synchronous_commit on):
//
//   - bump the org's event counter by the batch size (the row lock that orders an org's writers),
//   - insert the batch's message rows with consecutive seqs (multi-row `INSERT … SELECT … FROM unnest(…)`),
//   - insert one event row per message (what a resuming stream reads), and answer each send with its seq.
//
// Our send does that plus what its guarantees need: the conversation row (last seq, unread count), the
// idempotency record in the same transaction, the org-row lock in id order across instances, a NOTIFY for the
// other instances, member-token authentication and validation. No auth, no idempotency record here: the ceiling.
//
//   node bench/reference/fastify-pg-send.mjs <postgres-url>
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';

const url = process.argv[2];
if (url === undefined) throw new Error('usage: fastify-pg-send.mjs <postgres-url>');

const db = new pg.Client({ connectionString: url, application_name: 'reference-writer' });
await db.connect();
// The columns and indexes of the server's messages and events tables (packages/store/src/postgres/
// postgres-migrations.ts: the search vector and its GIN index included), without the foreign keys.
await db.query(`
  CREATE TABLE IF NOT EXISTS orgs (id text PRIMARY KEY, event_seq bigint NOT NULL DEFAULT 0);
  INSERT INTO orgs (id) VALUES ('org') ON CONFLICT DO NOTHING;
  CREATE TABLE IF NOT EXISTS messages (
    conversation_id text NOT NULL, seq bigint NOT NULL, id text NOT NULL UNIQUE, org_id text NOT NULL,
    type text NOT NULL, author_id text NOT NULL, body text, via text NOT NULL, created_at timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    search tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(body, ''))) STORED);
  CREATE INDEX IF NOT EXISTS messages_search ON messages USING gin (search);
  CREATE TABLE IF NOT EXISTS events (
    org_id text NOT NULL, seq bigint NOT NULL, type text NOT NULL, member_id text NOT NULL,
    conversation_id text NOT NULL, payload text, PRIMARY KEY (org_id, seq));
`);

const INSERT_BATCH = {
  name: 'insert_batch',
  text: `WITH b AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])
                    WITH ORDINALITY AS b(conversation_id, id, body, created_at, n)),
              s AS (UPDATE orgs SET event_seq = event_seq + $5 WHERE id = 'org' RETURNING event_seq - $5 AS base),
              r AS (SELECT b.*, s.base + b.n AS seq FROM b, s),
              m AS (INSERT INTO messages (conversation_id, seq, id, org_id, type, author_id, body, via, created_at)
                    SELECT conversation_id, seq, id, 'org', 'member', 'bench', body, 'member', created_at FROM r),
              e AS (INSERT INTO events (org_id, seq, type, member_id, conversation_id, payload)
                    SELECT 'org', seq, 'message', 'bench', conversation_id, NULL FROM r)
         SELECT seq FROM r ORDER BY n`,
};

/** Group commit: one batch in flight at a time; what arrives meanwhile is the next batch. */
let queue = [];
let running = false;
function commitLater(row) {
  return new Promise((resolve, reject) => {
    queue.push({ row, resolve, reject });
    // setImmediate runs after this turn's I/O callbacks: every request parsed in this turn joins the batch.
    if (queue.length === 1 && !running) setImmediate(flushQueue);
  });
}
async function flushQueue() {
  if (running || queue.length === 0) return;
  running = true;
  const batch = queue;
  queue = [];
  const column = (i) => batch.map((op) => op.row[i]);
  try {
    const { rows } = await db.query({
      ...INSERT_BATCH,
      values: [column(0), column(1), column(2), column(3), batch.length],
    });
    batch.forEach((op, i) => op.resolve(Number(rows[i].seq)));
  } catch (error) {
    for (const op of batch) op.reject(error);
  }
  running = false;
  if (queue.length > 0) setImmediate(flushQueue);
}

const app = Fastify({ logger: false });
app.post('/conversations/:id/messages', async (req, reply) => {
  const text = req.body?.message;
  if (typeof text !== 'string' || text.trim() === '') return reply.code(422).send({ error: { code: 'VALIDATION' } });
  const message = {
    id: `msg_${randomBytes(12).toString('base64url')}`,
    conversationID: req.params.id,
    type: 'member',
    authorID: 'bench',
    body: text,
    createdAt: new Date().toISOString(),
  };
  const seq = await commitLater([message.conversationID, message.id, text, message.createdAt]);
  return { ok: true, message: { ...message, seq } };
});

const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening on ${address}`);
for (const signal of ['SIGTERM', 'SIGINT'])
  process.once(signal, () => {
    void app.close().then(async () => {
      while (running || queue.length > 0) await new Promise((r) => setTimeout(r, 10));
      await db.end();
      process.exit(0);
    });
  });
