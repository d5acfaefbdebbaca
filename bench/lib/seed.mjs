// Seeds large conversations fast by writing rows straight into the server's SQLite file, in the server's own
// schema (packages/store/src/sqlite/sqlite-migrations.ts), in one transaction per conversation, while the server
// is stopped. Seqs continue the org's event counter and the conversation's head (`last_seq`, `last_message_at`)
// is moved as the store itself would, so the server reads the result exactly like history it wrote.
// Only `messages` rows are written: the `events` log (read by /v1/stream replay) is not needed by listMessages.
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';

/**
 * Appends `count` messages to `conversationID`, alternating member and concierge authors, one second apart in
 * `createdAt`, ending now. Returns the first and last seq written.
 */
export function seedMessages(file, conversationID, count) {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    const conv = db
      .prepare(
        'SELECT c.org_id, m.external_user_id FROM conversations c JOIN members m ON m.id = c.member_id WHERE c.id = ?',
      )
      .get(conversationID);
    if (conv === undefined) throw new Error(`no conversation ${conversationID}`);
    const insert = db.prepare(
      `INSERT INTO messages (conversation_id, seq, id, org_id, type, author_id, body, via, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const prefix = `msg_seed${randomBytes(6).toString('hex')}`;
    const start = Date.now() - count * 1000;
    return db.transaction(() => {
      const first = Number(db.prepare('SELECT event_seq FROM orgs WHERE id = ?').get(conv.org_id).event_seq) + 1;
      let createdAt = '';
      for (let i = 0; i < count; i++) {
        const member = i % 2 === 0;
        createdAt = new Date(start + i * 1000).toISOString();
        insert.run(
          conversationID,
          first + i,
          `${prefix}${i.toString(36)}`,
          conv.org_id,
          member ? 'member' : 'concierge',
          member ? conv.external_user_id : 'concierge',
          member
            ? `Question number ${i}: could you look into this for me?`
            : `Answer number ${i}: of course, it is done.`,
          member ? 'member' : 'server',
          createdAt,
        );
      }
      const last = first + count - 1;
      db.prepare('UPDATE orgs SET event_seq = ? WHERE id = ?').run(last, conv.org_id);
      db.prepare('UPDATE conversations SET last_seq = ?, last_message_at = ? WHERE id = ?').run(
        last,
        createdAt,
        conversationID,
      );
      // Schema v2 keeps the member's unread count on the row (the concierge's messages past the read mark): keep
      // it true, as the store's own insert would.
      const columns = db
        .prepare('PRAGMA table_info(conversations)')
        .all()
        .map((c) => c.name);
      if (columns.includes('member_unread'))
        db.prepare('UPDATE conversations SET member_unread = member_unread + ? WHERE id = ?').run(
          Math.floor(count / 2),
          conversationID,
        );
      return { first, last };
    })();
  } finally {
    db.close();
  }
}

/** The server's cursor secret (meta.server_secret), to sign a cursor into the middle of a seeded history. */
export function serverSecret(file) {
  const db = new Database(file, { readonly: true });
  try {
    return new Uint8Array(db.prepare(`SELECT value FROM meta WHERE key = 'server_secret'`).get().value);
  } finally {
    db.close();
  }
}
