import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS } from '@concierge/store';
import Database from 'better-sqlite3';
import { Webhook } from 'standardwebhooks';
import { Api, cli, Receiver, STORES, TestServer, until } from './harness/index.js';

/**
 * What migrations 4, 6 and 8 and the members' one (attributes, archive, listing, default tier) added, taken away
 * again, so a database can be set back to v1 by hand (3 and 5 are idempotent).
 */
const UNDO_AFTER_V2 = `
  DROP INDEX members_listing;
  DROP INDEX members_list_seq;
  ${['attributes', 'archived_at', 'list_seq'].map((c) => `ALTER TABLE members DROP COLUMN ${c};`).join('\n')}
  ALTER TABLE orgs DROP COLUMN default_tier;
  DROP TABLE webhook_outbox;
  ALTER TABLE webhook_endpoints DROP COLUMN outbox_seq;
  ALTER TABLE webhook_endpoints DROP COLUMN range_owner;
  ALTER TABLE webhook_endpoints DROP COLUMN range_until;
  ALTER TABLE webhook_endpoints DROP COLUMN range_to;
  DROP INDEX webhook_deliveries_listing;
  DROP INDEX conversations_org_activity;
  DROP INDEX conversations_org_state;
  ${['status', 'assignee_id', 'awaiting', 'state_updated_at', 'state_by_kind', 'state_by_id', 'created_seq']
    .map((c) => `ALTER TABLE conversations DROP COLUMN ${c};`)
    .join('\n')}
  DROP TABLE notes; DROP TABLE agent_links; DROP TABLE agent_sessions; DROP TABLE agents;
  DROP TABLE message_search; DROP TABLE message_search_rows; DROP TABLE member_search; DROP TABLE member_search_rows;
`;

