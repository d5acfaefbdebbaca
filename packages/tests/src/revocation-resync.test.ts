import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { acrossStores, Api, errorCode, RawStream, STORES, TestServer, until, withServer } from './harness/index.js';

/**
 * Security state must not ride on a notification alone. Revocations, member archives and
 * erasures, spent stream tickets hold on every instance even when the signal that announces them is lost: an instance
 * whose LISTEN connection is down reads them from the database, and one that reconnects drops its caches. The
 * cache itself never answers "valid" for a mark it no longer holds.
 */

const ARGS = ['--rate-limit', '0', '--heartbeat', '1', '--max-streams-per-member', '100'];

/** Opens a stream; the caller checks `status` (200 is a stream, anything else an error envelope in `body`). */
async function stream(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
  const s = await RawStream.open(url, headers);
  if (s.status === 200) await s.until(() => s.retry !== undefined);
  else await s.until(() => s.ended || s.body.length > 0);
  return s;
}

function bodyCode(s: RawStream): string {
  return (JSON.parse(s.body) as { error: { code: string } }).error.code;
}

acrossStores((store) => {
  describe(`a token's validity does not depend on the cache [${store.name}]`, () => {
    test('a ticket asked for before a revocation is refused after it, even when the mark was evicted', async () => {
      // A cache of one mark: any other member's request evicts the revoked member's.
      const { server, close } = await withServer(store, { args: ARGS, env: { CONCIERGE_MEMBER_CACHE_MAX: '1' } });
      try {
        const api = new Api(server.url);
        const key = server.org.apiKey;
        const token = await api.memberToken(key, 'evictee');
        const conv = await api.openConversation(token);
        const ticket = (await api.post('/v1/stream-tickets', { token })).json.ticket as string;
        assert.equal((await api.post('/v1/members/evictee/revoke-tokens', { token: key })).status, 200);
        const other = await api.memberToken(key, 'someone-else');
        assert.equal((await api.get('/v1/conversations', { token: other })).status, 200);
        const s = await stream(`${server.url}/v1/conversations/${conv}/stream?ticket=${encodeURIComponent(ticket)}`);
        s.close();
        assert.equal(s.status, 401, 'a revoked token behind a ticket opens no stream');
        assert.equal(bodyCode(s), 'TOKEN_REVOKED');
      } finally {
        await close();
      }
    });

    test('a stream ticket spent before a restart is refused after it', async () => {
      const { server, close } = await withServer(store, { args: ARGS });
      try {
        const key = server.org.apiKey;
        const api = new Api(server.url);
        const ticket = (await api.post('/v1/stream-tickets', { token: key })).json.ticket as string;
        const first = await stream(`${server.url}/v1/stream?ticket=${encodeURIComponent(ticket)}`);
        assert.equal(first.status, 200);
        first.close();
        await server.restart();
        const again = await stream(`${server.url}/v1/stream?ticket=${encodeURIComponent(ticket)}`);
        again.close();
        assert.equal(again.status, 401, 'single use survives a restart');
        assert.equal(bodyCode(again), 'TICKET_INVALID');
      } finally {
        await close();
      }
    });
  });
});

const NETWORKED = STORES.filter((s) => s.name === 'postgres');
if (NETWORKED.length === 0)
  test('listener-cut suite: needs PostgreSQL (CONCIERGE_TEST_PG_URL)', { skip: true }, () => {});

