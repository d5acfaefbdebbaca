import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import {
  Api,
  errorCode,
  RawStream,
  ResumingClient,
  STORES,
  TestServer,
  until,
  type WireEvent,
} from './harness/index.js';

/**
 * Several server processes on one PostgreSQL database, as behind a load balancer. SQLite is a
 * single-instance store, so these run only on PostgreSQL.
 */
const NETWORKED = STORES.filter((s) => s.name === 'postgres');
if (NETWORKED.length === 0)
  test('multi-instance suite: needs PostgreSQL (CONCIERGE_TEST_PG_URL)', { skip: true }, () => {});

// A heartbeat far above the "at once" guards below, so only a revocation's own signal can end a stream in time.
const ARGS = ['--rate-limit', '0', '--max-streams-per-member', '100', '--heartbeat', '60'];

const messageOf = (e: WireEvent): string | null =>
  e.event === undefined ? (JSON.parse(e.data) as { id: string }).id : null;
const orgMessageOf = (e: WireEvent): string | null =>
  e.event === 'message' ? (JSON.parse(e.data) as { message: { id: string } }).message.id : null;

/** Message ids a stream received, in order. */
function ids(s: RawStream, pick: (e: WireEvent) => string | null): string[] {
  return s.events.map(pick).filter((x): x is string => x !== null);
}