test('a database made by schema v1 is migrated at start-up with its data intact (unread counts backfilled)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'concierge-migrate-'));
  const file = join(dir, 'v1.db');
  try {
    // Build a v1 database by hand, as the first release left it.
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec(SQLITE_MIGRATIONS[0]!);
    db.prepare(`INSERT INTO meta (key, value) VALUES ('server_secret', ?)`).run(randomBytes(32));
    db.pragma('user_version = 1');
    db.close();
    const { orgID, apiKey } = JSON.parse((await cli(['orgs', 'create', 'Old', '--json'], `sqlite:${file}`)).stdout);
    assert.match(orgID, /^org_/);
    // Any command migrates the database it opens to the newest schema.
    const raw = new Database(file);
    assert.equal(raw.pragma('user_version', { simple: true }), SQLITE_MIGRATIONS.length);
    raw.close();
    const server = await TestServer.start(`sqlite:${file}`, { args: ['--rate-limit', '0'], process: true });
    try {
      const api = new Api(server.url);
      const token = await api.memberToken(apiKey, 'old-member');
      const id = await api.openConversation(token);
      await api.send(token, id, 'mine');
      for (let i = 0; i < 3; i++)
        await api.post(`/v1/conversations/${id}/messages`, { token: apiKey, body: { message: `r${i}` } });
      assert.equal((await api.get(`/v1/conversations/${id}`, { token })).json.unreadCount, 3);
    } finally {
      await server.stop();
    }
    // Simulate a database still at v1 holding these rows: forget the column's value and the version, then start.
    const back = new Database(file);
    back.prepare('UPDATE conversations SET member_unread = 0').run();
    back.exec(UNDO_AFTER_V2);
    back.exec('ALTER TABLE conversations DROP COLUMN member_unread');
    back.pragma('user_version = 1');
    back.close();
    const again = await TestServer.start(`sqlite:${file}`, { args: ['--rate-limit', '0'], process: true });
    try {
      const api = new Api(again.url);
      const token = await api.memberToken(apiKey, 'old-member');
      const list = (await api.get('/v1/conversations', { token })).json;
      assert.equal(list.conversations[0].unreadCount, 3);
      assert.equal(
        (await api.get(`/v1/conversations/${list.conversations[0].id}/messages`, { token })).json.messages.length,
        4,
      );
    } finally {
      await again.stop();
    }
    // --migrate false refuses a database behind the code instead of running on a schema it does not know.
    const v1 = new Database(file);
    v1.exec(UNDO_AFTER_V2);
    v1.exec('ALTER TABLE conversations DROP COLUMN member_unread');
    v1.pragma('user_version = 1');
    v1.close();
    await assert.rejects(
      TestServer.start(`sqlite:${file}`, { args: ['--migrate', 'false'], process: true }),
      /needs migrating/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Rows as schema v3 (the release before the team's side) left them: one org with a key, one member, two
 * conversations, one whose last message is the member's (awaiting a reply) and one answered by the concierge.
 */
const V3_KEY = `ck_live_${'v3'.repeat(20)}`;
const V3_ROWS = (secret: string) => `
  INSERT INTO orgs (id, name, signing_secret, created_at, event_seq)
    VALUES ('org_v3', 'Old', ${secret}, '2026-01-01T00:00:00.000Z', 5);
  INSERT INTO api_keys (id, org_id, hash, hint, created_at)
    VALUES ('key_v3', 'org_v3', '${createHash('sha256').update(V3_KEY).digest('hex')}', 'ck_live_v3v3…',
            '2026-01-01T00:00:00.000Z');
  INSERT INTO members (id, org_id, external_user_id, display_name, email, tier, created_at, updated_at)
    VALUES ('mem_v3', 'org_v3', 'old-ada', 'Ada Oldtimer', NULL, NULL, '2026-01-01T00:00:00.000Z',
            '2026-01-01T00:00:00.000Z');
  INSERT INTO conversations (id, org_id, member_id, type, title, created_at, last_message_at, last_seq, member_unread)
    VALUES ('conv_v3a', 'org_v3', 'mem_v3', 'concierge', 'caviar', '2026-01-01T00:00:01.000Z',
            '2026-01-01T00:00:03.000Z', 3, 0),
           ('conv_v3b', 'org_v3', 'mem_v3', 'concierge', NULL, '2026-01-01T00:00:02.000Z',
            '2026-01-01T00:00:05.000Z', 5, 1);
  INSERT INTO messages (conversation_id, seq, id, org_id, type, author_id, body, via, created_at)
    VALUES ('conv_v3a', 3, 'msg_v3a', 'org_v3', 'member', 'old-ada', 'A legacy question about caviar', 'member',
            '2026-01-01T00:00:03.000Z'),
           ('conv_v3b', 4, 'msg_v3b', 'org_v3', 'member', 'old-ada', 'hello', 'member', '2026-01-01T00:00:04.000Z'),
           ('conv_v3b', 5, 'msg_v3c', 'org_v3', 'concierge', 'agent-x', 'A legacy answer', 'server',
            '2026-01-01T00:00:05.000Z');
  INSERT INTO events (org_id, seq, type, member_id, conversation_id, payload)
    VALUES ('org_v3', 1, 'conversation', 'mem_v3', 'conv_v3a', NULL),
           ('org_v3', 2, 'conversation', 'mem_v3', 'conv_v3b', NULL),
           ('org_v3', 3, 'message', 'mem_v3', 'conv_v3a', NULL),
           ('org_v3', 4, 'message', 'mem_v3', 'conv_v3b', NULL),
           ('org_v3', 5, 'message', 'mem_v3', 'conv_v3b', NULL);
`;

/**
 * Rows that schema v4 (the team's side) added to V3_ROWS: an agent, and one conversation assigned to them. No webhook
 * endpoint: v4 had none.
 */
const V4_ROWS = `
  INSERT INTO agents (id, org_id, email, name, role, password_hash, created_at, disabled_at)
    VALUES ('agt_v4', 'org_v3', 'grace@example.com', 'Grace', 'agent', NULL, '2026-02-01T00:00:00.000Z', NULL);
  UPDATE conversations SET assignee_id = 'agt_v4' WHERE id = 'conv_v3b';
`;

/**
 * Rows that schema v5 (webhooks, deliveries made by the send) adds for the migration 6 test: an endpoint to the
 * test's receiver, and one delivery still pending (made before the upgrade, its payload in the row; a delivered one
 * that old would be deleted by retention at start).
 */
const V5_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const V5_MESSAGE = {
  id: 'msg_v3c',
  orgID: 'org_v3',
  conversationID: 'conv_v3b',
  seq: 5,
  type: 'concierge',
  authorID: 'agent-x',
  body: 'A legacy answer',
  via: 'server',
  createdAt: '2026-01-01T00:00:05.000Z',
};
const V5_ROWS = (url: string, events: string) => `
  INSERT INTO webhook_endpoints (id, org_id, url, events, description, secret, created_at, updated_at)
    VALUES ('wh_v5', 'org_v3', '${url}', '${events}', NULL, '${V5_SECRET}', '2026-01-02T00:00:00.000Z',
            '2026-01-02T00:00:00.000Z');
  INSERT INTO webhook_deliveries (id, org_id, endpoint_id, event_type, data, status, attempts, next_attempt_at,
      created_at)
    VALUES ('whmsg_v5pending', 'org_v3', 'wh_v5', 'conversation.message_created', '${JSON.stringify(V5_MESSAGE)}',
            'pending', 1, 0, '2026-01-01T00:00:05.000Z');
`;

/**
 * A database at schema `version` (3, 4 or 5) holding V3_ROWS (V4_ROWS from 4, V5_ROWS to `receiverURL` at 5), as
 * those releases would have left it.
 */
async function oldDatabase(
  store: (typeof STORES)[number],
  version: 3 | 4 | 5 = 3,
  receiverURL = '',
): Promise<{ url: string; drop(): Promise<void> }> {
  const db = await store.fresh();
  if (store.name === 'sqlite') {
    const raw = new Database(db.url.slice('sqlite:'.length));
    raw.pragma('journal_mode = WAL');
    for (const sql of SQLITE_MIGRATIONS.slice(0, 3)) raw.exec(sql);
    raw.prepare(`INSERT INTO meta (key, value) VALUES ('server_secret', ?)`).run(randomBytes(32));
    raw.exec(V3_ROWS('randomblob(32)'));
    if (version >= 4) raw.exec(SQLITE_MIGRATIONS[3]! + V4_ROWS);
    if (version >= 5) raw.exec(SQLITE_MIGRATIONS[4]! + V5_ROWS(receiverURL, '["*"]'));
    raw.pragma(`user_version = ${version}`);
    raw.close();
  } else {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(
      'CREATE TABLE concierge_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    for (const sql of POSTGRES_MIGRATIONS.slice(0, 3)) await client.query(sql);
    await client.query('INSERT INTO concierge_migrations (version) VALUES (1), (2), (3)');
    await client.query(`INSERT INTO meta (key, value) VALUES ('server_secret', $1)`, [randomBytes(32)]);
    await client.query(V3_ROWS(`'\\x${randomBytes(32).toString('hex')}'::bytea`));
    if (version >= 4) {
      await client.query(POSTGRES_MIGRATIONS[3]!);
      await client.query(V4_ROWS);
      await client.query('INSERT INTO concierge_migrations (version) VALUES (4)');
    }
    if (version >= 5) {
      await client.query(POSTGRES_MIGRATIONS[4]!);
      await client.query(V5_ROWS(receiverURL, '{*}'));
      await client.query('INSERT INTO concierge_migrations (version) VALUES (5)');
    }
    await client.end();
  }
  return db;
}

/**
 * Migration 7 (SQLite only: PostgreSQL's search is a tsvector on the messages): the search index's rowids counted
 * down, newest lowest, and a search reads the newest SEARCH_WINDOW (1,000) matches. A v6 database with 1,100 old
 * matches in one conversation and the newest match in another: after the upgrade the newest is still inside the
 * window, which it is only if the rowids were turned round in the right order.
 */
const SQLITE = STORES.find((s) => s.name === 'sqlite');
test(
  'migration 7 [sqlite]: a v6 search index is turned round, newest matches first, old rows still erasable',
  {
    skip: SQLITE === undefined ? 'SQLite is not among the selected stores' : false,
  },
  async () => {
    const store = SQLITE!;
    const db = await store.fresh();
    const file = db.url.slice('sqlite:'.length);
    const raw = new Database(file);
    raw.pragma('journal_mode = WAL');
    for (const sql of SQLITE_MIGRATIONS.slice(0, 3)) raw.exec(sql);
    raw.prepare(`INSERT INTO meta (key, value) VALUES ('server_secret', ?)`).run(randomBytes(32));
    raw.exec(V3_ROWS('randomblob(32)'));
    // 1,100 older matches in conv_v3a (seqs 6 to 1105), then the newest match in conv_v3b (seq 1106).
    raw.exec(`
    WITH RECURSIVE n(i) AS (SELECT 6 UNION ALL SELECT i + 1 FROM n WHERE i < 1105)
    INSERT INTO messages (conversation_id, seq, id, org_id, type, author_id, body, via, created_at)
      SELECT 'conv_v3a', i, 'msg_old' || i, 'org_v3', 'member', 'old-ada', 'more caviar please ' || i, 'member',
             strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01T00:01:00.000Z', '+' || i || ' seconds') FROM n;
    INSERT INTO messages (conversation_id, seq, id, org_id, type, author_id, body, via, created_at)
      VALUES ('conv_v3b', 1106, 'msg_newest', 'org_v3', 'concierge', 'agent-x', 'The caviar has arrived', 'server',
              '2026-01-02T00:00:00.000Z');
    UPDATE conversations SET last_seq = 1105, last_message_at = '2026-01-01T00:19:25.000Z' WHERE id = 'conv_v3a';
    UPDATE conversations SET last_seq = 1106, last_message_at = '2026-01-02T00:00:00.000Z' WHERE id = 'conv_v3b';
    UPDATE orgs SET event_seq = 1106;
  `);
    for (const sql of SQLITE_MIGRATIONS.slice(3, 6)) raw.exec(sql);
    raw.pragma('user_version = 6');
    // As v6 left it: the newest message has the lowest rowid.
    assert.equal(
      (raw.prepare('SELECT body FROM message_search ORDER BY rowid LIMIT 1').get() as { body: string }).body,
      'The caviar has arrived',
    );
    raw.close();
    const server = await TestServer.start(db.url, { args: ['--rate-limit', '0'], process: true });
    try {
      assert.equal(await schemaVersion(store, db.url), SQLITE_MIGRATIONS.length);
      const api = new Api(server.url);
      const search = async (q: string) =>
        ((await api.get('/v1/inbox', { token: V3_KEY, query: { q } })).json.data as Array<Record<string, any>>).map(
          (i) => i.conversation.id as string,
        );
      assert.deepEqual((await search('caviar')).sort(), ['conv_v3a', 'conv_v3b']);
      // A new message is indexed above every old row, and found.
      const sent = await api.post('/v1/conversations/conv_v3b/messages', {
        token: V3_KEY,
        body: { message: 'Sturgeon on Tuesday' },
      });
      assert.equal(sent.status, 200, sent.text);
      assert.deepEqual(await search('sturgeon'), ['conv_v3b']);
      const check = new Database(file, { readonly: true });
      try {
        const rows = check.prepare('SELECT rowid AS r, body FROM message_search ORDER BY rowid').all() as Array<{
          r: number;
          body: string;
        }>;
        assert.equal(rows.length, 1105);
        assert.ok(
          rows.every((row, i) => row.r === i + 1),
          'rowids 1, 2, 3, … in creation order',
        );
        assert.deepEqual(
          rows.slice(-2).map((row) => row.body),
          ['The caviar has arrived', 'Sturgeon on Tuesday'],
        );
        // The conversation → rowid map moved with them (erasure finds a member's rows by it).
        const unmapped = check
          .prepare('SELECT count(*) AS n FROM message_search WHERE rowid NOT IN (SELECT row FROM message_search_rows)')
          .get() as { n: number };
        assert.equal(unmapped.n, 0);
      } finally {
        check.close();
      }
      // Erasing the member removes every old row from the index.
      assert.deepEqual((await api.post('/v1/members/old-ada/erase', { token: V3_KEY })).json, {
        ok: true,
        erased: true,
      });
      assert.deepEqual(await search('caviar'), []);
      const after = new Database(file, { readonly: true });
      try {
        assert.equal((after.prepare('SELECT count(*) AS n FROM message_search').get() as { n: number }).n, 0);
      } finally {
        after.close();
      }
    } finally {
      await server.stop();
      await db.drop();
    }
  },
);

/** The schema version the database is at: SQLite's user_version, PostgreSQL's newest recorded migration. */
async function schemaVersion(store: (typeof STORES)[number], url: string): Promise<number> {
  if (store.name === 'sqlite') {
    const raw = new Database(url.slice('sqlite:'.length), { readonly: true });
    try {
      return raw.pragma('user_version', { simple: true }) as number;
    } finally {
      raw.close();
    }
  }
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('SELECT max(version) AS v FROM concierge_migrations')).rows[0].v as number;
  } finally {
    await client.end();
  }
}

for (const store of STORES) {
  describe(`migration 4 [${store.name}]`, () => {
    test('a v3 database with data gets team state, the inbox order and search, carried forward', async () => {
      const db = await oldDatabase(store);
      const server = await TestServer.start(db.url, { args: ['--rate-limit', '0'], process: true });
      try {
        const api = new Api(server.url);
        const inbox = await api.get('/v1/inbox', { token: V3_KEY });
        assert.equal(inbox.status, 200, inbox.text);
        const items = inbox.json.data as Array<Record<string, any>>;
        assert.deepEqual(
          items.map((i) => [i.conversation.id, i.status, i.assigneeID, i.awaitingReply, i.lastMessage?.id]),
          [
            ['conv_v3b', 'open', null, false, 'msg_v3c'],
            ['conv_v3a', 'open', null, true, 'msg_v3a'],
          ],
        );
        assert.equal(items[0]!.conversation.unreadCount, 1);
        assert.deepEqual(await api.get('/v1/inbox/counts', { token: V3_KEY }).then((r) => r.json), {
          unassigned: 2,
          mine: 0,
          open: 2,
          awaiting: 1,
          closed: 0,
        });
        const search = async (q: string) =>
          ((await api.get('/v1/inbox', { token: V3_KEY, query: { q } })).json.data as Array<Record<string, any>>).map(
            (i) => i.conversation.id as string,
          );
        assert.deepEqual(await search('caviar'), ['conv_v3a']);
        assert.deepEqual((await search('oldtimer')).sort(), ['conv_v3a', 'conv_v3b']);
        // Paging over old rows uses their creation seqs, filled from the event log.
        const first = await api.get('/v1/inbox', { token: V3_KEY, query: { limit: '1' } });
        const second = await api.get('/v1/inbox', {
          token: V3_KEY,
          query: { limit: '1', cursor: first.json.nextCursor },
        });
        assert.equal(second.json.data[0].conversation.id, 'conv_v3a');
        // The new columns take part in new writes: the concierge answers, the flag clears.
        await api.post('/v1/conversations/conv_v3a/messages', { token: V3_KEY, body: { message: 'Noted.' } });
        assert.equal((await api.get('/v1/inbox/counts', { token: V3_KEY })).json.awaiting, 0);
      } finally {
        await server.stop();
        await db.drop();
      }
    });
  });
  describe(`migration 5 [${store.name}]`, () => {
    test('a v4 database with conversations, messages and an agent gets webhooks that work on its old rows', async () => {
      const db = await oldDatabase(store, 4);
      const receiver = await Receiver.start();
      const args = ['--rate-limit', '0', '--webhooks-allow-http', '--webhooks-allow-private'];
      const server = await TestServer.start(db.url, { args, process: true });
      try {
        const newest = (store.name === 'sqlite' ? SQLITE_MIGRATIONS : POSTGRES_MIGRATIONS).length;
        assert.ok(newest >= 5);
        assert.equal(await schemaVersion(store, db.url), newest);
        const api = new Api(server.url);
        assert.deepEqual((await api.get('/v1/webhooks', { token: V3_KEY })).json, { data: [] });
        const created = await api.post('/v1/webhooks', { token: V3_KEY, body: { url: receiver.url, events: ['*'] } });
        assert.equal(created.status, 201, created.text);
        const secret = created.json.signingSecret as string;
        // The old member writes again in the conversation the v4 agent holds.
        const token = await api.memberToken(V3_KEY, 'old-ada');
        const sent = await api.send(token, 'conv_v3b', 'back again');
        assert.equal(sent.status, 200, sent.text);
        const types = () => receiver.events().map((e) => e.type);
        await receiver.until(
          () => types().includes('conversation.message_created') && types().includes('conversation.updated'),
          'the message and the state change delivered',
        );
        for (const r of receiver.received) new Webhook(secret).verify(r.body, r.headers as Record<string, string>);
        const events = receiver.events();
        const message = events.find((e) => e.type === 'conversation.message_created')!;
        assert.deepEqual(message.data, { conversationID: 'conv_v3b', message: sent.json.message });
        const state = events.find((e) => e.type === 'conversation.updated')!;
        assert.equal(state.data.assigneeID, 'agt_v4');
        assert.equal(state.data.awaitingReply, true);
        // Erasing the old member reaches their deliveries, made on rows older than the webhooks.
        assert.equal((await api.post('/v1/members/old-ada/erase', { token: V3_KEY })).status, 200);
        await receiver.until(() => types().includes('member.deleted'), 'member.deleted delivered');
        const deliveries = async () =>
          (await api.get(`/v1/webhooks/${created.json.id}/deliveries`, { token: V3_KEY })).json.data as Array<{
            eventType: string;
            status: string;
          }>;
        // A delivery is listed once its first attempt is recorded, a moment after the receiver has it.
        await until(async () => {
          const list = await deliveries();
          return list.some((d) => d.eventType === 'member.deleted') && list.every((d) => d.status === 'delivered');
        }, 'all delivered');
        assert.deepEqual(
          (await deliveries()).map((d) => d.eventType),
          ['member.deleted'],
        );
      } finally {
        await server.stop();
        await receiver.close();
        await db.drop();
      }
    });
  });

  describe(`migration 6 [${store.name}]`, () => {
    test('a v5 database: its pending delivery still goes, old events are not sent again, new ones go once', async () => {
      const receiver = await Receiver.start();
      const db = await oldDatabase(store, 5, receiver.url);
      const args = ['--rate-limit', '0', '--webhooks-allow-http', '--webhooks-allow-private'];
      const server = await TestServer.start(db.url, { args, process: true });
      try {
        assert.equal(
          await schemaVersion(store, db.url),
          (store.name === 'sqlite' ? SQLITE_MIGRATIONS : POSTGRES_MIGRATIONS).length,
        );
        const api = new Api(server.url);
        // The delivery made before the upgrade goes, with the payload its row kept.
        await receiver.until(() => receiver.received.length >= 1, 'the pending v5 delivery');
        const first = receiver.received[0]!;
        const event = new Webhook(V5_SECRET).verify(first.body, first.headers as Record<string, string>) as any;
        assert.equal(first.headers['webhook-id'], 'whmsg_v5pending');
        assert.equal(event.data.message.id, 'msg_v3c');
        // A new message is made into one delivery from the outbox; none of the org's five old events is.
        const token = await api.memberToken(V3_KEY, 'old-ada');
        const sent = await api.send(token, 'conv_v3a', 'after the upgrade');
        assert.equal(sent.status, 200, sent.text);
        const ids = () => receiver.events().map((e) => e.data?.message?.id as string | undefined);
        await receiver.until(() => ids().includes(sent.json.message.id), 'the new message delivered');
        const deliveries = async () =>
          (await api.get('/v1/webhooks/wh_v5/deliveries', { token: V3_KEY })).json.data as Array<{
            id: string;
            eventType: string;
            status: string;
          }>;
        await until(async () => (await deliveries()).every((d) => d.status === 'delivered'), 'all delivered');
        const messageIDs = ids().filter((id) => id !== undefined);
        assert.equal(messageIDs.filter((id) => id === sent.json.message.id).length, 1);
        assert.ok(!messageIDs.includes('msg_v3a') && !messageIDs.includes('msg_v3b'), messageIDs.join(','));
        const listed = await deliveries();
        assert.deepEqual(
          listed.map((d) => d.id).filter((id) => id.startsWith('whmsg_v5')),
          ['whmsg_v5pending'],
        );
      } finally {
        await server.stop();
        await receiver.close();
        await db.drop();
      }
    });
  });
}
