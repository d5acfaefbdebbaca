// Seeds an org's inbox fast for the search benchmark: members, conversations and messages written straight into
// the server's SQLite file (schema v4: packages/store/src/sqlite/sqlite-migrations.ts) in one transaction, while
// the server is stopped, with the full-text rows the store's own writes would make (message_search and
// member_search with their rowid maps), the team state columns and the org counter moved as the store would.
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';

/** A deterministic generator, so every run searches the same text. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'be', 'da', 'fu', 'go', 'hi', 'je', 'pa', 'zo'];

/** `n` made-up words of 2 to 4 syllables: a vocabulary whose frequencies the benchmark controls. */
export function vocabulary(n, random = prng(7)) {
  const words = new Set();
  while (words.size < n) {
    const len = 2 + Math.floor(random() * 3);
    let w = '';
    for (let i = 0; i < len; i++) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    words.add(w);
  }
  return [...words];
}

/**
 * `conversations` conversations of `members` members with `messagesPer` messages each, words drawn from `words`
 * with a Zipf-like skew (a few words are common, most are rare, as in real text). Returns nothing; the caller
 * restarts the server on the file.
 */
export function seedInbox(file, orgID, { members, conversations, messagesPer, words }) {
  const random = prng(42);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    const s = {
      member: db.prepare(
        `INSERT INTO members (id, org_id, external_user_id, display_name, email, tier, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, NULL, ?, ?)`,
      ),
      memberFts: db.prepare('INSERT INTO member_search (names, member_id, org_id) VALUES (?, ?, ?)'),
      memberRow: db.prepare('INSERT INTO member_search_rows (member_id, row) VALUES (?, ?)'),
      conversation: db.prepare(
        `INSERT INTO conversations (id, org_id, member_id, type, title, created_at, last_message_at, last_seq,
           member_read_seq, concierge_read_seq, member_unread, status, assignee_id, awaiting, state_updated_at,
           state_by_kind, state_by_id, created_seq)
         VALUES (?, ?, ?, 'concierge', NULL, ?, ?, ?, 0, 0, 0, ?, NULL, ?, ?, 'member', ?, ?)`,
      ),
      message: db.prepare(
        `INSERT INTO messages (conversation_id, seq, id, org_id, type, author_id, body, via, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      // Rowids count down as the store's own inserts make them (newest first in FTS5's natural order).
      messageFts: db.prepare('INSERT INTO message_search (rowid, body, conversation_id, org_id) VALUES (?, ?, ?, ?)'),
      messageRow: db.prepare('INSERT INTO message_search_rows (conversation_id, row) VALUES (?, ?)'),
    };
    // Zipf-ish: index = floor(n * u^3) makes low indexes (common words) far more likely than high ones.
    const word = () => words[Math.floor(words.length * random() ** 3)];
    const sentence = () => {
      const n = 6 + Math.floor(random() * 10);
      const out = [];
      for (let i = 0; i < n; i++) out.push(word());
      return out.join(' ');
    };
    const tag = randomBytes(4).toString('hex');
    const start = Date.now() - conversations * messagesPer * 1000;
    db.transaction(() => {
      let seq = Number(db.prepare('SELECT event_seq FROM orgs WHERE id = ?').get(orgID).event_seq);
      let ftsRow = Number(db.prepare('SELECT rowid FROM message_search ORDER BY rowid LIMIT 1').get()?.rowid ?? 0);
      const memberIDs = [];
      const now = new Date().toISOString();
      for (let m = 0; m < members; m++) {
        const id = `mem_seed${tag}${m.toString(36)}`;
        const ext = `member-${m}`;
        const name = `${word()} ${word()}`;
        s.member.run(id, orgID, ext, name, `${ext}@club.example`, now, now);
        const row = s.memberFts.run(`${name} ${ext}@club.example ${ext}`, id, orgID).lastInsertRowid;
        s.memberRow.run(id, row);
        memberIDs.push([id, ext]);
      }
      for (let c = 0; c < conversations; c++) {
        const [memberID, ext] = memberIDs[c % members];
        const id = `conv_seed${tag}${c.toString(36)}`;
        const createdSeq = ++seq;
        let last = '';
        let fromMember = false;
        const rows = [];
        for (let i = 0; i < messagesPer; i++) {
          fromMember = i % 2 === 0 || random() < 0.2;
          last = new Date(start + (c * messagesPer + i) * 1000).toISOString();
          rows.push([++seq, fromMember, sentence(), last]);
        }
        const closed = random() < 0.3;
        s.conversation.run(
          id,
          orgID,
          memberID,
          new Date(start + c * messagesPer * 1000).toISOString(),
          last,
          seq,
          closed ? 'closed' : 'open',
          fromMember ? 1 : 0,
          last,
          ext,
          createdSeq,
        );
        for (const [mseq, member, body, at] of rows) {
          s.message.run(
            id,
            mseq,
            `msg_seed${tag}${mseq.toString(36)}`,
            orgID,
            member ? 'member' : 'concierge',
            member ? ext : 'concierge',
            body,
            member ? 'member' : 'server',
            at,
          );
          s.messageRow.run(id, s.messageFts.run(--ftsRow, body, id, orgID).lastInsertRowid);
        }
      }
      db.prepare('UPDATE orgs SET event_seq = ? WHERE id = ?').run(seq, orgID);
    })();
    // What a long-running server's FTS index looks like after its automatic merges.
    db.exec(`INSERT INTO message_search (message_search) VALUES ('optimize')`);
    db.exec('ANALYZE');
  } finally {
    db.close();
  }
}
