import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  acrossStores,
  Api,
  cli,
  errorCode,
  HostedStreamClient,
  HostedTokenSource,
  RawStream,
  TestServer,
  withServer,
} from './harness/index.js';

/**
 * Streams as the hosted API's official SDKs (TypeScript and Kotlin 0.7.1, unchanged) use them: their wire behaviour
 * is in harness/hosted-stream.ts (no `Last-Event-ID`, a reconnect within about 0 to 500 ms after an end, a token
 * refreshed through the app's backend) and, for Kotlin, OkHttp's 10 s read timeout below.
 */

/** OkHttp's default read timeout, which the Kotlin SDK keeps: a call fails when no byte arrives for this long. */
const OKHTTP_READ_TIMEOUT_MS = 10_000;

/** The gap's timings measured with the SDKs: the concierge's replies land 30 ms and 150 ms after the end. */
const GAP_REPLIES_MS = [30, 150];

const at = <T>(ms: number, f: () => Promise<T>): Promise<T> => new Promise<void>((r) => setTimeout(r, ms)).then(f);

const streamPath = (conversationID: string) => `/v1/conversations/${encodeURIComponent(conversationID)}/stream`;

/** What the app's backend does for the SDK's token hook: `POST /v1/auth/exchange` with the Org-API-Key. */
async function exchange(api: Api, key: string, externalUserID: string) {
  const r = await api.post('/v1/auth/exchange', { token: key, body: { externalUserID } });
  assert.equal(r.status, 200, r.text);
  return r.json as { accessToken: string; expiresAt: string };
}

/** A concierge reply (Org-API-Key, no `externalUserID`); its message id. */
async function reply(api: Api, key: string, conversationID: string, text: string): Promise<string> {
  const r = await api.post(`/v1/conversations/${encodeURIComponent(conversationID)}/messages`, {
    token: key,
    body: { message: text },
  });
  assert.equal(r.status, 200, r.text);
  return r.json.message.id as string;
}

/** The concierge's replies while the SDK reconnects. */
function repliesDuringGap(api: () => Api, key: string, conversationID: string): Promise<string[]> {
  return Promise.all(GAP_REPLIES_MS.map((ms) => at(ms, () => reply(api(), key, conversationID, `+${ms} ms`))));
}

/**
 * Once the client streams again: one more reply, and when it has arrived (a stream is in commit order, so
 * everything before it has too), the client must have every message of the conversation exactly once, in order.
 */
async function everyMessageOnce(
  client: HostedStreamClient,
  api: Api,
  key: string,
  externalUserID: string,
  conversationID: string,
  gap: Promise<string[]>,
): Promise<void> {
  const gapIDs = await gap;
  await client.until(() => client.connections >= 2, 'the reconnect');
  const last = await reply(api, key, conversationID, 'after the reconnect');
  await client.until(() => client.received.includes(last), 'the reply after the reconnect');
  const all = await api.history(key, conversationID, externalUserID);
  for (const id of gapIDs) assert.ok(all.includes(id));
  assert.equal(client.stoppedWith, null);
  assert.deepEqual(client.received, all, 'every message exactly once, in order');
}

/** A gap filled by the test's own callback, so a test can read it after the client has set it. */
class Gap {
  replies: Promise<string[]> | null = null;
  get done(): Promise<string[]> {
    assert.ok(this.replies !== null, 'the stream never ended');
    return this.replies;
  }
}

const RECONNECTS = [
  { name: 'at once', awaitReplies: false },
  { name: 'once the replies in the gap are committed (as at +500 ms)', awaitReplies: true },
];

