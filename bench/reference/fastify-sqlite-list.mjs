// Reference for `list`: a bare Fastify route running the same keyset query as the SQLite store's
// listMessagesBefore (packages/store/src/sqlite/sqlite-queries.ts, `messagesBefore`) on the same database file, and
// answering the same JSON shape. No auth, no conversation check, no signed cursor: the ceiling for a page read.
//
//   node bench/reference/fastify-sqlite-list.mjs <database-file>
import Database from 'better-sqlite3';
import Fastify from 'fastify';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: fastify-sqlite-list.mjs <database-file>');

// Our server has the file open in WAL mode; a second connection reads a consistent snapshot beside it.
const db = new Database(file, { readonly: true, fileMustExist: true });
const before = db.prepare('SELECT * FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?');
const latest = db.prepare('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?');

const app = Fastify({ logger: false });
app.get('/conversations/:id/messages', async (req) => {
  const limit = Math.min(Math.max(Number(req.query.limit ?? 50) || 50, 1), 100);
  const cursor = req.query.before === undefined ? null : Number(req.query.before);
  const rows = cursor === null ? latest.all(req.params.id, limit + 1) : before.all(req.params.id, cursor, limit + 1);
  const page = rows.slice(0, limit);
  return {
    messages: page.map((m) => ({
      id: m.id,
      type: m.type,
      authorID: m.author_id,
      body: m.body,
      createdAt: m.created_at,
    })),
    nextCursor: rows.length > limit ? String(page[page.length - 1].seq) : null,
  };
});

const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`listening on ${address}`);
for (const signal of ['SIGTERM', 'SIGINT'])
  process.once(signal, () => {
    void app.close().then(() => {
      db.close();
      process.exit(0);
    });
  });