for (const store of NETWORKED) {
  describe(`several instances on one database [${store.name}]`, () => {
    let db: { url: string; drop(): Promise<void> };
    let servers: TestServer[];
    let apis: Api[];
    let key: string;

    before(async () => {
      db = await store.fresh();
      // The first makes the schema and the org; the other two start together on it.
      const first = await TestServer.start(db.url, { args: ARGS, process: true });
      servers = [
        first,
        ...(await Promise.all([
          TestServer.start(db.url, { args: ARGS, process: true }),
          TestServer.start(db.url, { args: ARGS, process: true }),
        ])),
      ];
      apis = servers.map((s) => new Api(s.url));
      key = first.org.apiKey;
    });
    after(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await db.drop();
    });

    async function openStreams(token: string, conversationID: string) {
      const open = async (api: Api, path: string, credential: string) => {
        const s = await RawStream.open(`${api.baseURL}${path}`, { authorization: `Bearer ${credential}` });
        assert.equal(s.status, 200, s.body);
        await s.until(() => s.retry !== undefined);
        return s;
      };
      const conversation = await Promise.all(
        apis.map((a) => open(a, `/v1/conversations/${conversationID}/stream`, token)),
      );
      const member = await Promise.all(apis.map((a) => open(a, '/v1/stream', token)));
      const org = await Promise.all(apis.map((a) => open(a, '/v1/stream', key)));
      return { conversation, member, org, all: [...conversation, ...member, ...org] };
    }

    test('messages sent through every instance reach the streams on all of them, exactly once, in order', async () => {
      const token = await apis[0]!.memberToken(key, 'everywhere');
      const id = await apis[1]!.openConversation(token);
      const streams = await openStreams(token, id);
      // Concurrent senders on all three instances, so their commits interleave in the org's seq order.
      const perInstance = 40;
      await Promise.all(
        apis.map(async (api, n) => {
          for (let i = 0; i < perInstance; i += 4)
            await Promise.all(
              [0, 1, 2, 3].map(async (j) => {
                const via =
                  j % 2 === 0
                    ? api.send(token, id, `i${n} m${i + j}`)
                    : api.post(`/v1/conversations/${id}/messages`, {
                        token: key,
                        body: { message: `i${n} c${i + j}`, authorID: 'agent' },
                      });
                const r = await via;
                assert.equal(r.status, 200, r.text);
              }),
            );
        }),
      );
      assert.equal((await apis[0]!.history(token, id)).length, perInstance * apis.length);
      // A last message after all the others: each stream is in commit order, so once it has arrived anything
      // sent twice would have arrived before it.
      const last = await apis[2]!.send(token, id, 'last');
      const all = await apis[0]!.history(token, id);
      const lastID = last.json.message.id as string;
      for (const s of streams.conversation)
        await s.until(() => ids(s, messageOf).includes(lastID), undefined, 'messages');
      for (const s of [...streams.member, ...streams.org])
        await s.until(() => ids(s, orgMessageOf).includes(lastID), undefined, 'message events');
      for (const s of streams.conversation) assert.deepEqual(ids(s, messageOf), all);
      for (const s of [...streams.member, ...streams.org]) assert.deepEqual(ids(s, orgMessageOf), all);
      // The one-connection streams carry the same seq-ordered ids everywhere: any of them can resume on any instance.
      const eventIDs = streams.org.map((s) => s.events.filter((e) => e.event === 'message').map((e) => e.id));
      assert.deepEqual(eventIDs[1], eventIDs[0]);
      assert.deepEqual(eventIDs[2], eventIDs[0]);
      for (const s of streams.all) s.close();
    });

    test('the same Idempotency-Key sent to every instance at once posts once, and each gets the same answer', async () => {
      const token = await apis[0]!.memberToken(key, 'stampede');
      const id = await apis[0]!.openConversation(token);
      for (let round = 0; round < 10; round++) {
        const k = randomUUID();
        const results = await Promise.all(
          apis.flatMap((api) => [
            api.send(token, id, `once ${round}`, { 'idempotency-key': k }),
            api.send(token, id, `once ${round}`, { 'idempotency-key': k }),
          ]),
        );
        const ok = results.filter((r) => r.status === 200);
        for (const r of results) {
          // On the instance that holds the key in flight, its twin is told to retry; everywhere else it replays.
          if (r.status === 409) assert.equal(errorCode(r), 'IDEMPOTENCY_KEY_IN_USE');
          else assert.equal(r.status, 200, r.text);
        }
        assert.ok(ok.length >= apis.length, `round ${round}: ${results.map((r) => r.status).join(',')}`);
        assert.equal(new Set(ok.map((r) => r.json.message.id)).size, 1, `round ${round}: one message`);
        assert.equal(
          ok.filter((r) => r.headers.get('idempotent-replayed') === null).length,
          1,
          'exactly one original answer',
        );
        for (const r of ok) assert.equal(r.text, ok[0]!.text);
      }
      assert.equal((await apis[0]!.history(token, id)).length, 10);
    });

    test('revoking a member on one instance ends their streams on the others at once', async () => {
      const token = await apis[0]!.memberToken(key, 'revokee');
      const id = await apis[0]!.openConversation(token);
      const streams = [
        await RawStream.open(`${servers[1]!.url}/v1/conversations/${id}/stream`, { authorization: `Bearer ${token}` }),
        await RawStream.open(`${servers[2]!.url}/v1/stream`, { authorization: `Bearer ${token}` }),
      ];
      for (const s of streams) {
        assert.equal(s.status, 200);
        await s.until(() => s.retry !== undefined);
      }
      const r = await apis[0]!.post('/v1/members/revokee/revoke-tokens', { token: key });
      assert.equal(r.status, 200, r.text);
      // No heartbeat or write needed: the revocation itself crosses instances and ends them. The guard is generous
      // yet below the 60 s heartbeat, whose re-check could end them too.
      for (const s of streams) await s.waitForEnd(10_000);
      for (const api of apis.slice(1)) {
        const again = await api.get('/v1/conversations', { token });
        assert.equal(again.status, 401);
        assert.equal(errorCode(again), 'TOKEN_REVOKED');
      }
    });

    test('typing on one instance reaches the other side’s streams on another', async () => {
      const token = await apis[0]!.memberToken(key, 'typist');
      const id = await apis[0]!.openConversation(token);
      const orgStream = await RawStream.open(`${servers[2]!.url}/v1/stream`, { authorization: `Bearer ${key}` });
      const memberStream = await RawStream.open(`${servers[1]!.url}/v1/stream`, { authorization: `Bearer ${token}` });
      for (const s of [orgStream, memberStream]) await s.until(() => s.retry !== undefined);
      assert.equal((await apis[0]!.post(`/v1/conversations/${id}/typing`, { token })).status, 200);
      assert.equal((await apis[0]!.post(`/v1/conversations/${id}/typing`, { token: key })).status, 200);
      await orgStream.until(() => orgStream.events.some((e) => e.event === 'typing'), undefined, 'member typing');
      await memberStream.until(
        () => memberStream.events.some((e) => e.event === 'typing'),
        undefined,
        'concierge typing',
      );
      const seen = JSON.parse(orgStream.events.find((e) => e.event === 'typing')!.data);
      assert.equal(seen.conversationID, id);
      assert.equal(seen.typist, 'member');
      orgStream.close();
      memberStream.close();
    });

    test('a dropped LISTEN connection is re-established and the instance catches up: no event is lost', async () => {
      const token = await apis[0]!.memberToken(key, 'listener');
      const id = await apis[0]!.openConversation(token);
      const watcher = servers[1]!;
      const stream = await RawStream.open(`${watcher.url}/v1/conversations/${id}/stream`, {
        authorization: `Bearer ${token}`,
      });
      await stream.until(() => stream.retry !== undefined);
      // Connected to the maintenance database: a database cannot refuse connections while we sit in it.
      const admin = new pg.Client({ connectionString: process.env.CONCIERGE_TEST_PG_URL });
      await admin.connect();
      const app = `concierge-listen:${watcher.pid}`;
      const listenerPid = async (): Promise<number | null> => {
        const r = await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app]);
        return r.rows.length === 1 ? (r.rows[0].pid as number) : null;
      };
      const dbName = new URL(db.url).pathname.slice(1);
      try {
        let total = 0;
        // 1. A gap nobody can paper over: the watcher's LISTEN connection is cut and cannot come back until
        //    the messages are committed, and nothing is sent afterwards. Only the catch-up that follows the
        //    reconnection can deliver them. (ALLOW_CONNECTIONS stops even superusers; open connections stay.)
        const first = await listenerPid();
        assert.notEqual(first, null, 'the instance has a LISTEN connection');
        await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
        try {
          assert.equal((await admin.query('SELECT pg_terminate_backend($1) AS ok', [first])).rows[0].ok, true);
          for (let i = 0; i < 10; i++) {
            const r = await apis[0]!.send(token, id, `while deaf #${i}`);
            assert.equal(r.status, 200, r.text);
            total++;
          }
          assert.equal(await listenerPid(), null, 'the watcher could not listen while the messages were sent');
        } finally {
          await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
        }
        await until(async () => (await listenerPid()) !== null, 'the LISTEN connection to come back');
        await stream.until(() => ids(stream, messageOf).length >= total, undefined, 'the messages sent while deaf');
        // 2. Cuts racing with sends through two other instances, then live traffic after the last reconnection.
        for (let cut = 0; cut < 2; cut++) {
          const before = await listenerPid();
          assert.notEqual(before, null);
          await admin.query('SELECT pg_terminate_backend($1)', [before]);
          await Promise.all(
            [0, 2].map(async (n) => {
              for (let i = 0; i < 5; i++)
                assert.equal((await apis[n]!.send(token, id, `cut ${cut} i${n} #${i}`)).status, 200);
            }),
          );
          total += 10;
          await until(async () => {
            const now = await listenerPid();
            return now !== null && now !== before;
          }, 'the LISTEN connection to come back');
        }
        let last = '';
        for (let i = 0; i < 5; i++) {
          const r = await apis[2]!.send(token, id, `after ${i}`);
          assert.equal(r.status, 200);
          last = r.json.message.id as string;
        }
        total += 5;
        const all = await apis[0]!.history(token, id);
        assert.equal(all.length, total);
        // The stream is in commit order: once the last message is in, a repeat would have come before it.
        await stream.until(() => ids(stream, messageOf).includes(last), undefined, 'every message');
        assert.deepEqual(ids(stream, messageOf), all);
      } finally {
        stream.close();
        await admin.end();
      }
    });

    test('an instance killed with SIGKILL mid-stream: its clients resume on another with their last id and lose nothing', async () => {
      const token = await apis[0]!.memberToken(key, 'survivor');
      const id = await apis[0]!.openConversation(token);
      const victim = servers[2]!;
      let victimAlive = true;
      // Clients use the victim while it lives, then fail over to instance 0 (the load balancer's job).
      const base = () => (victimAlive ? victim.url : servers[0]!.url);
      const clients = [
        new ResumingClient(base, `/v1/conversations/${id}/stream`, token, messageOf),
        new ResumingClient(base, `/v1/conversations/${id}/stream`, token, messageOf),
        new ResumingClient(base, '/v1/stream', token, orgMessageOf),
        new ResumingClient(base, '/v1/stream', key, orgMessageOf),
      ];
      await Promise.all(clients.map((c) => c.start()));
      let sent = 0;
      let sending = true;
      // Sends continue through the surviving instances the whole time, before, during and after the kill.
      const senders = [apis[0]!, apis[1]!].map(async (api) => {
        for (let i = 0; sending && i < 2000; i++) {
          const r = await api.send(token, id, `survive ${i}`);
          assert.equal(r.status, 200, r.text);
          sent++;
        }
      });
      await Promise.all(clients.map((c) => c.until(() => c.received.length >= 30, 'receiving on the victim')));
      await victim.kill();
      victimAlive = false;
      await Promise.all(clients.map((c) => c.until(() => c.connections >= 2, 'resuming elsewhere')));
      const mark = sent;
      await until(() => sent >= mark + 60, 'more sends after the failover');
      sending = false;
      await Promise.all(senders);
      // A last message after all the others: each stream is in commit order, so once it has arrived anything
      // sent twice would have arrived before it.
      const last = (await apis[0]!.send(token, id, 'last')).json.message.id as string;
      const all = await apis[0]!.history(token, id);
      assert.equal(all.length, sent + 1);
      await Promise.all(clients.map((c) => c.until(() => c.received.includes(last), 'the last message')));
      for (const c of clients) {
        await c.stop();
        assert.deepEqual(c.received, all);
      }
      // Bring the instance back for the suites that follow; it starts cleanly on the shared database.
      await victim.restart();
      apis[2] = new Api(victim.url);
    });
  });
}