acrossStores((store) => {
  describe(`streams of the hosted API's SDKs [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let key: string;

    before(async () => {
      // No --heartbeat: the first test is about the default.
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0', '--max-streams-per-member', '50'] }));
      api = new Api(server.url);
      key = server.org.apiKey;
    });
    after(() => close());

    test("an idle stream on the default heartbeat outlives OkHttp's 10 s read timeout (Kotlin SDK)", async () => {
      assert.equal(process.env.CONCIERGE_HEARTBEAT_SECONDS, undefined, 'the server must run on the default');
      const token = await api.memberToken(key, 'idle-on-kotlin');
      const id = await api.openConversation(token);
      const s = await RawStream.open(`${server.url}${streamPath(id)}`, { authorization: `Bearer ${token}` });
      assert.equal(s.status, 200, s.body);
      // The client's own clock, as OkHttp's: a byte re-arms it; silence for 10 s fails the call.
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = true;
          s.close();
        }, OKHTTP_READ_TIMEOUT_MS);
      };
      arm();
      const off = s.onChange(arm);
      try {
        const beats = () => s.comments.filter((c) => c === 'heartbeat').length;
        await s.until(() => s.ended || beats() >= 3, 60_000, 'three heartbeats');
        assert.equal(timedOut, false, 'no byte for 10 s: the Kotlin SDK would have failed the stream');
        assert.equal(s.ended, false);
      } finally {
        off();
        clearTimeout(timer);
        s.close();
      }
    });

    test('an Org-API-Key streams any conversation of its org by id, without externalUserID', async () => {
      const created = JSON.parse(
        (
          await cli(
            ['keys', 'create', '--org', server.org.orgID, '--prefix', 'expys_live_', '--json'],
            server.databaseURL,
          )
        ).stdout,
      ) as { apiKey: string };
      const token = await api.memberToken(key, 'streamed-by-key');
      const id = await api.openConversation(token);
      const client = new HostedStreamClient({
        base: () => server.url,
        path: streamPath(id),
        credential: { current: async () => created.apiKey },
      });
      await client.start();
      try {
        assert.equal(client.stoppedWith, null, 'the stream was refused');
        const mine = await api.send(token, id, 'from the member');
        assert.equal(mine.status, 200, mine.text);
        const theirs = await reply(api, key, id, 'from the concierge');
        await client.until(() => client.received.includes(theirs), 'both messages');
        assert.deepEqual(client.received, await api.history(key, id, 'streamed-by-key'));
      } finally {
        await client.stop();
      }
    });

    test("an Org-API-Key's stream of another org's conversation, or of an unknown id, is 404 NOT_FOUND", async () => {
      const other = await server.createOrg('elsewhere');
      const foreign = await api.openConversation(await api.memberToken(other.apiKey, 'theirs'));
      for (const id of [foreign, 'conv_0000000000000000000000', 'nope']) {
        const r = await api.get(streamPath(id), { token: key, headers: { accept: 'text/event-stream' } });
        assert.equal(r.status, 404, `${id}: ${r.text}`);
        assert.equal(errorCode(r), 'NOT_FOUND');
      }
    });

    test('a deploy ends two devices’ streams: each reconnect resumes where its stream stopped, a later device starts live', async () => {
      const own = await withServer(store, { args: ['--rate-limit', '0'] });
      const deployed = own.server;
      try {
        const ownKey = deployed.org.apiKey;
        const ext = 'two-devices';
        const api0 = new Api(deployed.url);
        const id = await api0.openConversation(await api0.memberToken(ownKey, ext));
        let restarted: Promise<void> = Promise.resolve();
        const gap = new Gap();
        // The replies land after the restart (nothing answers before) and before either device is back.
        const devices = [0, 1].map(
          () =>
            new HostedStreamClient({
              base: () => deployed.url,
              path: streamPath(id),
              credential: new HostedTokenSource(() => exchange(new Api(deployed.url), ownKey, ext)),
              reconnectAfter: async (end) => {
                if (end !== 1) return;
                gap.replies ??= restarted.then(() =>
                  Promise.all(['one', 'two'].map((t) => reply(new Api(deployed.url), ownKey, id, t))),
                );
                await gap.replies;
              },
            }),
        );
        for (const d of devices) await d.start();
        const first = await reply(api0, ownKey, id, 'before the deploy');
        for (const d of devices) await d.until(() => d.received.includes(first), 'the first reply');
        restarted = deployed.restart();
        await restarted;
        for (const d of devices) await d.until(() => d.ends >= 1, 'the deploy to end the stream');
        const api1 = new Api(deployed.url);
        for (const d of devices) await everyMessageOnce(d, api1, ownKey, ext, id, gap.done);
        // Each reconnect used one point; a device that opens a stream now, without a resume point, starts live.
        const third = await RawStream.open(`${deployed.url}${streamPath(id)}`, {
          authorization: `Bearer ${await api1.memberToken(ownKey, ext)}`,
        });
        try {
          await third.until(() => third.retry !== undefined);
          const next = await reply(api1, ownKey, id, 'for every device');
          await third.waitForEvents(1);
          assert.deepEqual(
            third.events.map((e) => (JSON.parse(e.data) as { id: string }).id),
            [next],
          );
        } finally {
          third.close();
          for (const d of devices) await d.stop();
        }
      } finally {
        await own.close();
      }
    });
  });

  describe(`streams of the hosted API's SDKs through token expiry [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let key: string;

    before(async () => {
      // Member tokens live 3 s, so each stream ends at its token's expiry within the test.
      ({ server, close } = await withServer(store, { args: ['--rate-limit', '0', '--token-ttl', '3'] }));
      api = new Api(server.url);
      key = server.org.apiKey;
    });
    after(() => close());

    for (const reconnect of RECONNECTS)
      test(`a stream ended at token expiry loses nothing when the SDK refreshes and reconnects ${reconnect.name}`, async () => {
        const ext = `expiry-${String(reconnect.awaitReplies)}`;
        const id = await api.openConversation(await api.memberToken(key, ext));
        const credential = new HostedTokenSource(() => exchange(api, key, ext));
        const gap = new Gap();
        const client = new HostedStreamClient({
          base: () => server.url,
          path: streamPath(id),
          credential,
          reconnectAfter: async (end) => {
            if (end !== 1) return;
            gap.replies = repliesDuringGap(() => api, key, id);
            if (reconnect.awaitReplies) await gap.replies;
          },
        });
        await client.start();
        try {
          await reply(api, key, id, 'before the expiry');
          await client.until(() => client.ends >= 1, 'the token to expire');
          await everyMessageOnce(client, api, key, ext, id, gap.done);
          assert.ok(credential.refreshes >= 2, 'the SDK refreshed its token');
        } finally {
          await client.stop();
        }
      });
  });

  /** Several instances need a shared database: PostgreSQL only (multi-instance.test.ts). */
  if (store.name === 'postgres')
    describe(`streams of the hosted API's SDKs across two instances [${store.name}]`, () => {
      let db: { url: string; drop(): Promise<void> };
      let a: TestServer;
      let b: TestServer;
      let key: string;

      before(async () => {
        db = await store.fresh();
        a = await TestServer.start(db.url, { args: ['--rate-limit', '0', '--token-ttl', '3'], process: true });
        b = await TestServer.start(db.url, { args: ['--rate-limit', '0', '--token-ttl', '3'], process: true });
        key = a.org.apiKey;
      });
      after(async () => {
        await Promise.all([a.stop(), b.stop()]);
        await db.drop();
      });

      for (const reconnect of RECONNECTS)
        test(`token expiry on one instance, the reconnect ${reconnect.name} on the other: nothing lost`, async () => {
          const ext = `across-${String(reconnect.awaitReplies)}`;
          const [apiA, apiB] = [new Api(a.url), new Api(b.url)];
          const id = await apiA.openConversation(await apiA.memberToken(key, ext));
          const gap = new Gap();
          const client = new HostedStreamClient({
            // A load balancer that alternates: every reconnect lands on the other instance.
            base: (n) => (n % 2 === 0 ? a.url : b.url),
            path: streamPath(id),
            credential: new HostedTokenSource(() => exchange(apiA, key, ext)),
            reconnectAfter: async (end) => {
              if (end !== 1) return;
              gap.replies = repliesDuringGap(() => apiB, key, id);
              if (reconnect.awaitReplies) await gap.replies;
            },
          });
          await client.start();
          try {
            await reply(apiA, key, id, 'before the expiry');
            await client.until(() => client.ends >= 1, 'the token to expire');
            await everyMessageOnce(client, apiB, key, ext, id, gap.done);
          } finally {
            await client.stop();
          }
        });

      test('SIGTERM of the instance holding the stream, the reconnect on the other: nothing lost', async () => {
        // Default token lifetime here: only the drain ends the stream.
        const c = await TestServer.start(db.url, { args: ['--rate-limit', '0'] });
        const [apiB, apiC] = [new Api(b.url), new Api(c.url)];
        const ext = 'drained';
        const id = await apiC.openConversation(await apiC.memberToken(key, ext));
        const gap = new Gap();
        const client = new HostedStreamClient({
          base: (n) => (n === 0 ? c.url : b.url),
          path: streamPath(id),
          credential: new HostedTokenSource(() => exchange(apiC, key, ext)),
          reconnectAfter: async (end) => {
            if (end !== 1) return;
            gap.replies = repliesDuringGap(() => apiB, key, id);
            await gap.replies;
          },
        });
        await client.start();
        try {
          const first = await reply(apiB, key, id, 'before the drain');
          await client.until(() => client.received.includes(first), 'the first reply');
          assert.equal(await c.stop(), 0);
          await client.until(() => client.ends >= 1, 'the drain to end the stream');
          await everyMessageOnce(client, apiB, key, ext, id, gap.done);
        } finally {
          await client.stop();
          await c.stop();
        }
      });
    });
});
