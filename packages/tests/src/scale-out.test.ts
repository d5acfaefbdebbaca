import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Api,
  cliRun,
  errorCode,
  RawStream,
  ResumingClient,
  STORES,
  TestServer,
  natsSkip,
  NatsServer,
  until,
  type WireEvent,
} from './harness/index.js';

/**
 * Instances that read an org's events only while a local stream needs them. Three instances on one PostgreSQL
 * database: A takes the sends, B and C hold streams, or nothing at all. Every test runs with each wake-up channel:
 * LISTEN/NOTIFY, and a NATS server (`--broker`). SQLite is a single-instance store.
 */
const NETWORKED = STORES.filter((s) => s.name === 'postgres');
if (NETWORKED.length === 0) test('scale-out suite: needs PostgreSQL (CONCIERGE_TEST_PG_URL)', { skip: true }, () => {});

const ARGS = ['--rate-limit', '0', '--max-streams-per-member', '100', '--heartbeat', '60'];

const messageOf = (e: WireEvent): string | null =>
  e.event === undefined ? (JSON.parse(e.data) as { id: string }).id : null;
const orgMessageOf = (e: WireEvent): string | null =>
  e.event === 'message' ? (JSON.parse(e.data) as { message: { id: string } }).message.id : null;

/** A sample of an instance's /metrics (a gauge or counter without labels). */
async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(server.metricsURL)).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  if (m === null) throw new Error(`no metric ${name} in:\n${text}`);
  return Number(m[1]);
}
const feedReads = (s: TestServer) => metric(s, 'concierge_event_feed_reads_total');
const watched = (s: TestServer) => metric(s, 'concierge_event_feed_orgs_watched');

test('--broker is refused, with its reason, where it cannot work: on SQLite, or not a nats:// URL', async () => {
  const pgURL = 'postgres://nobody@127.0.0.1:1/none';
  for (const [database, broker, why] of [
    ['sqlite::memory:', 'nats://127.0.0.1:4222', /only for a PostgreSQL database/],
    [pgURL, 'http://127.0.0.1:4222', /expected nats:\/\/host:port/],
    [pgURL, 'nats://127.0.0.1:4222,redis://x', /got 'redis:\/\/x'/],
  ] as const) {
    const r = await cliRun(['serve', '--port', '0', '--broker', broker], database);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, why);
  }
});

const MODES = ['notify', 'nats'] as const;

