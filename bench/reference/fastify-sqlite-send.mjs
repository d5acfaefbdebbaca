// Reference for `send`: the least a server can do and still answer a send durably. A bare Fastify route that
// inserts the message row into better-sqlite3 in WAL mode with synchronous=FULL (the settings of
// packages/store/src/sqlite/sqlite-connection.ts), with group commit: every insert queued during one event-loop turn
// goes into one transaction, one fsync, and each reply is sent only after that commit. No auth, no idempotency
// record, no event log: the ceiling ours is measured against.
//
//   node bench/reference/fastify-sqlite-send.mjs <database-file>
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import Fastify from 'fastify';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: fastify-sqlite-send.mjs <database-file>');

const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
// The same table as the server's schema (packages/store/src/sqlite/sqlite-migrations.ts), without the foreign key.
db.exec(`CREATE TABLE IF NOT EXISTS messages (
  conversation_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  id TEXT NOT NULL UNIQUE,
  org_id TEXT NOT NULL,
  type TEXT NOT NULL,
  author_id TEXT NOT NULL,
  body TEXT,
  via TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID`);
const insert = db.prepare(
  'INSERT INTO messages (conversation_id, seq, id, org_id, type, author_id, body, via, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
);
let seq = Number(db.prepare('SELECT coalesce(max(seq), 0) AS s FROM messages').get().s);

/** Group commit, as in packages/store/src/sqlite/group-commit.ts but without per-op savepoints. */
let queue = [];
const insertAll = db.transaction((batch) => {
  for (const op of batch) insert.run(...op.row);
});
function commitLater(row) {
  return new Promise((resolve, reject) => {
    // setImmediate runs after this turn's I/O callbacks: every request parsed in this turn joins the batch.
    if (queue.length === 0) setImmediate(flushQueue);
    queue.push({ row, resolve, reject });
  });
}
function flushQueue() {
  const batch = queue;
  queue = [];
  if (batch.length === 0) return;
  try {
    insertAll(batch);
  } catch (error) {
    for (const op of batch) op.reject(error);
    return;
  }
  for (const op of batch) op.resolve();
}

const app = Fastify({ logger: false });
app.post('/conversations/:id/messages', async (req, reply) => {
  const text = req.body?.message;
  if (typeof text !== 'string' || text.trim() === '') return reply.code(422).send({ error: { code: 'VALIDATION' } });
  const message = {
    id: `msg_${randomBytes(12).toString('base64url')}`,
    type: 'member',
    authorID: 'bench',
    body: text,
    createdAt: new Date().toISOString(),
  };
  await commitLater([
    req.params.id,
    ++seq,
    message.id,
    'org',
    message.type,
    message.authorID,
    text,
    'member',
    message.createdAt,
  ]);
  return { ok: true, message };
});

const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening on ${address}`);
for (const signal of ['SIGTERM', 'SIGINT'])
  process.once(signal, () => {
    void app.close().then(() => {
      flushQueue();
      db.close();
      process.exit(0);
    });
  });