for (const store of NETWORKED) {
  describe(`revocations hold when an instance's LISTEN connection is cut [${store.name}]`, () => {
    let db: { url: string; drop(): Promise<void> };
    let a: TestServer;
    let b: TestServer;
    let apiA: Api;
    let apiB: Api;
    let key: string;
    let admin: pg.Client;
    let dbName: string;

    before(async () => {
      db = await store.fresh();
      a = await TestServer.start(db.url, { args: ARGS, process: true });
      b = await TestServer.start(db.url, { args: ARGS, process: true });
      apiA = new Api(a.url);
      apiB = new Api(b.url);
      key = a.org.apiKey;
      // Connected to the maintenance database, which stays open to us while the test database refuses connections.
      admin = new pg.Client({ connectionString: process.env.CONCIERGE_TEST_PG_URL });
      await admin.connect();
      dbName = new URL(db.url).pathname.slice(1);
    });
    after(async () => {
      await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`).catch(() => {});
      await admin.end();
      await Promise.all([a.stop(), b.stop()]);
      await db.drop();
    });

    async function listenerPid(server: TestServer): Promise<number | null> {
      const r = await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [
        `concierge-listen:${server.pid}`,
      ]);
      return r.rows.length === 1 ? (r.rows[0].pid as number) : null;
    }

    /**
     * Runs `during` while B cannot hear A: B's LISTEN connection is terminated and cannot come back (the database
     * refuses new connections; the ones already open, which B and A use for their queries, stay), so every
     * signal A sends meanwhile is lost to B for good. Then lets B reconnect.
     */
    async function whileBIsDeaf(during: () => Promise<void>): Promise<void> {
      const pid = await listenerPid(b);
      assert.notEqual(pid, null, 'B has a LISTEN connection');
      await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
      try {
        assert.equal((await admin.query('SELECT pg_terminate_backend($1) AS ok', [pid])).rows[0].ok, true);
        await until(async () => (await listenerPid(b)) === null, "B's LISTEN backend to go");
        await during();
      } finally {
        await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
      }
      await until(async () => (await listenerPid(b)) !== null, "B's LISTEN connection to come back");
    }

    /**
     * Warms the connections B and A query on, several per pool (B's heartbeat checks and the test's reads run at
     * once), so they exist before the database refuses new ones.
     */
    async function warm(token: string, conv: string): Promise<void> {
      for (const api of [apiA, apiB]) {
        const reads = await Promise.all([1, 2, 3, 4].map(() => api.get('/v1/conversations', { token })));
        for (const r of reads) assert.equal(r.status, 200);
        assert.equal((await api.send(token, conv, 'warm')).status, 200);
      }
    }

    /** Polls B until it refuses `token` (each call is a real read through B's authenticator). */
    async function bRefuses(token: string, code: string): Promise<void> {
      await until(async () => {
        const r = await apiB.get('/v1/conversations', { token });
        return r.status === 401 && errorCode(r) === code;
      }, `B to refuse the token with ${code}`);
    }

    test('tokens revoked through A while B is deaf are refused by B for reads and sends, and its stream ends', async () => {
      const token = await apiA.memberToken(key, 'deaf-revokee');
      const conv = await apiA.openConversation(token);
      const open = await stream(`${b.url}/v1/conversations/${conv}/stream`, { authorization: `Bearer ${token}` });
      assert.equal(open.status, 200);
      await warm(token, conv);
      await whileBIsDeaf(async () => {
        assert.equal((await apiA.post('/v1/members/deaf-revokee/revoke-tokens', { token: key })).status, 200);
        await bRefuses(token, 'TOKEN_REVOKED');
        const send = await apiB.send(token, conv, 'after the revocation');
        assert.equal(send.status, 401, send.text);
        assert.equal(errorCode(send), 'TOKEN_REVOKED');
        await open.waitForEnd();
      });
      // And after B hears again: still refused (the reconnection did not bring a stale cache back).
      const r = await apiB.get('/v1/conversations', { token });
      assert.equal(errorCode(r), 'TOKEN_REVOKED');
    });

    test('a member erased through A while B is deaf is refused by B, and its streams end there', async () => {
      const token = await apiA.memberToken(key, 'deaf-deleted');
      const conv = await apiA.openConversation(token);
      const own = await stream(`${b.url}/v1/stream`, { authorization: `Bearer ${token}` });
      const onBehalf = await stream(`${b.url}/v1/conversations/${conv}/stream?externalUserID=deaf-deleted`, {
        authorization: `Bearer ${key}`,
      });
      assert.equal(own.status, 200);
      assert.equal(onBehalf.status, 200);
      await warm(token, conv);
      await whileBIsDeaf(async () => {
        const del = await apiA.post('/v1/members/deaf-deleted/erase', { token: key });
        assert.equal(del.status, 200, del.text);
        assert.equal(del.json.erased, true);
        await bRefuses(token, 'TOKEN_REVOKED');
        await own.waitForEnd();
        await onBehalf.waitForEnd();
      });
    });

    test('a member archived through A while B is deaf is refused by B, its stream there ends, and B issues no token', async () => {
      const token = await apiA.memberToken(key, 'deaf-archived');
      const conv = await apiA.openConversation(token);
      const own = await stream(`${b.url}/v1/conversations/${conv}/stream`, { authorization: `Bearer ${token}` });
      assert.equal(own.status, 200);
      await warm(token, conv);
      await whileBIsDeaf(async () => {
        const archived = await apiA.delete('/v1/members/deaf-archived', { token: key });
        assert.equal(archived.status, 200, archived.text);
        assert.equal(archived.json.archived, true);
        await bRefuses(token, 'TOKEN_REVOKED');
        const send = await apiB.send(token, conv, 'after the archive');
        assert.equal(send.status, 401, send.text);
        assert.equal(errorCode(send), 'TOKEN_REVOKED');
        await own.waitForEnd();
        const exchange = await apiB.post('/v1/auth/exchange', {
          token: key,
          body: { externalUserID: 'deaf-archived' },
        });
        assert.equal(exchange.status, 409, exchange.text);
        assert.equal(errorCode(exchange), 'MEMBER_ARCHIVED');
      });
      // After B hears again: still refused; a PUT through A restores, and B accepts a new token at once.
      assert.equal(errorCode(await apiB.get('/v1/conversations', { token })), 'TOKEN_REVOKED');
      assert.equal((await apiA.put('/v1/members/deaf-archived', { token: key, body: {} })).status, 200);
      const fresh = await apiB.memberToken(key, 'deaf-archived');
      assert.equal((await apiB.get('/v1/conversations', { token: fresh })).status, 200);
      assert.equal(errorCode(await apiB.get('/v1/conversations', { token })), 'TOKEN_REVOKED');
    });

    test('a stream ticket spent on A while B is deaf is refused on B', async () => {
      const token = await apiA.memberToken(key, 'deaf-ticket');
      const conv = await apiA.openConversation(token);
      await warm(token, conv);
      const ticket = (await apiA.post('/v1/stream-tickets', { token })).json.ticket as string;
      await whileBIsDeaf(async () => {
        const spent = await stream(`${a.url}/v1/conversations/${conv}/stream?ticket=${encodeURIComponent(ticket)}`);
        assert.equal(spent.status, 200);
        spent.close();
        const again = await stream(`${b.url}/v1/conversations/${conv}/stream?ticket=${encodeURIComponent(ticket)}`);
        again.close();
        assert.equal(again.status, 401, 'the ticket works once in the cluster');
        assert.equal(bodyCode(again), 'TICKET_INVALID');
      });
    });

    test('a revocation racing with the reconnection of B is caught by the resync that follows it', async () => {
      const token = await apiA.memberToken(key, 'racer');
      const conv = await apiA.openConversation(token);
      const open = await stream(`${b.url}/v1/stream`, { authorization: `Bearer ${token}` });
      assert.equal(open.status, 200);
      await warm(token, conv);
      const pid = await listenerPid(b);
      assert.notEqual(pid, null);
      // B reconnects within a fraction of a second: the revocation lands before, during or after that.
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      assert.equal((await apiA.post('/v1/members/racer/revoke-tokens', { token: key })).status, 200);
      await bRefuses(token, 'TOKEN_REVOKED');
      await open.waitForEnd();
      await until(async () => {
        const now = await listenerPid(b);
        return now !== null && now !== pid;
      }, "B's LISTEN connection to come back");
    });
  });
}