for (const store of NETWORKED)
  for (const mode of MODES)
    describe(
      `an instance reads an org's events only while a stream there needs them [${store.name}, ${mode}]`,
      { skip: mode === 'nats' && natsSkip() },
      () => {
        let db: { url: string; drop(): Promise<void> };
        let nats: NatsServer | null = null;
        let a: TestServer;
        let b: TestServer;
        let c: TestServer;
        let key: string;

        before(async () => {
          db = await store.fresh();
          if (mode === 'nats') nats = await NatsServer.start();
          const args = nats === null ? ARGS : [...ARGS, '--broker', nats.url];
          a = await TestServer.start(db.url, { args });
          [b, c] = await Promise.all([TestServer.start(db.url, { args }), TestServer.start(db.url, { args })]);
          key = a.org.apiKey;
        });
        after(async () => {
          await Promise.all([a, b, c].map((s) => s.stop()));
          await nats?.stop();
          await db.drop();
        });

        test('sends of an org nobody watches on an instance cost it no read; a stream there starts and ends the reads', async () => {
          const other = await a.createOrg('watched elsewhere');
          const api = new Api(a.url);
          const token = await api.memberToken(key, 'unwatched');
          const id = await api.openConversation(token);
          const otherToken = await api.memberToken(other.apiKey, 'beacon');
          const otherID = await api.openConversation(otherToken);
          // B watches the other org only: its stream is the beacon that proves B has taken every wake-up below.
          const beacon = await RawStream.open(`${b.url}/v1/conversations/${otherID}/stream`, {
            authorization: `Bearer ${otherToken}`,
          });
          let aBefore: number, bBefore: number, cBefore: number;
          try {
            // The id-only start frame comes once B reads the org's events (a broker subscription included).
            await beacon.until(() => beacon.lastEventId !== undefined, undefined, 'the id-only start frame');
            assert.equal(await watched(b), 1);
            [aBefore, bBefore, cBefore] = [await feedReads(a), await feedReads(b), await feedReads(c)];
            for (let i = 0; i < 30; i++) assert.equal((await api.send(token, id, `unwatched ${i}`)).status, 200);
            // Wake-ups arrive in commit order: once B streams the beacon's message, it has taken the thirty before.
            const sent = await api.send(otherToken, otherID, 'beacon');
            await beacon.until(() => ids(beacon, messageOf).includes(sent.json.message.id as string));
          } finally {
            beacon.close();
          }
          assert.equal(await feedReads(a), aBefore, 'the sender reads nothing back: its own commits are handed over');
          // One catch-up read for the beacon's message, none for the thirty of an org B does not watch.
          assert.ok((await feedReads(b)) - bBefore <= 2, `B read ${(await feedReads(b)) - bBefore} times`);
          // C watches nothing: whatever wake-ups reached it (all of them with NOTIFY, none through the broker) cost
          // no read.
          await until(async () => (await watched(b)) === 0, 'B to release the org once its last stream ended');
          assert.equal(await feedReads(c), cBefore);
        });

        test('streams that hop between idle instances while another takes the sends miss nothing and repeat nothing', async () => {
          const api = new Api(a.url);
          const token = await api.memberToken(key, 'hopper');
          const id = await api.openConversation(token);
          await api.send(token, id, 'before every stream');
          // Each reconnect goes to the other of B and C, where the org's last stream may have just ended: every
          // connection positions a feed that was idle, or joins one that is being released.
          let hops = 0;
          const next = () => (hops++ % 2 === 0 ? b.url : c.url);
          const clients = [
            new ResumingClient(next, `/v1/conversations/${id}/stream`, token, messageOf),
            new ResumingClient(next, '/v1/stream', token, orgMessageOf),
            new ResumingClient(next, '/v1/stream', key, orgMessageOf),
          ];
          await Promise.all(clients.map((cl) => cl.start()));
          await Promise.all(clients.map((cl) => cl.until(() => cl.currentLastId !== undefined, 'a resume point')));
          const total = 150;
          const sending = (async () => {
            for (let i = 0; i < total; i += 3)
              await Promise.all(
                [0, 1, 2].map(async (j) => assert.equal((await api.send(token, id, `m${i + j}`)).status, 200)),
              );
          })();
          // Drops while the sends go on, each as soon as the client has something new: the next connection lands on
          // the other idle instance.
          for (let round = 0; round < 6; round++)
            for (const cl of clients) {
              const seen = cl.received.length;
              await cl.until(() => cl.received.length > seen || cl.received.length >= total, 'a message before a drop');
              cl.drop();
            }
          await sending;
          const all = (await new Api(a.url).history(token, id)).slice(1);
          assert.equal(all.length, total);
          for (const cl of clients) await cl.waitFor(total);
          for (const cl of clients) await cl.stop();
          for (const cl of clients) assert.deepEqual(cl.received, all);
          assert.ok(clients.every((cl) => cl.connections >= 6));
        });

        test('a live start on an idle instance mid-load gets an unbroken run of what follows it', async () => {
          const api = new Api(a.url);
          const token = await api.memberToken(key, 'late');
          const id = await api.openConversation(token);
          const total = 90;
          const streams: RawStream[] = [];
          const sending = (async () => {
            for (let i = 0; i < total; i++) {
              assert.equal((await api.send(token, id, `m${i}`)).status, 200);
              // Streams open on C at a few points of the load, each on an org C may not be watching.
              if (i % 30 === 10) {
                const s = await RawStream.open(`${c.url}/v1/conversations/${id}/stream`, {
                  authorization: `Bearer ${token}`,
                });
                await s.until(() => s.lastEventId !== undefined, undefined, 'the id-only start frame');
                streams.push(s);
              }
            }
          })();
          await sending;
          const all = await new Api(a.url).history(token, id);
          for (const s of streams) {
            await s.until(() => ids(s, messageOf).at(-1) === all.at(-1), undefined, 'the last message');
            const got = ids(s, messageOf);
            // A suffix of the history: nothing missing between the first message it shows and the last, nothing twice.
            assert.deepEqual(got, all.slice(all.length - got.length));
            s.close();
          }
        });

        test('security state reaches an instance with no stream of the org: a revoked token is refused there', async () => {
          const api = new Api(a.url);
          const token = await api.memberToken(key, 'revoked-elsewhere');
          await api.openConversation(token);
          const onB = new Api(b.url);
          // B has the token's validity cached from this call, and no stream of the org.
          assert.equal((await onB.get('/v1/conversations', { token })).status, 200);
          // The streams of the tests before have ended on the client side; B lets go of the org once it has seen them go.
          await until(async () => (await watched(b)) === 0, 'B to watch no org');
          const revoked = await api.post('/v1/members/revoked-elsewhere/revoke-tokens', { token: key });
          assert.equal(revoked.status, 200, revoked.text);
          // B caches a member's mark with no expiry: only the revocation's signal, which crosses to every instance
          // whatever it watches, can make it refuse the token (the heartbeat's re-check is a minute away).
          let r = await onB.get('/v1/conversations', { token });
          await until(
            async () => (r = await onB.get('/v1/conversations', { token })).status !== 200,
            'the revocation on B',
          );
          assert.equal(r.status, 401, r.text);
          assert.equal(errorCode(r), 'TOKEN_REVOKED');
        });

        if (mode === 'nats') {
          test('the broker stopped and started again mid-load: streams on idle instances lose nothing and repeat nothing', async () => {
            const api = new Api(a.url);
            const token = await api.memberToken(key, 'through-an-outage');
            const id = await api.openConversation(token);
            const clients = [
              new ResumingClient(() => b.url, `/v1/conversations/${id}/stream`, token, messageOf),
              new ResumingClient(() => c.url, '/v1/stream', key, orgMessageOf),
            ];
            await Promise.all(clients.map((cl) => cl.start()));
            await Promise.all(clients.map((cl) => cl.until(() => cl.currentLastId !== undefined, 'a resume point')));
            const total = 120;
            let sent = 0;
            const sending = (async () => {
              for (; sent < total; sent++) assert.equal((await api.send(token, id, `m${sent}`)).status, 200);
            })();
            await until(() => sent >= 30, 'a third of the sends');
            await nats!.stop();
            // Sends go on while no wake-up can cross: the instances catch up from the database.
            await until(() => sent >= 60, 'sends while the broker is down');
            await nats!.restart();
            await sending;
            const all = await new Api(a.url).history(token, id);
            for (const cl of clients) await cl.waitFor(total);
            for (const cl of clients) await cl.stop();
            for (const cl of clients) assert.deepEqual(cl.received, all);
          });

          test('with the broker down, a revocation still holds on an instance that cached the token as good', async () => {
            const api = new Api(a.url);
            const token = await api.memberToken(key, 'revoked-in-the-dark');
            await api.openConversation(token);
            const onB = new Api(b.url);
            assert.equal((await onB.get('/v1/conversations', { token })).status, 200);
            await nats!.stop();
            try {
              const revoked = await api.post('/v1/members/revoked-in-the-dark/revoke-tokens', { token: key });
              assert.equal(revoked.status, 200, revoked.text);
              // The revocation's signal is lost with the broker: B refuses because it stops trusting its cache once the
              // broker is gone, reading the member's mark from the database instead.
              let r = await onB.get('/v1/conversations', { token });
              await until(
                async () => (r = await onB.get('/v1/conversations', { token })).status !== 200,
                'B to refuse the token',
              );
              assert.equal(r.status, 401, r.text);
              assert.equal(errorCode(r), 'TOKEN_REVOKED');
            } finally {
              await nats!.restart();
            }
          });
        }
      },
    );

function ids(s: RawStream, pick: (e: WireEvent) => string | null): string[] {
  return s.events.map(pick).filter((x): x is string => x !== null);
}
