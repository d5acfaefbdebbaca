import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { Api, cli, errorCode, GUARD_MS, RawStream, STORES, TestServer, withServer } from './harness/index.js';

/**
 * What the PostgreSQL store adds to the common suites: text PostgreSQL cannot hold is refused as a client error
 * (on every store, so the API answers the same), and the schema migrations behave when several instances start
 * at once or when migrating is left to `concierge migrate`.
 */

for (const store of STORES) {
  describe(`text a database cannot hold [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let key: string;
    let token: string;
    let conversation: string;

    before(async () => {
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0'] }));
      api = new Api(server.url);
      key = server.org.apiKey;
      token = await api.memberToken(key, 'nul-tester');
      conversation = await api.openConversation(token);
    });
    after(() => close());

    test('a NUL character in any written field is 422 VALIDATION naming the field, and nothing is stored', async () => {
      const cases: Array<[string, () => Promise<{ status: number; json: any; text: string }>, string]> = [
        ['message', () => api.send(token, conversation, 'a\u0000b'), 'message'],
        [
          'concierge message',
          () => api.post(`/v1/conversations/${conversation}/messages`, { token: key, body: { message: '\u0000' } }),
          'message',
        ],
        ['title', () => api.post('/v1/conversations', { token, body: { title: 'x\u0000' } }), 'title'],
        [
          'exchange profile',
          () =>
            api.post('/v1/auth/exchange', { token: key, body: { externalUserID: 'nul-2', displayName: 'A\u0000' } }),
          'displayName',
        ],
        [
          'member profile',
          () => api.put('/v1/members/nul-tester', { token: key, body: { tier: '\u0000gold' } }),
          'tier',
        ],
      ];
      for (const [what, call, field] of cases) {
        const r = await call();
        assert.equal(r.status, 422, `${what}: ${r.status} ${r.text}`);
        assert.equal(errorCode(r as never), 'VALIDATION');
        assert.equal(r.json.error.field, field, what);
      }
      const page = await api.get(`/v1/conversations/${conversation}/messages`, { token });
      assert.deepEqual(page.json.messages, []);
      assert.equal((await api.get('/v1/conversations', { token })).json.conversations.length, 1);
      assert.equal((await api.get('/v1/members/nul-2', { token: key })).status, 404);
    });

    test('a write that fails inside the store fails alone: the writes committed with it are kept', async (t) => {
      // A member removed while replies to their conversation are in flight: those replies pass the route's checks,
      // then find the conversation gone in the store (404). Sends of another member, made in the same instant,
      // share their group-commit batches and must all succeed.
      let vanished = 0;
      for (let round = 0; round < 8; round++) {
        const doomed = `doomed-${round}`;
        await api.memberToken(key, doomed);
        const gone = (await api.post('/v1/conversations', { token: key, body: { externalUserID: doomed } })).json
          .id as string;
        const keeper = await api.memberToken(key, `keeper-${round}`);
        const kept = await api.openConversation(keeper);
        const replies = Array.from({ length: 10 }, (_, i) =>
          api.post(`/v1/conversations/${gone}/messages`, { token: key, body: { message: `to the doomed ${i}` } }),
        );
        const removal = api.post(`/v1/members/${doomed}/erase`, { token: key });
        const sends = Array.from({ length: 10 }, (_, i) => api.send(keeper, kept, `kept ${i}`));
        for (const r of await Promise.all(replies)) {
          assert.ok(r.status === 200 || r.status === 404, `${r.status} ${r.text}`);
          if (r.status === 404) vanished++;
        }
        assert.equal((await removal).status, 200);
        for (const r of await Promise.all(sends)) assert.equal(r.status, 200, r.text);
        const history = await api.get(`/v1/conversations/${kept}/messages`, { token: keeper });
        assert.equal(history.json.messages.length, 10);
      }
      t.diagnostic(`${vanished} replies found their conversation gone`);
    });

    test('a NUL character in a looked-up id is a plain 4xx, never a 5xx', async () => {
      const reads = [
        api.get(`/v1/conversations/${encodeURIComponent('conv\u0000x')}`, { token }),
        api.get(`/v1/conversations/${encodeURIComponent('conv\u0000x')}/messages`, { token }),
        api.post(`/v1/conversations/${encodeURIComponent('conv\u0000x')}/messages`, { token, body: { message: 'hi' } }),
        api.get(`/v1/members/${encodeURIComponent('a\u0000b')}`, { token: key }),
        api.delete(`/v1/members/${encodeURIComponent('a\u0000b')}`, { token: key }),
        api.post(`/v1/members/${encodeURIComponent('a\u0000b')}/erase`, { token: key }),
        api.post(`/v1/members/${encodeURIComponent('a\u0000b')}/revoke-tokens`, { token: key }),
        api.get('/v1/conversations', { token: key, query: { externalUserID: 'a\u0000b' } }),
        api.post(`/v1/conversations/${conversation}/read`, { token, body: { messageID: 'msg\u0000' } }),
      ];
      for (const r of await Promise.all(reads)) {
        assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.text}`);
        errorCode(r);
      }
    });
  });
}

