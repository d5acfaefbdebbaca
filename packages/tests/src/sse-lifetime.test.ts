import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { acrossStores, Api, cli, RawStream, TestServer, withServer } from './harness/index.js';

/** A guard for "ends at once": generous, yet below the suite's 60 s heartbeat at which a re-check could end it. */
const AT_ONCE_MS = 10_000;

acrossStores((store) => {
  describe(`SSE lifetimes and isolation [${store.name}]`, () => {
    let server: TestServer;
    let close: () => Promise<void>;
    let api: Api;
    let key: string;

    before(async () => {
      ({ server, close } = await withServer(store, {
        // A heartbeat far above the guard below: only the revocation itself can end a stream that soon.
        args: [
          '--rate-limit',
          '0',
          '--stream-buffer',
          '1048576',
          '--max-streams-per-member',
          '50',
          '--heartbeat',
          '60',
        ],
      }));
      api = new Api(server.url);
      key = server.org.apiKey;
    });
    after(() => close());

    test('revoke-tokens ends the member’s streams at once; other members keep theirs', async () => {
      const token = await api.memberToken(key, 'to-revoke');
      const keeper = await api.memberToken(key, 'keeper');
      const id = await api.openConversation(token);
      const keeperConv = await api.openConversation(keeper);
      const a = await RawStream.open(`${server.url}/v1/conversations/${id}/stream`, {
        authorization: `Bearer ${token}`,
      });
      const b = await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${token}` });
      const k = await RawStream.open(`${server.url}/v1/conversations/${keeperConv}/stream`, {
        authorization: `Bearer ${keeper}`,
      });
      await Promise.all([a, b, k].map((s) => s.until(() => s.retry !== undefined)));
      await api.post('/v1/members/to-revoke/revoke-tokens', { token: key });
      // "At once": the guard stays under the 60 s heartbeat, so only the revocation itself can end them in time.
      await a.waitForEnd(AT_ONCE_MS);
      await b.waitForEnd(AT_ONCE_MS);
      assert.equal(k.ended, false);
      await api.send(keeper, keeperConv, 'still here');
      await k.waitForEvents(1);
      k.close();
    });

    test('erasing a member ends their streams too, including those a server credential opened on them', async () => {
      const token = await api.memberToken(key, 'to-remove');
      const conv = await api.openConversation(token);
      const s = await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${token}` });
      const byServer = await RawStream.open(`${server.url}/v1/stream?externalUserID=to-remove`, {
        authorization: `Bearer ${key}`,
      });
      const convByServer = await RawStream.open(
        `${server.url}/v1/conversations/${conv}/stream?externalUserID=to-remove`,
        {
          authorization: `Bearer ${key}`,
        },
      );
      const orgWide = await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${key}` });
      for (const x of [s, byServer, convByServer, orgWide]) await x.until(() => x.retry !== undefined);
      await api.post('/v1/members/to-remove/erase', { token: key });
      for (const x of [s, byServer, convByServer]) await x.waitForEnd(AT_ONCE_MS);
      assert.equal(orgWide.ended, false);
      orgWide.close();
    });

    test('revoking an Org-API-Key ends the streams opened with it by the next heartbeat', async () => {
      const short = await withServer(store, { args: ['--rate-limit', '0', '--heartbeat', '0.2'] });
      try {
        const created = JSON.parse(
          (await cli(['keys', 'create', '--org', short.server.org.orgID, '--json'], short.server.databaseURL)).stdout,
        );
        const doomed = await RawStream.open(`${short.server.url}/v1/stream`, {
          authorization: `Bearer ${created.apiKey}`,
        });
        const kept = await RawStream.open(`${short.server.url}/v1/stream`, {
          authorization: `Bearer ${short.server.org.apiKey}`,
        });
        await doomed.until(() => doomed.comments.includes('heartbeat'));
        await cli(['keys', 'revoke', created.keyID, '--org', short.server.org.orgID], short.server.databaseURL);
        // The re-check runs once per heartbeat; how soon it runs on a busy machine is not what is tested.
        await doomed.waitForEnd();
        // Two more heartbeats on the kept stream: the server re-checked keys again since, and kept it.
        const beats = kept.comments.length;
        await kept.until(() => kept.ended || kept.comments.length >= beats + 2, undefined, 'two more heartbeats');
        assert.equal(kept.ended, false);
        kept.close();
      } finally {
        await short.close();
      }
    });

    test('a member token may not open the one-connection stream of another member', async () => {
      const token = await api.memberToken(key, 'curious');
      const r = await api.get('/v1/stream', { token, query: { externalUserID: 'to-revoke' } });
      assert.equal(r.status, 403);
    });

    test('latestCursor of a history page continues live from that page with no gap and no repeat', async () => {
      const token = await api.memberToken(key, 'syncer');
      const id = await api.openConversation(token);
      const empty = (await api.get(`/v1/conversations/${id}/messages`, { token })).json;
      assert.deepEqual(empty.messages, []);
      await api.send(token, id, 'first');
      await api.send(token, id, 'second');
      const fromStart = await RawStream.open(
        `${server.url}/v1/conversations/${id}/stream?after=${encodeURIComponent(empty.latestCursor)}`,
        {
          authorization: `Bearer ${token}`,
        },
      );
      await fromStart.waitForEvents(2);
      fromStart.close();
      const page = (await api.get(`/v1/conversations/${id}/messages`, { token })).json;
      assert.equal(page.nextCursor, null);
      await api.send(token, id, 'third, between the page and the stream');
      const s = await RawStream.open(`${server.url}/v1/conversations/${id}/stream`, {
        authorization: `Bearer ${token}`,
        'last-event-id': page.latestCursor,
      });
      await api.send(token, id, 'fourth');
      await s.waitForEvents(2);
      assert.deepEqual(
        s.events.map((e) => JSON.parse(e.data).body),
        ['third, between the page and the stream', 'fourth'],
      );
      s.close();
    });

    test('a stalled reader is cut off without slowing the others, and loses nothing when it resumes', async () => {
      const token = await api.memberToken(key, 'stall');
      const id = await api.openConversation(token);
      const path = `/v1/conversations/${id}/stream`;
      const stalled = await RawStream.open(`${server.url}${path}`, { authorization: `Bearer ${token}` });
      const readers = await Promise.all(
        Array.from({ length: 3 }, () => RawStream.open(`${server.url}${path}`, { authorization: `Bearer ${token}` })),
      );
      await stalled.until(() => stalled.retry !== undefined);
      stalled.pause();
      const big = 'x'.repeat(3990);
      const total = 2500;
      // Enough bytes (about 10 MB) to fill the loopback socket buffers and then the server's per-stream limit.
      for (let i = 0; i < total; i += 100)
        await Promise.all(Array.from({ length: 100 }, (_, j) => api.send(token, id, `${i + j} ${big}`)));
      for (const r of readers) await r.waitForEvents(total, 30_000);
      // The server has dropped the stalled stream: only the three healthy ones are still open.
      const metrics = await (await fetch(server.metricsURL)).text();
      assert.match(metrics, /concierge_sse_streams_open 3\n/);
      for (const r of readers) {
        const bodies = r.events.map((e) => Number(JSON.parse(e.data).body.split(' ')[0]));
        assert.equal(new Set(bodies).size, total);
        r.close();
      }
      // Reading again drains what the kernel held, then meets the close.
      stalled.resume();
      await stalled.waitForEnd(30_000);
      const got = stalled.events.length;
      assert.ok(got < total, `stalled reader got ${got} of ${total}`);
      const resumed = await RawStream.open(`${server.url}${path}`, {
        authorization: `Bearer ${token}`,
        ...(stalled.lastEventId !== undefined && { 'last-event-id': stalled.lastEventId }),
      });
      await resumed.waitForEvents(total - got, 30_000);
      const ids = [...stalled.events, ...resumed.events].map((e) => JSON.parse(e.data).id as string);
      assert.equal(new Set(ids).size, total);
      resumed.close();
    });

    test('no event of another member or org reaches a stream, whatever its type', async () => {
      const other = await server.createOrg('isolation-other');
      const a = await api.memberToken(key, 'iso-a');
      const b = await api.memberToken(key, 'iso-b');
      const c = await api.memberToken(other.apiKey, 'iso-a');
      const aConv = await api.openConversation(a);
      const watchers = {
        aConv: await RawStream.open(`${server.url}/v1/conversations/${aConv}/stream`, { authorization: `Bearer ${a}` }),
        aAll: await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${a}` }),
        org1: await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${key}` }),
        org2: await RawStream.open(`${server.url}/v1/stream`, { authorization: `Bearer ${other.apiKey}` }),
      };
      for (const w of Object.values(watchers)) await w.until(() => w.retry !== undefined);
      // Every event type from B (same org) and C (other org).
      const convs: string[] = [];
      for (const [token, serverKey, name] of [
        [b, key, 'iso-b'],
        [c, other.apiKey, 'iso-a'],
      ] as const) {
        const conv = await api.openConversation(token);
        convs.push(conv);
        await api.send(token, conv, `secret of ${name}`);
        const reply = await api.post(`/v1/conversations/${conv}/messages`, {
          token: serverKey,
          body: { message: 'reply' },
        });
        await api.post(`/v1/conversations/${conv}/read`, { token, body: { messageID: reply.json.message.id } });
        await api.post(`/v1/conversations/${conv}/read`, {
          token: serverKey,
          body: { messageID: reply.json.message.id },
        });
        await api.post(`/v1/conversations/${conv}/typing`, { token });
        await api.post(`/v1/conversations/${conv}/typing`, { token: serverKey });
      }
      // A's own marker event last: once it arrives, anything leaked earlier would have arrived before it.
      await api.send(a, aConv, 'marker');
      await watchers.aConv.waitForEvents(1);
      await watchers.aAll.until(() => watchers.aAll.events.some((e) => e.event === 'message'));
      await watchers.org1.until(() => watchers.org1.events.some((e) => e.data.includes('marker')));
      // And a marker in org 2, sent after everything else, for its stream.
      await api.send(c, convs[1]!, 'marker 2');
      await watchers.org2.until(() => watchers.org2.events.some((e) => e.data.includes('marker 2')));
      const [bConv, cConv] = convs as [string, string];
      assert.deepEqual(
        watchers.aConv.events.map((e) => JSON.parse(e.data).body),
        ['marker'],
      );
      assert.deepEqual(
        watchers.aAll.events.map((e) => e.event),
        ['message'],
      );
      for (const e of watchers.org1.events) assert.ok(!e.data.includes(cConv), `org 1 saw org 2: ${e.data}`);
      assert.ok(
        watchers.org1.events.some((e) => e.data.includes(bConv)),
        'org stream sees its own members',
      );
      for (const e of watchers.org2.events)
        assert.ok(!e.data.includes(bConv) && !e.data.includes(aConv), `org 2 saw org 1: ${e.data}`);
      assert.ok(watchers.org2.events.some((e) => e.data.includes(cConv)));
      const types = new Set(watchers.org2.events.map((e) => e.event));
      for (const t of ['conversation', 'message', 'read', 'typing']) assert.ok(types.has(t), `org2 saw ${[...types]}`);
      for (const w of Object.values(watchers)) w.close();
    });
  });

  describe(`SSE token expiry [${store.name}]`, () => {
    test('a stream ends when its token expires; the client reconnects with a fresh token and its last id', async () => {
      // The lifetime is what is tested; 3 s leaves room for the calls made with the token on a busy machine.
      const short = await withServer(store, { args: ['--rate-limit', '0', '--token-ttl', '3'] });
      const api = new Api(short.server.url);
      const key = short.server.org.apiKey;
      const server = short.server;
      const token = await api.memberToken(key, 'expiring');
      const id = await api.openConversation(token);
      const s = await RawStream.open(`${server.url}/v1/conversations/${id}/stream`, {
        authorization: `Bearer ${token}`,
      });
      await api.send(token, id, 'before expiry');
      await s.waitForEvents(1);
      await s.waitForEnd();
      const fresh = await api.memberToken(key, 'expiring');
      await api.send(fresh, id, 'while away');
      const again = await RawStream.open(`${server.url}/v1/conversations/${id}/stream`, {
        authorization: `Bearer ${fresh}`,
        'last-event-id': s.lastEventId!,
      });
      await again.waitForEvents(1);
      assert.equal(JSON.parse(again.events[0]!.data).body, 'while away');
      again.close();
      await short.close();
    });
  });

  describe(`SSE on shutdown [${store.name}]`, () => {
    test('SIGTERM ends every stream cleanly, and clients resume on the restarted server', async () => {
      // A grace far longer than the guard below: streams must end because SIGTERM ends them, not because the
      // process exits when the grace runs out.
      const { server, close } = await withServer(store, { args: ['--rate-limit', '0', '--shutdown-grace', '120'] });
      try {
        let api = new Api(server.url);
        const token = await api.memberToken(server.org.apiKey, 'deployed');
        const id = await api.openConversation(token);
        const s = await RawStream.open(`${server.url}/v1/conversations/${id}/stream`, {
          authorization: `Bearer ${token}`,
        });
        await api.send(token, id, 'before deploy');
        await s.waitForEvents(1);
        const stopped = server.stop();
        await s.waitForEnd();
        assert.equal(await stopped, 0);
        await server.restart();
        api = new Api(server.url);
        await api.send(token, id, 'after deploy');
        const r = await RawStream.open(`${server.url}/v1/conversations/${id}/stream`, {
          authorization: `Bearer ${token}`,
          'last-event-id': s.lastEventId!,
        });
        await r.waitForEvents(1);
        assert.equal(JSON.parse(r.events[0]!.data).body, 'after deploy');
        r.close();
      } finally {
        await close();
      }
    });
  });
});