const POSTGRES = STORES.filter((s) => s.name === 'postgres');

for (const store of POSTGRES) {
  describe(`PostgreSQL connections lost [${store.name}]`, () => {
    test('when every database connection of an instance is cut it recovers by itself: retried sends post once, streams carry on', async () => {
      const { server, close } = await withServer(store, { args: ['--rate-limit', '0'] });
      const admin = new pg.Client({ connectionString: process.env.CONCIERGE_TEST_PG_URL });
      await admin.connect();
      try {
        const api = new Api(server.url);
        const token = await api.memberToken(server.org.apiKey, 'cut-off');
        const id = await api.openConversation(token);
        const stream = await RawStream.open(`${server.url}/v1/conversations/${id}/stream`, {
          authorization: `Bearer ${token}`,
        });
        // A first message on the stream proves it is live: its catch-up read (after the id-only start frame) is
        // done, so the cuts below cannot land on that read (which would end the stream, as designed, before it
        // began). The start frame alone did not prove it: the read runs after it is written.
        assert.equal((await api.send(token, id, 'before the cuts')).status, 200);
        await stream.until(() => stream.events.length >= 1, 30_000, 'the first message');
        const dbName = new URL(server.databaseURL).pathname.slice(1);
        let sent = 1;
        for (let cut = 0; cut < 3; cut++) {
          const killed = await admin.query(
            `SELECT application_name, pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND application_name LIKE 'concierge%'`,
            [dbName],
          );
          const names = killed.rows.map((r) => (r.application_name as string).replace(/:.*/, '')).sort();
          // Every kind of connection is cut: the read pool may hold more than one (the webhook deliverer reads too).
          if (cut === 0) assert.deepEqual([...new Set(names)], ['concierge', 'concierge-listen', 'concierge-writer']);
          // A client retries a failed send with the same key, as the SDKs do; it must post exactly once.
          const key = `retry-${cut}`;
          let answer = await api.send(token, id, `after cut ${cut}`, { 'idempotency-key': key });
          // Retried until the pool has reconnected, however long a busy machine takes (the guard is generous);
          // the 200 ms is a client's retry delay, not a wait for anything.
          for (const deadline = Date.now() + GUARD_MS; answer.status >= 500 && Date.now() < deadline;) {
            await new Promise((r) => setTimeout(r, 200));
            answer = await api.send(token, id, `after cut ${cut}`, { 'idempotency-key': key });
          }
          assert.equal(answer.status, 200, `cut ${cut} (${names.join(', ')}): ${answer.text}`);
          sent++;
        }
        const history = await api.get(`/v1/conversations/${id}/messages`, { token });
        assert.equal(history.json.messages.length, sent);
        await stream.until(() => stream.events.length >= sent, undefined, 'every message on the stream');
        assert.deepEqual(
          stream.events.map((e) => JSON.parse(e.data).id),
          (history.json.messages as Array<{ id: string }>).map((m) => m.id).reverse(),
        );
        stream.close();
      } finally {
        await admin.end();
        await close();
      }
    });
  });

  describe(`PostgreSQL schema migrations [${store.name}]`, () => {
    test('several instances starting at once on an empty database migrate it once, make one default org, and all serve', async () => {
      const db = await store.fresh();
      const servers: TestServer[] = [];
      // Line the instances up on the same instant: an uncommitted table of the same name makes whichever gets to
      // the migrations first wait on it (and any unguarded one with it); all are released together by ROLLBACK.
      const gate = new pg.Client({ connectionString: db.url });
      await gate.connect();
      await gate.query('BEGIN');
      await gate.query('CREATE TABLE concierge_migrations (version integer PRIMARY KEY)');
      try {
        const starting = [0, 1, 2, 3].map(() =>
          TestServer.start(db.url, { args: ['--rate-limit', '0'], process: true }),
        );
        // Watched from another session: inside the gate's transaction pg_stat_activity is a frozen snapshot.
        const watch = new pg.Client({ connectionString: db.url });
        await watch.connect();
        const deadline = Date.now() + 20_000;
        for (;;) {
          const waiting = await watch.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'concierge' AND wait_event_type = 'Lock'`,
          );
          if (waiting.rows[0].n >= 4 || Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        await watch.end();
        await gate.query('ROLLBACK');
        await gate.end();
        const started = await Promise.allSettled(starting);
        for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
        for (const s of started) assert.equal(s.status, 'fulfilled', s.status === 'rejected' ? String(s.reason) : '');
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          const versions = (await client.query('SELECT version FROM concierge_migrations ORDER BY version')).rows.map(
            (r) => r.version,
          );
          assert.deepEqual(
            versions,
            versions.map((_, i) => i + 1),
            'each version applied exactly once',
          );
          assert.ok(versions.length >= 1);
          assert.equal(
            (await client.query(`SELECT count(*)::int AS n FROM meta WHERE key = 'server_secret'`)).rows[0].n,
            1,
          );
          // The first-start org is made once between them, and its key printed by exactly one instance.
          assert.equal((await client.query(`SELECT count(*)::int AS n FROM orgs`)).rows[0].n, 1);
          assert.equal(servers.filter((x) => /First start/.test(x.stdout)).length, 1);
        } finally {
          await client.end();
        }
        // They share one server secret: a cursor or stream id made by one is good on another.
        const org = await servers[0]!.createOrg('shared');
        const apis = servers.map((s) => new Api(s.url));
        const token = await apis[0]!.memberToken(org.apiKey, 'pager');
        const id = await apis[1]!.openConversation(token);
        for (let i = 0; i < 5; i++) assert.equal((await apis[i % 4]!.send(token, id, `m${i}`)).status, 200);
        const first = await apis[2]!.get(`/v1/conversations/${id}/messages`, { token, query: { limit: '2' } });
        const rest = await apis[3]!.get(`/v1/conversations/${id}/messages`, {
          token,
          query: { limit: '10', cursor: first.json.nextCursor as string },
        });
        assert.equal(rest.status, 200, rest.text);
        const bodies = [...first.json.messages, ...rest.json.messages].map((m: { body: string }) => m.body);
        assert.deepEqual(bodies, ['m4', 'm3', 'm2', 'm1', 'm0']);
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
        await db.drop();
      }
    });

    test('with --migrate false an unmigrated database is refused until `concierge migrate` runs', async () => {
      const db = await store.fresh();
      try {
        await assert.rejects(TestServer.start(db.url, { args: ['--migrate', 'false'] }), (error: Error) =>
          /concierge migrate/.test(error.message),
        );
        const { stdout } = await cli(['migrate'], db.url);
        assert.match(stdout, /migrations applied/);
        // Running it again is a no-op, not an error.
        await cli(['migrate'], db.url);
        const server = await TestServer.start(db.url, { args: ['--migrate', 'false'] });
        try {
          const api = new Api(server.url);
          assert.equal((await api.get('/healthz')).status, 200);
          const token = await api.memberToken(server.org.apiKey, 'after-migrate');
          assert.equal((await api.send(token, await api.openConversation(token), 'works')).status, 200);
        } finally {
          await server.stop();
        }
      } finally {
        await db.drop();
      }
    });

    test('migration 2 fills the unread counts of conversations that existed before it', async () => {
      const db = await store.fresh();
      try {
        let server = await TestServer.start(db.url, { args: ['--rate-limit', '0'] });
        const api = new Api(server.url);
        const key = server.org.apiKey;
        const token = await api.memberToken(key, 'backfill');
        const id = await api.openConversation(token);
        await api.send(token, id, 'from the member');
        const replies = [];
        for (let i = 0; i < 3; i++)
          replies.push(
            (await api.post(`/v1/conversations/${id}/messages`, { token: key, body: { message: `reply ${i}` } })).json,
          );
        await api.post(`/v1/conversations/${id}/read`, { token, body: { messageID: replies[0].message.id } });
        const expected = (await api.get(`/v1/conversations/${id}`, { token })).json.unreadCount;
        assert.equal(expected, 2);
        await server.stop();
        // Put the database back to schema v1, as a database made before migration 2 would be.
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        // What migration 4 added goes too (3 is idempotent), so migrations 2 to the latest run again.
        await client.query(`
          DROP TABLE notes, agent_links, agent_sessions, agents;
          DROP INDEX conversations_org_activity, messages_org_seq;
          ALTER TABLE conversations DROP COLUMN status, DROP COLUMN assignee_id, DROP COLUMN awaiting,
            DROP COLUMN state_updated_at, DROP COLUMN state_by_kind, DROP COLUMN state_by_id, DROP COLUMN created_seq;
          ALTER TABLE messages DROP COLUMN search;
          ALTER TABLE members DROP COLUMN search;
        `);
        await client.query('ALTER TABLE conversations DROP COLUMN member_unread');
        await client.query('DELETE FROM concierge_migrations WHERE version >= 2');
        await client.end();
        await cli(['migrate'], db.url);
        server = await TestServer.start(db.url, { args: ['--migrate', 'false'] });
        try {
          const again = new Api(server.url);
          assert.equal((await again.get(`/v1/conversations/${id}`, { token })).json.unreadCount, expected);
          await again.post(`/v1/conversations/${id}/messages`, { token: key, body: { message: 'one more' } });
          assert.equal(
            (await again.get('/v1/conversations', { token })).json.conversations[0].unreadCount,
            expected + 1,
          );
        } finally {
          await server.stop();
        }
      } finally {
        await db.drop();
      }
    });

    test('a database migrated by a newer build is refused rather than misread', async () => {
      const db = await store.fresh();
      try {
        await cli(['migrate'], db.url);
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        await client.query(
          'INSERT INTO concierge_migrations (version) SELECT max(version) + 1 FROM concierge_migrations',
        );
        await client.end();
        await assert.rejects(TestServer.start(db.url), (error: Error) => /newer than this build/.test(error.message));
      } finally {
        await db.drop();
      }
    });
  });
}
